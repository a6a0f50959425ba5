//! `/metrics` shows requests by route template, their latency, and the pool.

use crate::common::{TestApp, seed_meeting};

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_the_pool() {
    // The metrics recorder is process-wide and keeps every series it is given, and in
    // this binary the replica test's app reports a replica pool (and a primary pool of 4).
    // What is asserted here is what one app alone reports, so this test runs alone.
    let test = "metrics_count_requests_by_route_and_show_the_pool";
    if !crate::common::alone_in_a_process(module_path!(), test) {
        return;
    }
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    app.get(&format!("/v1/meetings/{}", doc["id"].as_str().unwrap()))
        .await
        .ok(200);
    app.get("/v1/meetings/0192f3c4-0000-7000-8000-000000000000")
        .await
        .problem(404);
    app.get("/v1/nowhere/at/all").await.problem(404);

    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &metrics.text;
    let has = |needle: &str| text.lines().any(|line| line.contains(needle));
    assert!(
        has(r#"http_requests_total{method="POST",route="/v1/meetings",status="201"}"#),
        "{text}"
    );
    assert!(
        has(r#"http_requests_total{method="GET",route="/v1/meetings/{id}",status="404"}"#),
        "{text}"
    );
    assert!(
        has(r#"route="unmatched""#),
        "unknown paths are not recorded raw: {text}"
    );
    assert!(
        !text.contains("/v1/nowhere"),
        "raw paths never become labels"
    );
    assert!(
        has(r#"http_request_duration_seconds_bucket{method="GET",route="/v1/meetings/{id}""#),
        "{text}"
    );
    assert!(
        has(r#"db_pool_connections{pool="primary",state="idle"}"#),
        "{text}"
    );
    assert!(
        has(r#"db_pool_max_connections{pool="primary"} 8"#),
        "{text}"
    );
    // The scrape itself is the one request in flight; the gauge is the process's, not the
    // app's, so only its presence is asserted.
    assert!(has("http_requests_in_flight "), "{text}");
    assert!(!has(r#"pool="replica""#), "no replica, no replica series");
    assert!(has(r#"cache_lookups_total{result="#), "{text}");
    assert!(has("cache_bytes "), "{text}");
    assert!(has("cache_listening "), "{text}");
}

#[tokio::test]
async fn ready_waits_for_every_migration_this_build_knows() {
    let app = TestApp::spawn().await;
    let ready = app.get("/ready").await;
    assert_eq!(ready.ok(200)["status"], "ready");

    // As if the database were a migration behind this build (another instance
    // rolling back, or a restore from an older backup).
    let latest: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET success = false WHERE version = $1")
        .bind(latest)
        .execute(&app.db)
        .await
        .unwrap();
    let behind = app.get("/ready").await;
    assert!(
        behind.problem(503)["detail"]
            .as_str()
            .unwrap()
            .contains("migration"),
        "{:?}",
        behind.json
    );
    assert_eq!(app.get("/health").await.status, 200);
}
