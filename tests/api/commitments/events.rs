//! `POST/GET /v1/agreements/{id}/events`, `status` following the latest event, and what
//! a bad event is answered with.

use super::{pledge, seed};
use crate::common::{TestApp, meeting};
use serde_json::json;

#[tokio::test]
async fn the_seed_pledge_is_made_then_fulfilled() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    let events_uri = format!("/v1/agreements/{id}/events");

    // Its creation is the first event: the status it was made with, on the meeting's date.
    let events = app.get(&events_uri).await.ok(200).clone();
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{events}");
    assert_eq!(items[0]["status"], "agreed");
    assert_eq!(items[0]["on"], "2021-10-12");
    assert_eq!(items[0]["agreement_id"], id.as_str());

    let event = json!({
        "status": "fulfilled",
        "on": "2021-12-20",
        "note": "The second shipment of humanitarian aid reached Havana.",
        "source": {"url": "https://example.org/aid-arrives", "title": "Russian aid arrives in Havana",
                   "published_on": "2021-12-21"},
        "meeting_id": null
    });
    let created = app.post(&events_uri, &event).await;
    let body = created.ok(201).clone();
    assert!(body["id"].is_string());
    assert!(body["recorded_at"].is_string());
    assert_eq!(body["status"], "fulfilled");
    assert_eq!(body["on"], "2021-12-20");
    assert_eq!(body["source"]["url"], "https://example.org/aid-arrives");
    assert_eq!(body["meeting_id"], serde_json::Value::Null);

    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(agreement["status"], "fulfilled");
    let events = app.get(&events_uri).await.ok(200).clone();
    let statuses: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["agreed", "fulfilled"]);

    // The meeting has a new version, and the event is in its history.
    let meeting_id = doc["id"].as_str().unwrap();
    let now = app
        .get(&format!("/v1/meetings/{meeting_id}"))
        .await
        .ok(200)
        .clone();
    assert!(now["version"].as_i64() > doc["version"].as_i64());
    assert_eq!(now["agreements"][2]["status"], "fulfilled");
    let history = app
        .get(&format!("/v1/meetings/{meeting_id}/history"))
        .await
        .ok(200)
        .clone();
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["resource"], "agreement");
    assert_eq!(last["resource_id"], id.as_str());
    assert_eq!(last["request"]["event"]["status"], "fulfilled");

    // An earlier event recorded later does not change the status: the latest by date wins.
    app.post(
        &events_uri,
        &json!({"status": "signed", "on": "2021-11-01"}),
    )
    .await
    .ok(201);
    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(agreement["status"], "fulfilled");
    let events = app.get(&events_uri).await.ok(200).clone();
    let statuses: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["agreed", "signed", "fulfilled"]);

    // Same day: the one recorded last wins.
    app.post(
        &events_uri,
        &json!({"status": "lapsed", "on": "2021-12-20"}),
    )
    .await
    .ok(201);
    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(agreement["status"], "lapsed");
}

