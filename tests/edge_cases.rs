//! Edges found in review: keys checked before bodies, dates and times the database
//! cannot hold, conditional requests, and speakers following their participant.

mod common;

use axum::http::Method;
use common::{TestApp, seed_meeting};
use serde_json::json;

#[tokio::test]
async fn the_key_is_checked_before_the_body_is_read() {
    let app = TestApp::spawn().await;
    let unread = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[("content-type", "text/plain")],
            b"{".to_vec(),
        )
        .await;
    unread.problem(401);
    let empty = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[("content-type", "application/json")],
            b"{}".to_vec(),
        )
        .await;
    empty.problem(401);
    let shouting = format!("BEARER {}", app.write_key);
    let any_case = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", &shouting),
                ("content-type", "application/json"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        any_case.problem(422)["errors"][0]["field"],
        "title",
        "the scheme is case-insensitive"
    );
}

#[tokio::test]
async fn dates_and_times_outside_what_can_be_stored_are_refused() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let cases = [
        (
            json!({"title": "Ides of March", "date": "-0044-03-15"}),
            "date",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "end_date": "+10000-01-01"}),
            "end_date",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "start_time": "23:59:60"}),
            "start_time",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "agreements": [{"title": "x", "due_by": "-0001-01-01"}]}),
            "agreements[0].due_by",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "sources": [{"published_on": "0000-01-01"}]}),
            "sources[0].published_on",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/v1/meetings", &body).await;
        response.problem(422);
        assert_eq!(response.error_fields(), [field], "{body}");
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn if_none_match_takes_weak_tags_lists_and_star() {
    let app = TestApp::spawn().await;
    let doc = app
        .post("/v1/meetings", &seed_meeting())
        .await
        .ok(201)
        .clone();
    let uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());
    for tag in ["\"1\"", "W/\"1\"", "\"7\", W/\"1\"", "*"] {
        let response = app
            .send(Method::GET, &uri, &[("if-none-match", tag)], Vec::new())
            .await;
        assert_eq!(response.status, 304, "{tag}");
        assert_eq!(response.headers["etag"], "\"1\"");
    }
    let stale = app
        .send(Method::GET, &uri, &[("if-none-match", "\"0\"")], Vec::new())
        .await;
    assert_eq!(stale.ok(200)["id"], doc["id"]);
    let auth = format!("Bearer {}", app.write_key);
    let weak = app
        .send(
            Method::DELETE,
            &uri,
            &[("authorization", &auth), ("if-match", "W/\"0\"")],
            Vec::new(),
        )
        .await;
    weak.problem(412);
    let deleted = app
        .send(
            Method::DELETE,
            &uri,
            &[("authorization", &auth), ("if-match", "W/\"1\"")],
            Vec::new(),
        )
        .await;
    assert_eq!(deleted.status, 204);
}

#[tokio::test]
async fn renaming_a_participant_reattributes_what_it_said() {
    let app = TestApp::spawn().await;
    let doc = app
        .post("/v1/meetings", &seed_meeting())
        .await
        .ok(201)
        .clone();
    let participant = &doc["participants"][1];
    let uri = format!("/v1/participants/{}", participant["id"].as_str().unwrap());
    let renamed = app
        .patch(&uri, &json!({"name": "Dmitry Chernyshenko"}))
        .await
        .ok(200)
        .clone();
    assert_ne!(renamed["person"]["id"], participant["person"]["id"]);
    let said = app
        .get(&format!(
            "/v1/statements?speaker={}",
            renamed["person"]["id"].as_str().unwrap()
        ))
        .await;
    let items = said.ok(200)["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|s| s["speaker"]["name"] == "Dmitry Chernyshenko")
    );
    let old = app.get("/v1/statements?speaker=yuri%20borisov").await;
    assert_eq!(old.ok(200)["items"], json!([]));
}
