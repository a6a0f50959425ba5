//! `Idempotency-Key`: a retried POST is answered again, not written again.

use crate::common::{TestApp, TestResponse, meeting};
use axum::http::Method;
use chancery::domain::vocabulary::Scope;
use chancery::store::keys;
use serde_json::{Value, json};

/// POSTs JSON with the write key (or `key`) and an idempotency key.
async fn post_keyed(
    app: &TestApp,
    api_key: &str,
    uri: &str,
    idempotency_key: &str,
    body: &Value,
) -> TestResponse {
    let auth = format!("Bearer {api_key}");
    app.send(
        Method::POST,
        uri,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
            ("idempotency-key", idempotency_key),
        ],
        body.to_string().into_bytes(),
    )
    .await
}

#[tokio::test]
async fn a_retried_post_is_answered_again_and_written_once() {
    let app = TestApp::spawn().await;
    let doc = meeting("Talks in Havana", "2021-10-12", &["CUB", "RUS"]);
    let first = post_keyed(&app, &app.write_key, "/v1/meetings", "retry-1", &doc).await;
    first.ok(201);
    assert!(first.headers.get("idempotent-replayed").is_none());

    let again = post_keyed(&app, &app.write_key, "/v1/meetings", "retry-1", &doc).await;
    again.ok(201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json, first.json, "the same answer, byte for byte");
    for header in ["location", "etag", "content-type"] {
        assert_eq!(again.headers[header], first.headers[header], "{header}");
    }
    assert_eq!(app.count("meetings").await, 1);
    assert_eq!(app.count("participants").await, 2);

    // Without a key, the same body is a second meeting: keys are what make retries safe.
    app.create_meeting(&doc).await;
    assert_eq!(app.count("meetings").await, 2);
}

#[tokio::test]
async fn every_post_honours_the_key() {
    let app = TestApp::spawn().await;
    let id = app
        .create_meeting(&meeting("Talks", "2021-10-12", &["CUB"]))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let items = [
        (
            "participants",
            json!({"name": "Someone New", "country": "RUS"}),
        ),
        (
            "statements",
            json!({"speaker_name": "A spokesperson", "text": "We welcome it."}),
        ),
        (
            "agreements",
            json!({"title": "Flights resume", "parties": ["CUB", "RUS"]}),
        ),
    ];
    for (list, item) in items {
        let uri = format!("/v1/meetings/{id}/{list}");
        let before = app.count(list).await;
        let first = post_keyed(&app, &app.write_key, &uri, list, &item).await;
        first.ok(201);
        let again = post_keyed(&app, &app.write_key, &uri, list, &item).await;
        again.ok(201);
        assert_eq!(again.json, first.json, "{list}");
        assert_eq!(again.headers["location"], first.headers["location"]);
        assert_eq!(app.count(list).await, before + 1, "{list} written once");
    }
}

#[tokio::test]
async fn the_same_key_on_another_request_is_refused() {
    let app = TestApp::spawn().await;
    let doc = meeting("Talks", "2021-10-12", &["CUB"]);
    post_keyed(&app, &app.write_key, "/v1/meetings", "reused", &doc)
        .await
        .ok(201);
    let snapshot = app.snapshot().await;

    let other = meeting("Other talks", "2021-10-13", &["CUB"]);
    let refused = post_keyed(&app, &app.write_key, "/v1/meetings", "reused", &other).await;
    let problem = refused.problem(422);
    assert_eq!(refused.error_fields(), ["Idempotency-Key"]);
    assert!(problem["detail"].as_str().unwrap().contains("reused"));

    // The same body to another endpoint is another request too.
    let id = app.get("/v1/meetings").await.json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let elsewhere = format!("/v1/meetings/{id}/agreements");
    post_keyed(&app, &app.write_key, &elsewhere, "reused", &doc)
        .await
        .problem(422);
    assert_eq!(app.snapshot().await, snapshot, "nothing was written");
}

#[tokio::test]
async fn keys_belong_to_the_api_key_that_sent_them() {
    let app = TestApp::spawn().await;
    let other_key = keys::create_key(&app.db, "second feed", Scope::Write)
        .await
        .unwrap()
        .token;
    let doc = meeting("Talks", "2021-10-12", &["CUB"]);
    let mine = post_keyed(&app, &app.write_key, "/v1/meetings", "k-1", &doc).await;
    let theirs = post_keyed(&app, &other_key, "/v1/meetings", "k-1", &doc).await;
    theirs.ok(201);
    assert!(theirs.headers.get("idempotent-replayed").is_none());
    assert_ne!(theirs.json["id"], mine.ok(201)["id"]);
    assert_eq!(app.count("meetings").await, 2);
}