#[tokio::test]
async fn a_patch_of_status_records_an_event_today() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    app.patch(
        &format!("/v1/agreements/{id}"),
        &json!({"status": "withdrawn"}),
    )
    .await
    .ok(200);
    let events = app
        .get(&format!("/v1/agreements/{id}/events"))
        .await
        .ok(200)
        .clone();
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{events}");
    assert_eq!(items[1]["status"], "withdrawn");
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(items[1]["on"], today.as_str());

    // A patch that leaves the status alone records nothing.
    app.patch(
        &format!("/v1/agreements/{id}"),
        &json!({"title": "Aid shipment"}),
    )
    .await
    .ok(200);
    let events = app
        .get(&format!("/v1/agreements/{id}/events"))
        .await
        .ok(200)
        .clone();
    assert_eq!(events["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_event_may_name_a_later_meeting() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    let later = app
        .create_meeting(&meeting("Aid handed over", "2021-12-20", &["CUB", "RUS"]))
        .await;
    let earlier = app
        .create_meeting(&meeting("Before", "2021-01-20", &["CUB", "RUS"]))
        .await;
    let uri = format!("/v1/agreements/{id}/events");
    let body = app
        .post(
            &uri,
            &json!({"status": "fulfilled", "on": "2021-12-20", "meeting_id": later["id"]}),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(body["meeting_id"], later["id"]);

    let refused = app
        .post(
            &uri,
            &json!({"status": "fulfilled", "on": "2021-12-20", "meeting_id": earlier["id"]}),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), ["meeting_id"]);
    let unknown = app
        .post(
            &uri,
            &json!({"status": "fulfilled", "on": "2021-12-20",
                    "meeting_id": "01900000-0000-7000-8000-000000000000"}),
        )
        .await;
    unknown.problem(422);
    assert_eq!(unknown.error_fields(), ["meeting_id"]);

    // The later meeting is deleted: the event stays, naming no meeting, and the
    // pledge's meeting gets a new version, so caches and ETags move.
    let doc_uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());
    let before = app.get(&doc_uri).await.ok(200)["version"].clone();
    app.delete(&format!("/v1/meetings/{}", later["id"].as_str().unwrap()))
        .await
        .ok(204);
    let after = app.get(&doc_uri).await.ok(200).clone();
    assert!(after["version"].as_i64() > before.as_i64());
    let events = app.get(&uri).await.ok(200).clone();
    assert_eq!(events["items"][1]["meeting_id"], serde_json::Value::Null);
}

#[tokio::test]
async fn bad_events_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    let uri = format!("/v1/agreements/{id}/events");
    let before = app.snapshot().await;
    let meeting_uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());
    let version = app.get(&meeting_uri).await.ok(200)["version"].clone();

    let cases = [
        (json!({"status": "kept", "on": "2021-12-20"}), "status"),
        (json!({"status": "fulfilled", "on": "2021-10-11"}), "on"),
        (json!({"status": "fulfilled", "on": "2021-02-30"}), "on"),
        (json!({"status": "fulfilled", "on": "2999-01-01"}), "on"),
        (json!({"status": "fulfilled"}), "on"),
        (
            json!({"status": "fulfilled", "on": "2021-12-20", "evidence": "x"}),
            "evidence",
        ),
        (
            json!({"status": "fulfilled", "on": "2021-12-20", "source": {"url": "not a url"}}),
            "source.url",
        ),
    ];
    for (body, field) in cases {
        let refused = app.post(&uri, &body).await;
        let problem = refused.problem(422).clone();
        let fields = refused.error_fields();
        assert!(
            fields.iter().any(|f| f == field),
            "{body}: expected {field} in {problem}"
        );
    }
    let missing = app
        .post(
            "/v1/agreements/01900000-0000-7000-8000-000000000000/events",
            &json!({"status": "fulfilled", "on": "2021-12-20"}),
        )
        .await;
    missing.problem(404);
    let missing = app
        .get("/v1/agreements/01900000-0000-7000-8000-000000000000/events")
        .await;
    missing.problem(404);

    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.get(&meeting_uri).await.ok(200)["version"], version);
}

#[tokio::test]
async fn a_history_follows_its_meeting_date() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    let events_uri = format!("/v1/agreements/{id}/events");
    app.post(
        &events_uri,
        &json!({"status": "signed", "on": "2021-10-14"}),
    )
    .await
    .ok(201);
    // The meeting was in fact on the 15th: the creation moves with it, and nothing
    // stays dated before it.
    app.patch(
        &format!("/v1/meetings/{}", doc["id"].as_str().unwrap()),
        &json!({"date": "2021-10-15"}),
    )
    .await
    .ok(200);
    let events = app.get(&events_uri).await.ok(200).clone();
    let days: Vec<(&str, &str)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["status"].as_str().unwrap(), e["on"].as_str().unwrap()))
        .collect();
    assert_eq!(days, [("agreed", "2021-10-15"), ("signed", "2021-10-15")]);
    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(agreement["status"], "signed");
    // Its export still imports.
    let export = app.get("/v1/export").await;
    let mut line: serde_json::Value =
        serde_json::from_str(export.text.lines().next().unwrap()).unwrap();
    line["identifiers"] = json!([]);
    app.post("/v1/meetings", &line).await.ok(201);
}
