//! Load beyond capacity is shed at once with 503, not queued without bound.

use std::time::Duration;

use crate::common::TestApp;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn requests_beyond_capacity_are_shed_with_503() {
    let settings = chancery::Settings {
        max_concurrent_requests: 1,
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings).await;

    // An import whose body is still arriving holds the one place.
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(1);
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    let request = Request::post("/v1/import")
        .header("authorization", format!("Bearer {}", app.write_key))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .unwrap();
    let in_flight = tokio::spawn(app.router.clone().oneshot(request));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let shed = app.get("/v1/meetings").await;
    shed.problem(503);
    assert_eq!(shed.headers["retry-after"], "1");
    // Shed before anything else runs: a key that would be refused is never looked up.
    let unchecked = app
        .send(
            axum::http::Method::GET,
            "/v1/meetings",
            &[("authorization", "Bearer not-a-key")],
            Vec::new(),
        )
        .await;
    unchecked.problem(503);
    // Probes and metrics are never shed: a busy instance is not a dead one.
    for probe in ["/health", "/ready", "/metrics"] {
        assert_eq!(app.get(probe).await.status, 200, "{probe} at capacity");
    }

    let line = serde_json::json!({"title": "Held", "date": "2024-01-01"}).to_string() + "\n";
    sender.send(Ok(line.into())).await.unwrap();
    drop(sender);
    let answered = in_flight.await.unwrap().unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    let body = answered.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains(r#""created":1"#));

    app.get("/v1/meetings").await.ok(200);
}

#[tokio::test]
async fn a_request_past_the_timeout_is_answered_503_and_writes_nothing() {
    let settings = chancery::Settings {
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let doc = app
        .create_meeting(&crate::common::meeting("Talks", "2021-10-12", &["CUB"]))
        .await;
    let uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());

    // Another session holds the meeting's row, so the edit waits on it past the timeout.
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM meetings WHERE id = $1::uuid FOR UPDATE")
        .bind(doc["id"].as_str().unwrap())
        .execute(&mut *holder)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let timed_out = app
        .patch(&uri, &serde_json::json!({"title": "Edited"}))
        .await;
    timed_out.problem(503);
    assert!(started.elapsed() < Duration::from_secs(5));
    holder.rollback().await.unwrap();

    // The abandoned edit was rolled back with its transaction.
    let stored = app.get(&uri).await;
    assert_eq!(stored.ok(200)["title"], "Talks");
    assert_eq!(stored.json["version"], 1);
}
