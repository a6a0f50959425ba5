//! Participants: added to a meeting by name, by organization or as a known person, read,
//! moved, renamed and removed.

use axum::http::Method;
use serde_json::json;

use super::coverage::Resource;
use super::records::Sample;
use super::support::{Contract, UNKNOWN_ID, id_of, load_spec};
use crate::common::TestApp;

#[tokio::test]
async fn participants_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let Sample {
        meeting_uri,
        borisov_person,
        ..
    } = Sample::create(&mut c).await;

    // --- Participants ---
    let participants_uri = format!("{meeting_uri}/participants");
    let added = c
        .post(
            &participants_uri,
            &json!({"name": "Vladimir Putin", "country": "ru", "role": "President", "side": "guest"}),
        )
        .await;
    added.ok(201);
    let participant_uri = format!("/v1/participants/{}", id_of(&added));
    let body_only = c
        .post(
            &participants_uri,
            &json!({"organization": "Cuban Chamber of Commerce", "side": "host"}),
        )
        .await;
    body_only.ok(201);
    let by_person = c
        .post(
            &participants_uri,
            &json!({"person_id": borisov_person, "organization": "Rosatom"}),
        )
        .await;
    by_person.ok(201);
    for invalid in [
        json!({"role": "nobody"}),
        json!({"name": "Someone", "side": "king"}),
        json!({"name": "Someone", "rank": 1}),
    ] {
        assert!(
            !c.body_accepted(
                Method::POST,
                &participants_uri,
                "application/json",
                &invalid
            ),
            "the ParticipantInput schema should reject {invalid}"
        );
        c.post(&participants_uri, &invalid).await.problem(422);
    }
    c.post(
        &participants_uri,
        &json!({"person_id": UNKNOWN_ID, "role": "ghost"}),
    )
    .await
    .problem(422);
    c.post(
        &format!("/v1/meetings/{UNKNOWN_ID}/participants"),
        &json!({"name": "Nobody"}),
    )
    .await
    .problem(404);
    c.get(&participant_uri).await.ok(200);
    c.get(&format!("/v1/participants/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let moved = c
        .patch(&participant_uri, &json!({"country": "US", "role": null}))
        .await;
    assert_eq!(moved.ok(200)["country"], "USA");
    let renamed = c
        .patch(&participant_uri, &json!({"name": "V. Putin"}))
        .await;
    assert_eq!(renamed.ok(200)["person"]["name"], "V. Putin");
    c.patch(&participant_uri, &json!({"side": "king"}))
        .await
        .problem(422);

    // --- Deletes ---
    let uri = &participant_uri;
    assert_eq!(c.delete(uri).await.status, 204, "{uri}");
    c.delete(uri).await.problem(404);
    c.delete("/v1/participants/not-a-uuid").await.problem(400);

    c.assert_complete(Resource::Participants);
}
