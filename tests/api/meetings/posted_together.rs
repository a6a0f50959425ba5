//! Meetings posted at the same moment are written together (`api::meetings::writer`),
//! and each still gets the answer it would alone: its own id, document, change and
//! idempotency answer, and its own error, which costs the others nothing.

use crate::common::{TestApp, TestResponse, meeting};
use axum::http::Method;
use futures::future::join_all;
use serde_json::{Value, json};

/// POSTs each document at once, each with its own request id (and `Idempotency-Key`,
/// when given); the answers in the same order.
async fn post_at_once(app: &TestApp, posts: &[(Value, Option<&str>)]) -> Vec<TestResponse> {
    let auth = format!("Bearer {}", app.write_key);
    join_all(posts.iter().enumerate().map(|(n, (doc, key))| {
        let request_id = format!("together-{n}");
        let auth = auth.clone();
        async move {
            let mut headers = vec![
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("x-request-id", request_id.as_str()),
            ];
            if let Some(key) = key {
                headers.push(("idempotency-key", key));
            }
            app.send(
                Method::POST,
                "/v1/meetings",
                &headers,
                doc.to_string().into_bytes(),
            )
            .await
        }
    }))
    .await
}

/// Transactions that recorded the creation of meetings, and the meetings each recorded.
async fn transactions(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM changes WHERE action = 'create' AND resource = 'meeting'
          GROUP BY xid ORDER BY 1 DESC",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn meetings_posted_at_once_share_transactions_and_keep_their_own_answers() {
    let app = TestApp::spawn().await;
    let posts: Vec<(Value, Option<&str>)> = (0..40)
        .map(|n| {
            let mut doc = meeting(&format!("Talks {n}"), "2021-03-04", &["CU", "RU"]);
            doc["participants"] = json!([{"name": format!("Envoy {n}"), "country": "CU"}]);
            (doc, None)
        })
        .collect();
    let answers = post_at_once(&app, &posts).await;

    let mut ids = Vec::new();
    for (n, answer) in answers.iter().enumerate() {
        let doc = answer.ok(201);
        assert_eq!(
            doc["title"],
            format!("Talks {n}"),
            "post {n} is answered with its own document"
        );
        assert_eq!(
            doc["participants"][0]["person"]["name"],
            format!("Envoy {n}")
        );
        let id = doc["id"].as_str().unwrap().to_owned();
        assert_eq!(
            answer.headers.get("location").and_then(|v| v.to_str().ok()),
            Some(format!("/v1/meetings/{id}").as_str())
        );
        let stored = app.get(&format!("/v1/meetings/{id}")).await;
        assert_eq!(stored.ok(200), doc, "post {n}'s answer is what is stored");
        assert_eq!(stored.headers.get("etag"), answer.headers.get("etag"));
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "each post made its own meeting");

    // Each creation is recorded under its own request, and some transactions wrote
    // several: the posts were written together.
    let recorded: Vec<(String, String)> = sqlx::query_as(
        "SELECT resource_id::text, request_id FROM changes WHERE action = 'create' ORDER BY request_id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(recorded.len(), 40);
    for (n, answer) in answers.iter().enumerate() {
        let id = answer.json["id"].as_str().unwrap();
        assert!(
            recorded.contains(&(id.to_owned(), format!("together-{n}"))),
            "post {n}'s creation is recorded under its own request"
        );
    }
    let written = transactions(&app).await;
    assert!(
        written.len() < 40 && written[0] > 1,
        "posts arriving together were written together: {written:?}"
    );
}

#[tokio::test]
async fn one_bad_post_among_many_fails_alone() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let mut posts: Vec<(Value, Option<&str>)> = (0..12)
        .map(|n| (meeting(&format!("Talks {n}"), "2021-03-04", &["CU"]), None))
        .collect();
    // Valid as a document; only the database can tell that no such person is stored.
    posts[5].0["participants"] = json!([{"person_id": "01a21c0f-0000-7000-8000-000000000000"}]);
    let answers = post_at_once(&app, &posts).await;

    for (n, answer) in answers.iter().enumerate() {
        if n == 5 {
            answer.problem(422);
            assert_eq!(answer.error_fields(), ["participants[0].person_id"]);
        } else {
            assert_eq!(answer.ok(201)["title"], format!("Talks {n}"));
        }
    }
    assert_eq!(app.count("meetings").await, before[0].1 + 11);
    let titles: Vec<String> =
        sqlx::query_scalar("SELECT title FROM meetings WHERE title = 'Talks 5'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(titles.is_empty(), "nothing of the bad post is stored");
}

#[tokio::test]
async fn one_idempotency_key_posted_twice_at_once_writes_once() {
    let app = TestApp::spawn().await;
    let doc = meeting("Talks on oil", "2021-03-04", &["CU", "RU"]);
    let mut posts = vec![(doc.clone(), Some("oil-1")), (doc, Some("oil-1"))];
    posts.extend((0..6).map(|n| (meeting(&format!("Talks {n}"), "2021-03-04", &["CU"]), None)));
    let answers = post_at_once(&app, &posts).await;

    let statuses: Vec<u16> = answers[..2].iter().map(|a| a.status.as_u16()).collect();
    assert!(
        statuses.contains(&201) && statuses.iter().all(|s| [201, 409].contains(s)),
        "one of the two is written, the other told to ask again: {statuses:?}"
    );
    for answer in &answers[2..] {
        answer.ok(201);
    }
    let written: i64 =
        sqlx::query_scalar("SELECT count(*) FROM meetings WHERE title = 'Talks on oil'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(written, 1);

    // Asked again, the key answers with the meeting written.
    let auth = format!("Bearer {}", app.write_key);
    let again = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("idempotency-key", "oil-1"),
            ],
            posts[0].0.to_string().into_bytes(),
        )
        .await;
    assert_eq!(again.ok(201)["title"], "Talks on oil");
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
}
