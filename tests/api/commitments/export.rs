//! Events and links through the NDJSON export and import: an exported document
//! re-imports with its history and its links.

use super::{pledge, seed};
use crate::common::{TestApp, meeting};
use axum::http::Method;
use serde_json::{Value, json};

async fn import(app: &TestApp, mode: &str, body: String) -> Value {
    let auth = format!("Bearer {}", app.write_key);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let response = app
        .send(
            Method::POST,
            &format!("/v1/import?mode={mode}"),
            &headers,
            body.into_bytes(),
        )
        .await;
    response.ok(200).clone()
}

/// A story: the pledge made, reaffirmed at a later meeting and then fulfilled there.
async fn story(app: &TestApp) -> (String, String) {
    let doc = seed(app).await;
    let id = pledge(&doc);
    let mut later = meeting("Aid handed over", "2021-12-20", &["CUB", "RUS"]);
    later["identifiers"] = json!([{"scheme": "test", "value": "aid-handed-over"}]);
    later["agreements"] = json!([{
        "title": "Russia confirms the shipment", "kind": "pledge", "parties": ["RUS"],
        "relates_to": [{"agreement_id": id, "relation": "reaffirms"}]
    }]);
    let later = app.create_meeting(&later).await;
    app.post(
        &format!("/v1/agreements/{id}/events"),
        &json!({"status": "fulfilled", "on": "2021-12-20", "note": "Delivered.",
                "source": {"url": "https://example.org/aid-arrives", "title": "Aid arrives"},
                "meeting_id": later["id"]}),
    )
    .await
    .ok(201);
    (id, later["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_export_imports_again_with_its_events_and_links() {
    let app = TestApp::spawn().await;
    let (id, later_id) = story(&app).await;

    let export = app.get("/v1/export?sort=date").await;
    assert_eq!(export.status, 200);
    let lines: Vec<Value> = export
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let pledge_line = &lines[0]["agreements"][2];
    assert_eq!(pledge_line["id"], id.as_str());
    assert_eq!(pledge_line["status"], "fulfilled");
    let events = pledge_line["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["status"], "agreed");
    assert_eq!(events[0]["on"], "2021-10-12");
    assert_eq!(events[1]["note"], "Delivered.");
    assert_eq!(events[1]["meeting_id"], later_id.as_str());
    assert!(pledge_line.get("related_from").is_none());
    assert_eq!(
        lines[1]["agreements"][0]["relates_to"],
        json!([{"agreement_id": id, "relation": "reaffirms"}])
    );

    // Upsert of the unchanged export changes nothing; replacing the pledge's meeting
    // keeps the link into it and the event naming the later meeting.
    let result = import(&app, "upsert", export.text.clone()).await;
    assert_eq!(result["totals"]["failed"], 0, "{result}");
    let mut changed = lines[0].clone();
    changed["summary"] = json!("Talks, and a pledge of aid.");
    let result = import(&app, "upsert", format!("{changed}\n")).await;
    assert_eq!(result["totals"]["updated"], 1, "{result}");
    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(agreement["status"], "fulfilled");
    assert_eq!(agreement["related_from"].as_array().unwrap().len(), 1);
    let events = app
        .get(&format!("/v1/agreements/{id}/events"))
        .await
        .ok(200)
        .clone();
    assert_eq!(events["items"][1]["meeting_id"], later_id.as_str());

    // Into an empty database: the same documents come out again.
    let fresh = TestApp::spawn().await;
    let result = import(&fresh, "insert", export.text.clone()).await;
    assert_eq!(result["totals"]["created"], 2, "{result}");
    let again = fresh.get("/v1/export?sort=date").await;
    let again: Vec<Value> = again
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(again, lines);
}

#[tokio::test]
async fn bad_histories_in_documents_are_refused() {
    let app = TestApp::spawn().await;
    let mut doc = meeting("Pledges", "2021-10-12", &["CUB", "RUS"]);
    doc["agreements"] = json!([{
        "title": "A pledge", "kind": "pledge", "status": "agreed",
        "events": [{"status": "agreed", "on": "2021-10-11"},
                   {"status": "fulfilled", "on": "2021-12-01"}]
    }]);
    let refused = app.post("/v1/meetings", &doc).await;
    refused.problem(422);
    let fields = refused.error_fields();
    assert!(
        fields.contains(&"agreements[0].status".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"agreements[0].events[0].on".to_owned()),
        "{fields:?}"
    );
    doc["agreements"][0]["events"] = json!([]);
    app.post("/v1/meetings", &doc).await.problem(422);
    assert_eq!(app.count("agreements").await, 0);

    // A history given whole sets the status.
    doc["agreements"][0]["status"] = Value::Null;
    doc["agreements"][0]["events"] = json!([{"status": "agreed", "on": "2021-10-12"},
                                            {"status": "fulfilled", "on": "2021-12-01"}]);
    let created = app.create_meeting(&doc).await;
    assert_eq!(created["agreements"][0]["status"], "fulfilled");

    // A single agreement takes neither an id nor events.
    let refused = app
        .post(
            &format!(
                "/v1/meetings/{}/agreements",
                created["id"].as_str().unwrap()
            ),
            &json!({"title": "x", "id": "01900000-0000-7000-8000-000000000000",
                    "events": [{"status": "agreed", "on": "2021-10-12"}]}),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), ["id", "events"]);
}
