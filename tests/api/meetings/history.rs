//! The audit trail: every write records which key made it and when, and
//! `GET /v1/meetings/{id}/history` lists a meeting's changes.

use crate::common::{TestApp, meeting, seed_meeting};
use axum::http::Method;
use serde_json::{Value, json};

/// Every change to a meeting, following cursors.
async fn history(app: &TestApp, id: &str) -> Vec<Value> {
    let mut changes = Vec::new();
    let mut uri = format!("/v1/meetings/{id}/history?limit=2");
    loop {
        let page = app.get(&uri).await;
        let body = page.ok(200);
        changes.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/meetings/{id}/history?limit=2&cursor={cursor}"),
            None => return changes,
        }
    }
}

fn summary(changes: &[Value]) -> Vec<(String, String, i64)> {
    changes
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["resource"].as_str().unwrap().to_owned(),
                c["version"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_write_to_a_meeting_is_in_its_history() {
    let app = TestApp::spawn().await;
    let auth = format!("Bearer {}", app.write_key);
    let created = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("x-request-id", "req-create-1"),
            ],
            seed_meeting().to_string().into_bytes(),
        )
        .await;
    let doc = created.ok(201).clone();
    let id = doc["id"].as_str().unwrap();
    let meeting_uri = format!("/v1/meetings/{id}");

    let patch = json!({"summary": "Talks on oil and flights."});
    app.patch(&meeting_uri, &patch).await.ok(200);
    let participant = app
        .post(
            &format!("{meeting_uri}/participants"),
            &json!({"name": "Someone New", "country": "RUS"}),
        )
        .await;
    let participant_id = participant.ok(201)["id"].as_str().unwrap().to_owned();
    let statement_id = doc["statements"][0]["id"].as_str().unwrap();
    app.patch(
        &format!("/v1/statements/{statement_id}"),
        &json!({"language": "es"}),
    )
    .await
    .ok(200);
    let agreement_id = doc["agreements"][0]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/agreements/{agreement_id}"))
            .await
            .status,
        204
    );

    let changes = history(&app, id).await;
    assert_eq!(
        summary(&changes),
        [
            ("create".into(), "meeting".into(), 1),
            ("update".into(), "meeting".into(), 2),
            ("create".into(), "participant".into(), 3),
            ("update".into(), "statement".into(), 4),
            ("delete".into(), "agreement".into(), 5),
        ]
    );
    let key_id = uuid::Uuid::parse_str(app.write_key.split('_').nth(1).unwrap())
        .unwrap()
        .to_string();
    for change in &changes {
        assert_eq!(change["key"]["id"], key_id.as_str(), "{change}");
        assert_eq!(change["key"]["name"], "test writer", "{change}");
        assert!(change["changed_at"].is_string());
        assert!(change["request_id"].is_string());
    }
    assert_eq!(changes[0]["request_id"], "req-create-1");
    assert_eq!(changes[1]["request"], patch);
    assert_eq!(changes[2]["resource_id"], participant_id.as_str());
    assert_eq!(changes[2]["request"]["name"], "Someone New");
    assert_eq!(changes[3]["resource_id"], statement_id);
    assert_eq!(changes[4]["resource_id"], agreement_id);
    let ids: Vec<i64> = changes.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    // A deleted meeting's history stays readable, ending with its deletion.
    assert_eq!(app.delete(&meeting_uri).await.status, 204);
    let changes = history(&app, id).await;
    assert_eq!(
        summary(&changes).last().unwrap(),
        &("delete".into(), "meeting".into(), 5)
    );
    app.get(&meeting_uri).await.problem(404);
}

#[tokio::test]
async fn a_refused_write_leaves_no_trace() {
    let app = TestApp::spawn().await;
    let doc = app
        .create_meeting(&meeting("Talks", "2021-10-12", &["CUB"]))
        .await;
    let id = doc["id"].as_str().unwrap();
    app.patch(
        &format!("/v1/meetings/{id}"),
        &json!({"date": "not a date"}),
    )
    .await
    .problem(422);
    let unchanged = app.patch(&format!("/v1/meetings/{id}"), &json!({})).await;
    unchanged.ok(200);
    assert_eq!(history(&app, id).await.len(), 1, "only the creation");
}

