//! `relates_to` between agreements across meetings, and the reverse, `related_from`.

use super::{pledge, seed};
use crate::common::{TestApp, meeting};
use serde_json::json;

#[tokio::test]
async fn a_later_agreement_reaffirms_the_pledge() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    let first = doc["id"].as_str().unwrap();
    let version = doc["version"].as_i64().unwrap();

    let mut later = meeting("Aid talks again", "2022-03-01", &["CUB", "RUS"]);
    later["agreements"] = json!([{
        "title": "Russia confirms the aid shipment",
        "kind": "pledge", "parties": ["RUS"],
        "relates_to": [{"agreement_id": id, "relation": "reaffirms"}]
    }]);
    let later = app.create_meeting(&later).await;
    let reaffirming = later["agreements"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        later["agreements"][0]["relates_to"],
        json!([{"agreement_id": id, "relation": "reaffirms"}])
    );
    assert_eq!(later["agreements"][0]["related_from"], json!([]));

    // The reverse shows on the pledge and in its meeting's document, which has moved on.
    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        agreement["related_from"],
        json!([{"agreement_id": reaffirming, "relation": "reaffirms"}])
    );
    let now = app
        .get(&format!("/v1/meetings/{first}"))
        .await
        .ok(200)
        .clone();
    assert!(now["version"].as_i64().unwrap() > version);
    assert_eq!(
        now["agreements"][2]["related_from"],
        agreement["related_from"]
    );

    // One added alone, and one changed by a patch.
    let added = app
        .post(
            &format!("/v1/meetings/{}/agreements", later["id"].as_str().unwrap()),
            &json!({"title": "Deliveries", "kind": "plan",
                    "relates_to": [{"agreement_id": id, "relation": "implements"}]}),
        )
        .await
        .ok(201)
        .clone();
    let patched = app
        .patch(
            &format!("/v1/agreements/{}", added["id"].as_str().unwrap()),
            &json!({"relates_to": [{"agreement_id": reaffirming, "relation": "amends"}]}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(patched["relates_to"][0]["relation"], "amends");
    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(agreement["related_from"].as_array().unwrap().len(), 1);

    // Deleting the reaffirming agreement takes its links away.
    app.delete(&format!("/v1/agreements/{reaffirming}")).await;
    let agreement = app
        .get(&format!("/v1/agreements/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(agreement["related_from"], json!([]));
}

#[tokio::test]
async fn unknown_targets_and_cycles_of_supersedes_are_refused() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let a = doc["agreements"][0]["id"].as_str().unwrap().to_owned();
    let b = doc["agreements"][1]["id"].as_str().unwrap().to_owned();
    let before = app.snapshot().await;

    let mut unknown = meeting("Nowhere", "2022-03-01", &["CUB"]);
    unknown["agreements"] = json!([{"title": "x", "relates_to": [
        {"agreement_id": "01900000-0000-7000-8000-000000000000", "relation": "amends"}]}]);
    let refused = app.post("/v1/meetings", &unknown).await;
    refused.problem(422);
    assert_eq!(
        refused.error_fields(),
        ["agreements[0].relates_to[0].agreement_id"]
    );
    let mut bad_relation = meeting("Nowhere", "2022-03-01", &["CUB"]);
    bad_relation["agreements"] =
        json!([{"title": "x", "relates_to": [{"agreement_id": a, "relation": "likes"}]}]);
    app.post("/v1/meetings", &bad_relation).await.problem(422);
    assert_eq!(app.snapshot().await, before);

    // a supersedes b; b superseding a would close a cycle.
    app.patch(
        &format!("/v1/agreements/{a}"),
        &json!({"relates_to": [{"agreement_id": b, "relation": "supersedes"}]}),
    )
    .await
    .ok(200);
    let cycle = app
        .patch(
            &format!("/v1/agreements/{b}"),
            &json!({"relates_to": [{"agreement_id": a, "relation": "supersedes"}]}),
        )
        .await;
    cycle.problem(422);
    assert_eq!(cycle.error_fields(), ["relates_to[0].agreement_id"]);
    let itself = app
        .patch(
            &format!("/v1/agreements/{b}"),
            &json!({"relates_to": [{"agreement_id": b, "relation": "supersedes"}]}),
        )
        .await;
    itself.problem(422);
    let reaffirms_itself = app
        .patch(
            &format!("/v1/agreements/{b}"),
            &json!({"relates_to": [{"agreement_id": b, "relation": "reaffirms"}]}),
        )
        .await;
    reaffirms_itself.problem(422);
    assert_eq!(
        reaffirms_itself.error_fields(),
        ["relates_to[0].agreement_id"]
    );
    // Reaffirming back is no cycle of supersedes.
    app.patch(
        &format!("/v1/agreements/{b}"),
        &json!({"relates_to": [{"agreement_id": a, "relation": "reaffirms"}]}),
    )
    .await
    .ok(200);
    let b_now = app
        .get(&format!("/v1/agreements/{b}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        b_now["related_from"],
        json!([{"agreement_id": a, "relation": "supersedes"}])
    );
    let refused = app
        .patch(&format!("/v1/agreements/{b}"), &json!({"related_from": []}))
        .await;
    refused.problem(422);
}

/// With the cache of answers on, an event and a link from another meeting move the
/// cached documents they change, on this instance and on another.
#[tokio::test]
async fn events_and_links_move_cached_answers() {
    use crate::common::{eventually, send_to};
    use axum::http::Method;
    use chancery::{AppState, Settings};

    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    let meeting_id = doc["id"].as_str().unwrap().to_owned();
    let state = AppState::new(app.db.clone(), Settings::default());
    let cache = state.cache.clone().expect("the cache is on");
    eventually("the cache listens", async || cache.is_listening()).await;
    let other = chancery::app(state);
    let document = format!("/v1/meetings/{meeting_id}");
    let agreement = format!("/v1/agreements/{id}");
    let overdue = "/v1/agreements?overdue=true";
    let read = async |uri: &str| {
        send_to(&other, Method::GET, uri, &[], None)
            .await
            .ok(200)
            .clone()
    };
    for _ in 0..2 {
        assert_eq!(read(&document).await["agreements"][2]["status"], "agreed");
        assert_eq!(read(overdue).await["items"].as_array().unwrap().len(), 1);
        assert_eq!(read(&agreement).await["related_from"], json!([]));
    }

    app.post(
        &format!("/v1/agreements/{id}/events"),
        &json!({"status": "fulfilled", "on": "2021-12-20"}),
    )
    .await
    .ok(201);
    let mut later = meeting("Aid talks again", "2022-03-01", &["CUB", "RUS"]);
    later["agreements"] = json!([{"title": "Reaffirmed", "kind": "pledge",
        "relates_to": [{"agreement_id": id, "relation": "reaffirms"}]}]);
    app.create_meeting(&later).await;

    eventually(
        "the other instance hears the event and the link",
        async || {
            read(&document).await["agreements"][2]["status"] == "fulfilled"
                && read(overdue).await["items"].as_array().unwrap().is_empty()
                && read(&agreement).await["related_from"]
                    .as_array()
                    .unwrap()
                    .len()
                    == 1
                && read(&document).await["agreements"][2]["related_from"]
                    .as_array()
                    .unwrap()
                    .len()
                    == 1
        },
    )
    .await;
}
