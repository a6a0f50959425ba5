//! Answers only settings other than the defaults provoke: reads that need a key, and
//! imports and expensive reads past their limits.

use axum::http::Method;
use chancery::Settings;
use serde_json::Value;

use super::support::{Contract, load_spec};
use crate::common::{TestApp, TestResponse, meeting};

#[tokio::test]
async fn reads_need_a_key_when_the_server_says_so() {
    let spec = load_spec();
    let app = TestApp::spawn_with(Settings {
        require_read_key: true,
        ..Settings::default()
    })
    .await;
    let mut c = Contract::new(&app, &spec);
    let denied = c.get("/v1/meetings").await;
    denied.problem(401);
    let auth = format!("Bearer {}", app.read_key);
    let allowed = c
        .send(
            Method::GET,
            "/v1/people",
            &[("authorization", auth.as_str())],
            Vec::new(),
        )
        .await;
    allowed.ok(200);
    assert_eq!(c.get("/health").await.status, 200, "liveness stays open");
}

/// Collects a response the router gave to a request sent past the `Contract`, for checking.
async fn collected(response: axum::response::Response) -> TestResponse {
    use http_body_util::BodyExt;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    TestResponse {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

#[tokio::test]
async fn imports_and_expensive_reads_past_their_limits_answer_as_documented() {
    use tower::ServiceExt;

    let spec = load_spec();
    let mut settings = Settings::default();
    settings.imports.max_lines = 2;
    settings.imports.concurrent = 1;
    settings.imports.idle_timeout = std::time::Duration::from_secs(1);
    settings.max_expensive_per_client = 1;
    settings.max_expensive_requests = 1;
    let app = TestApp::spawn_with(settings).await;
    let mut c = Contract::new(&app, &spec);
    let auth = format!("Bearer {}", app.write_key);
    let ndjson = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let line = |title: &str| meeting(title, "2020-01-01", &["FRA"]).to_string();

    // Past the cap on lines: the lines before it are imported, and `stopped` says where.
    let report = c
        .send(
            Method::POST,
            "/v1/import",
            &ndjson,
            [line("First"), String::new(), line("Second"), line("Third")]
                .join("\n")
                .into_bytes(),
        )
        .await;
    let report = report.ok(200);
    assert_eq!(report["totals"]["created"], 2, "{report}");
    assert_eq!(report["items"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["stopped"]["line"], 4, "{report}");
    assert!(
        report["stopped"]["reason"]
            .as_str()
            .unwrap()
            .contains("at most 2 lines"),
        "{report}"
    );

    // A body that goes idle ends its import, and while it runs another import is a 503.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    sender
        .send(Ok(format!("{}\n", line("Idle")).into_bytes()))
        .await
        .unwrap();
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    let request = axum::http::Request::post("/v1/import")
        .header("authorization", &auth)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .unwrap();
    let router = app.router.clone();
    let running = tokio::spawn(async move { router.oneshot(request).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let busy = c
        .send(
            Method::POST,
            "/v1/import",
            &ndjson,
            line("Busy").into_bytes(),
        )
        .await;
    assert!(
        busy.problem(503)["detail"]
            .as_str()
            .unwrap()
            .contains("imports are running"),
        "{}",
        busy.text
    );
    assert!(busy.headers.contains_key("retry-after"));
    let idle = collected(running.await.unwrap()).await;
    c.check(
        &Method::POST,
        "/v1/import",
        &ndjson,
        line("Idle").as_bytes(),
        &idle,
    );
    drop(sender);
    let idle = idle.ok(200);
    assert_eq!(idle["totals"]["created"], 1, "{idle}");
    assert_eq!(idle["stopped"]["line"], 2, "{idle}");
    assert!(
        idle["stopped"]["reason"]
            .as_str()
            .unwrap()
            .contains("sent nothing"),
        "{idle}"
    );

    // Expensive reads: one at a time per client and on the instance here. An export
    // holds its place until its body is dropped.
    let export = app
        .router
        .clone()
        .oneshot(
            axum::http::Request::get("/v1/export")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let per_client = c.get("/v1/meetings?q=talks").await;
    assert!(
        per_client.problem(429)["detail"]
            .as_str()
            .unwrap()
            .contains("already has 1 searches"),
        "{}",
        per_client.text
    );
    let read_auth = format!("Bearer {}", app.read_key);
    let instance = c
        .send(
            Method::GET,
            "/v1/meetings?include_total=true",
            &[("authorization", read_auth.as_str())],
            vec![],
        )
        .await;
    instance.problem(503);
    assert!(instance.headers.contains_key("retry-after"));
    drop(export);
    let total = c.get("/v1/meetings?include_total=true").await;
    assert_eq!(total.ok(200)["total"], 3, "{}", total.text);
}