#[tokio::test]
async fn imports_record_creations_and_replacements() {
    let app = TestApp::spawn().await;
    let auth = format!("Bearer {}", app.write_key);
    let mut doc = meeting("Talks", "2021-10-12", &["CUB"]);
    doc["identifiers"] = json!([{"scheme": "test", "value": "m-1"}]);
    let import = |mode: &'static str, doc: Value| {
        let auth = auth.clone();
        let app = &app;
        async move {
            app.send(
                Method::POST,
                &format!("/v1/import?mode={mode}"),
                &[
                    ("authorization", auth.as_str()),
                    ("content-type", "application/x-ndjson"),
                ],
                doc.to_string().into_bytes(),
            )
            .await
        }
    };
    let first = import("insert", doc.clone()).await;
    let id = first.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    // The same document again changes nothing, so records nothing.
    import("upsert", doc.clone()).await.ok(200);
    doc["title"] = json!("Talks, revised");
    import("upsert", doc).await.ok(200);
    let changes = history(&app, &id).await;
    assert_eq!(
        summary(&changes),
        [
            ("create".into(), "meeting".into(), 1),
            ("update".into(), "meeting".into(), 2),
        ]
    );
    assert!(changes.iter().all(|c| c["key"]["name"] == "test writer"));
}

#[tokio::test]
async fn people_edits_are_recorded_too() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let person = doc["participants"][0]["person"]["id"].as_str().unwrap();
    app.patch(
        &format!("/v1/people/{person}"),
        &json!({"aliases": ["Díaz-Canel"]}),
    )
    .await
    .ok(200);
    let recorded: (String, Option<uuid::Uuid>, Value) = sqlx::query_as(
        "SELECT action, api_key_id, request FROM changes WHERE resource = 'person' AND resource_id = $1::uuid",
    )
    .bind(person)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(recorded.0, "update");
    assert!(recorded.1.is_some());
    assert_eq!(recorded.2, json!({"aliases": ["Díaz-Canel"]}));
}

#[tokio::test]
async fn unknown_meetings_have_no_history() {
    let app = TestApp::spawn().await;
    app.get("/v1/meetings/01930000-0000-7000-8000-000000000000/history")
        .await
        .problem(404);
    let doc = app
        .create_meeting(&meeting("Talks", "2021-10-12", &["CUB"]))
        .await;
    let other = app
        .create_meeting(&meeting("Other", "2021-10-13", &["CUB"]))
        .await;
    let page = app
        .get(&format!(
            "/v1/meetings/{}/history?limit=1",
            doc["id"].as_str().unwrap()
        ))
        .await;
    let cursor = page.ok(200)["next_cursor"].as_str();
    // One change only, so no next page; a cursor from one meeting is refused on another.
    assert!(cursor.is_none());
    app.patch(
        &format!("/v1/meetings/{}", doc["id"].as_str().unwrap()),
        &json!({"title": "Talks!"}),
    )
    .await
    .ok(200);
    let page = app
        .get(&format!(
            "/v1/meetings/{}/history?limit=1",
            doc["id"].as_str().unwrap()
        ))
        .await;
    let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    app.get(&format!(
        "/v1/meetings/{}/history?cursor={cursor}",
        other["id"].as_str().unwrap()
    ))
    .await
    .problem(400);
}

#[tokio::test]
async fn the_sample_meeting_never_comes_back_once_deleted() {
    let app = TestApp::spawn().await;
    assert!(chancery::store::seed::load_if_empty(&app.db).await.unwrap());
    assert!(!chancery::store::seed::load_if_empty(&app.db).await.unwrap());
    let list = app.get("/v1/meetings").await;
    let id = list.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    app.delete(&format!("/v1/meetings/{id}")).await.ok(204);
    // A restart on a database emptied by its users does not refill it.
    assert!(!chancery::store::seed::load_if_empty(&app.db).await.unwrap());
    assert_eq!(app.count("meetings").await, 0);
}