#[tokio::test]
async fn a_refused_write_stores_no_answer() {
    let app = TestApp::spawn().await;
    let invalid = json!({"title": "", "date": "2021-10-12"});
    post_keyed(
        &app,
        &app.write_key,
        "/v1/meetings",
        "fix-and-retry",
        &invalid,
    )
    .await
    .problem(422);
    assert_eq!(app.count("idempotency_keys").await, 0);
    // The client fixes the document and retries with the same key: it is written.
    let fixed = meeting("Talks", "2021-10-12", &["CUB"]);
    post_keyed(
        &app,
        &app.write_key,
        "/v1/meetings",
        "fix-and-retry",
        &fixed,
    )
    .await
    .ok(201);
    assert_eq!(app.count("meetings").await, 1);
}

#[tokio::test]
async fn concurrent_retries_write_once() {
    let app = TestApp::spawn().await;
    let doc = meeting("Talks", "2021-10-12", &["CUB", "RUS"]);
    let attempts = (0..8).map(|_| post_keyed(&app, &app.write_key, "/v1/meetings", "race", &doc));
    let answers = futures::future::join_all(attempts).await;
    let mut ids = Vec::new();
    for answer in &answers {
        match answer.status.as_u16() {
            201 => ids.push(answer.json["id"].clone()),
            // Lost the race while the first was still writing: retrying gets the answer.
            409 => {
                answer.problem(409);
            }
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| *id == ids[0]), "one meeting: {ids:?}");
    assert_eq!(app.count("meetings").await, 1);
    let retried = post_keyed(&app, &app.write_key, "/v1/meetings", "race", &doc).await;
    assert_eq!(retried.ok(201)["id"], ids[0]);
}

#[tokio::test]
async fn keys_expire_after_a_day() {
    let app = TestApp::spawn().await;
    let doc = meeting("Talks", "2021-10-12", &["CUB"]);
    post_keyed(&app, &app.write_key, "/v1/meetings", "old", &doc)
        .await
        .ok(201);
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.db)
        .await
        .unwrap();
    // Expired: a new request under the old key is a new write, whatever its body.
    let other = meeting("Other talks", "2021-10-13", &["CUB"]);
    let fresh = post_keyed(&app, &app.write_key, "/v1/meetings", "old", &other).await;
    fresh.ok(201);
    assert!(fresh.headers.get("idempotent-replayed").is_none());
    assert_eq!(app.count("meetings").await, 2);

    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        chancery::store::idempotency::sweep(&app.db).await.unwrap(),
        1
    );
    assert_eq!(app.count("idempotency_keys").await, 0);
}

#[tokio::test]
async fn a_malformed_key_is_a_400() {
    let app = TestApp::spawn().await;
    let doc = meeting("Talks", "2021-10-12", &["CUB"]);
    // Too long, an empty value, and a tab inside (the spec allows only spaces there).
    for key in ["k".repeat(256), String::new(), "nightly\t2021".into()] {
        let answer = post_keyed(&app, &app.write_key, "/v1/meetings", &key, &doc).await;
        assert!(
            answer.problem(400)["detail"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key"),
            "{key:?}"
        );
    }
    assert_eq!(app.count("meetings").await, 0);
}

#[tokio::test]
async fn an_import_is_replayed_not_repeated() {
    let app = TestApp::spawn().await;
    let lines = [
        meeting("One", "2021-01-01", &["CUB"]),
        meeting("Two", "2021-01-02", &["RUS"]),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let auth = format!("Bearer {}", app.write_key);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
        ("idempotency-key", "nightly-2021-01-02"),
    ];
    let first = app
        .send(
            Method::POST,
            "/v1/import",
            &headers,
            lines.clone().into_bytes(),
        )
        .await;
    assert_eq!(first.ok(200)["totals"]["created"], 2);
    let again = app
        .send(Method::POST, "/v1/import", &headers, lines.into_bytes())
        .await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json, first.json);
    assert_eq!(app.count("meetings").await, 2);
}
