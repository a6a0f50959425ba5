//! Rate limits per API key and per client address: 429 problem+json with `Retry-After`.

use std::net::SocketAddr;

use crate::common::{TestApp, TestResponse};
use axum::http::Method;
use axum_client_ip::ClientIpSource;
use chancery::Settings;
use chancery::domain::vocabulary::Scope;
use chancery::store::keys;

fn limits(per_key: u32, per_ip: u32) -> Settings {
    Settings {
        rate_limit_per_key: per_key,
        rate_limit_per_ip: per_ip,
        ..Settings::default()
    }
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[track_caller]
fn assert_limited(answer: &TestResponse) {
    answer.problem(429);
    let wait: u64 = answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
}

#[tokio::test]
async fn each_key_has_its_own_allowance() {
    let app = TestApp::spawn_with(limits(3, 0)).await;
    let auth = format!("Bearer {}", app.read_key);
    let headers = [("authorization", auth.as_str())];
    for _ in 0..3 {
        app.send(Method::GET, "/v1/meetings", &headers, Vec::new())
            .await
            .ok(200);
    }
    let limited = app
        .send(Method::GET, "/v1/meetings", &headers, Vec::new())
        .await;
    assert_limited(&limited);

    // Another key is not held back by the first one's use.
    let other = keys::create_key(&app.db, "another reader", Scope::Read)
        .await
        .unwrap()
        .token;
    let auth = format!("Bearer {other}");
    app.send(
        Method::GET,
        "/v1/meetings",
        &[("authorization", auth.as_str())],
        Vec::new(),
    )
    .await
    .ok(200);
    // Liveness and readiness probes are never limited.
    assert_eq!(app.get("/health").await.status, 200);
}

#[tokio::test]
async fn each_address_without_a_key_has_its_own_allowance() {
    let app = TestApp::spawn_with(limits(0, 2)).await;
    let client = addr("203.0.113.7:50000");
    for _ in 0..2 {
        app.send_from(client, Method::GET, "/v1/people", &[])
            .await
            .ok(200);
    }
    assert_limited(&app.send_from(client, Method::GET, "/v1/people", &[]).await);
    // The same address on another port is the same client.
    assert_limited(
        &app.send_from(addr("203.0.113.7:50001"), Method::GET, "/v1/people", &[])
            .await,
    );
    app.send_from(addr("198.51.100.1:40000"), Method::GET, "/v1/people", &[])
        .await
        .ok(200);
    // With a valid key the key's allowance applies instead.
    let auth = format!("Bearer {}", app.read_key);
    app.send_from(
        client,
        Method::GET,
        "/v1/people",
        &[("authorization", auth.as_str())],
    )
    .await
    .ok(200);
}

#[tokio::test]
async fn failed_key_checks_use_up_the_address_allowance() {
    let app = TestApp::spawn_with(limits(0, 3)).await;
    let client = addr("203.0.113.9:1234");
    let guess = "Bearer chy_01930000-0000-7000-8000-000000000000_guess";
    for _ in 0..3 {
        app.send_from(
            client,
            Method::GET,
            "/v1/meetings",
            &[("authorization", guess)],
        )
        .await
        .problem(401);
    }
    assert_limited(
        &app.send_from(
            client,
            Method::GET,
            "/v1/meetings",
            &[("authorization", guess)],
        )
        .await,
    );
}

#[tokio::test]
async fn behind_a_proxy_the_address_comes_from_its_header() {
    let app = TestApp::spawn_with(Settings {
        client_ip_source: ClientIpSource::RightmostXForwardedFor,
        ..limits(0, 1)
    })
    .await;
    let proxy = addr("10.0.0.2:8080");
    let from = |client: &'static str| [("x-forwarded-for", client)];
    app.send_from(proxy, Method::GET, "/v1/people", &from("203.0.113.1"))
        .await
        .ok(200);
    assert_limited(
        &app.send_from(proxy, Method::GET, "/v1/people", &from("203.0.113.1"))
            .await,
    );
    // Another client behind the same proxy has its own allowance.
    app.send_from(proxy, Method::GET, "/v1/people", &from("203.0.113.2"))
        .await
        .ok(200);
}

#[tokio::test]
async fn the_allowance_refills() {
    let app = TestApp::spawn_with(limits(0, 1)).await;
    let client = addr("203.0.113.5:1");
    app.send_from(client, Method::GET, "/v1/people", &[])
        .await
        .ok(200);
    let limited = app.send_from(client, Method::GET, "/v1/people", &[]).await;
    assert_limited(&limited);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.send_from(client, Method::GET, "/v1/people", &[])
        .await
        .ok(200);
}
