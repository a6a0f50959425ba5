//! Agreements: made at a meeting, read, filtered, paged, edited and removed.

use axum::http::Method;
use serde_json::json;

use super::coverage::Resource;
use super::records::{Sample, more_meetings};
use super::support::{Contract, UNKNOWN_ID, id_of, load_spec, percent_encode, query};
use crate::common::TestApp;

#[tokio::test]
async fn agreements_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let read_auth = format!("Bearer {}", app.read_key);
    let Sample {
        meeting_id,
        meeting_uri,
        ..
    } = Sample::create(&mut c).await;
    let second_id = more_meetings(&mut c).await;

    // --- Agreements ---
    let agreements_uri = format!("{meeting_uri}/agreements");
    let agreed = c
        .post(
            &agreements_uri,
            &json!({"title": "Joint declaration on cooperation", "kind": "joint_declaration", "status": "signed", "parties": ["ru", "CU", "cub"], "topics": ["Energy"], "signed_on": "2021-10-12", "due_by": "2022-06-30"}),
        )
        .await;
    assert_eq!(agreed.ok(201)["parties"], json!(["CUB", "RUS"]));
    let agreement_uri = format!("/v1/agreements/{}", id_of(&agreed));
    for invalid in [
        json!({"kind": "plan"}),
        json!({"title": "Bad status", "status": "pending"}),
        json!({"title": "Typo", "partys": ["CUB"]}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, &agreements_uri, "application/json", &invalid),
            "the AgreementInput schema should reject {invalid}"
        );
        c.post(&agreements_uri, &invalid).await.problem(422);
    }
    c.post(
        &format!("/v1/meetings/{UNKNOWN_ID}/agreements"),
        &json!({"title": "Nothing"}),
    )
    .await
    .problem(404);
    c.get(&agreement_uri).await.ok(200);
    c.get(&format!("/v1/agreements/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let fulfilled = c
        .patch(
            &agreement_uri,
            &json!({"status": "fulfilled", "description": "Done."}),
        )
        .await;
    assert_eq!(fulfilled.ok(200)["status"], "fulfilled");
    for invalid in [json!({"id": UNKNOWN_ID}), json!({"meeting_id": second_id})] {
        assert!(
            !c.body_accepted(
                Method::PATCH,
                &agreement_uri,
                "application/merge-patch+json",
                &invalid
            ),
            "the AgreementPatch schema should reject {invalid}"
        );
        c.patch(&agreement_uri, &invalid).await.problem(422);
    }
    let agreement_filters = query(&[
        ("party", "cu"),
        ("party", "RUS"),
        ("status", "agreed"),
        ("status", "fulfilled"),
        ("kind", "plan"),
        ("kind", "joint_declaration"),
        ("topic", "energy"),
        ("due_before", "2030-01-01"),
        ("due_after", "2020-01-01"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("meeting_id", &meeting_id),
        ("q", "cooperation"),
        ("limit", "5"),
    ]);
    let found = c.get(&format!("/v1/agreements{agreement_filters}")).await;
    assert_eq!(found.ok(200)["items"].as_array().unwrap().len(), 1);
    let paged = c.get("/v1/agreements?limit=2").await;
    let cursor = paged.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "/v1/agreements?limit=2&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    for (name, value) in [
        ("status", "pending"),
        ("due_before", "soon"),
        ("party", "ZZZ"),
        ("colour", "red"),
    ] {
        if name != "party" {
            assert!(
                !c.parameter_accepts("/v1/agreements", &Method::GET, name, value),
                "the spec should not accept {name}={value} on GET /v1/agreements"
            );
        }
        c.get(&format!("/v1/agreements{}", query(&[(name, value)])))
            .await
            .problem(400);
    }

    // --- Status history, as of a date, overdue, links ---
    let events_uri = format!("{agreement_uri}/events");
    let event = c
        .post(
            &events_uri,
            &json!({"status": "lapsed", "on": "2022-07-01", "note": "Not renewed.",
                    "source": {"url": "https://example.org/lapsed", "title": "Lapsed",
                               "published_on": "2022-07-02"},
                    "meeting_id": null}),
        )
        .await;
    assert_eq!(event.ok(201)["status"], "lapsed");
    for invalid in [
        json!({"status": "kept", "on": "2022-07-01"}),
        json!({"status": "lapsed"}),
        json!({"status": "lapsed", "on": "2022-07-01", "by": "x"}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, &events_uri, "application/json", &invalid),
            "the AgreementEventInput schema should reject {invalid}"
        );
        c.post(&events_uri, &invalid).await.problem(422);
    }
    c.post(
        &events_uri,
        &json!({"status": "lapsed", "on": "2000-01-01"}),
    )
    .await
    .problem(422);
    c.post(
        &format!("/v1/agreements/{UNKNOWN_ID}/events"),
        &json!({"status": "lapsed", "on": "2022-07-01"}),
    )
    .await
    .problem(404);
    let events = c.get(&events_uri).await;
    assert_eq!(events.ok(200)["items"].as_array().unwrap().len(), 3);
    c.get(&format!("/v1/agreements/{UNKNOWN_ID}/events"))
        .await
        .problem(404);
    let as_of = c
        .get("/v1/agreements?as_of=2022-01-01&kind=joint_declaration")
        .await;
    assert_eq!(as_of.ok(200)["items"][0]["status_as_of"], "signed");
    c.get("/v1/agreements?as_of=2022-07-01&overdue=true")
        .await
        .ok(200);
    c.get("/v1/stats/agreements?group_by=status&as_of=2022-01-01&overdue=false")
        .await
        .ok(200);
    let linked = c
        .post(
            &agreements_uri,
            &json!({"title": "Renewed declaration", "kind": "joint_declaration",
                    "relates_to": [{"agreement_id": id_of(&agreed), "relation": "supersedes"}]}),
        )
        .await;
    assert_eq!(linked.ok(201)["relates_to"][0]["relation"], "supersedes");
    c.patch(
        &format!("/v1/agreements/{}", id_of(&linked)),
        &json!({"relates_to": null}),
    )
    .await
    .ok(200);
    for (name, value) in [("as_of", "2022-02-30"), ("overdue", "perhaps")] {
        assert!(
            !c.parameter_accepts("/v1/agreements", &Method::GET, name, value),
            "the spec should not accept {name}={value} on GET /v1/agreements"
        );
        c.get(&format!("/v1/agreements{}", query(&[(name, value)])))
            .await
            .problem(400);
    }

    // --- Deletes ---
    let read_only = c
        .send(
            Method::DELETE,
            &agreement_uri,
            &[("authorization", read_auth.as_str())],
            Vec::new(),
        )
        .await;
    read_only.problem(403);
    let uri = &agreement_uri;
    assert_eq!(c.delete(uri).await.status, 204, "{uri}");
    c.delete(uri).await.problem(404);

    c.assert_complete(Resource::Agreements);
}
