//! Roles: added under a person, read, edited, removed, and listed by who held an
//! office on a day.

use axum::http::Method;
use serde_json::json;

use super::coverage::Resource;
use super::records::Sample;
use super::support::{Contract, UNKNOWN_ID, load_spec, query};
use crate::common::TestApp;

#[tokio::test]
async fn roles_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let Sample {
        diaz_canel_person, ..
    } = Sample::create(&mut c).await;

    let added_at = format!("/v1/people/{diaz_canel_person}/roles");
    let president = json!({
        "title": "President of Cuba",
        "kind": "head_of_state",
        "serves": "CU",
        "started_on": "2019-10",
        "source": "https://example.org/diaz-canel"
    });
    assert!(c.body_accepted(Method::POST, &added_at, "application/json", &president));
    let created = c.post(&added_at, &president).await;
    let id = created.ok(201)["id"].as_str().unwrap().to_owned();
    let role_uri = format!("/v1/roles/{id}");
    for invalid in [
        json!({"title": "President", "started_on": "2019-13"}),
        json!({"title": "President", "posted_to": "XX"}),
        json!({"title": "President", "kind": "king"}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, &added_at, "application/json", &invalid),
            "the RoleInput schema should reject {invalid}"
        );
        c.post(&added_at, &invalid).await.problem(422);
    }
    // Valid by the schema, refused by a rule no schema states.
    c.post(
        &added_at,
        &json!({"title": "President", "started_on": "2019", "ended_on": "2018-12"}),
    )
    .await
    .problem(422);
    c.post(&format!("/v1/people/{UNKNOWN_ID}/roles"), &president)
        .await
        .problem(404);

    let role = c.get(&role_uri).await;
    let tag = role.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(role.ok(200)["started_on"], "2019-10");
    let unchanged = c
        .send(
            Method::GET,
            &role_uri,
            &[("if-none-match", &tag)],
            Vec::new(),
        )
        .await;
    assert_eq!(unchanged.status, 304);
    c.get(&format!("/v1/roles/{UNKNOWN_ID}")).await.problem(404);
    let patched = c
        .patch(&role_uri, &json!({"started_on": "2019-10-10"}))
        .await;
    assert_eq!(patched.ok(200)["started_on"], "2019-10-10");
    let stale = c
        .send(
            Method::PATCH,
            &role_uri,
            &[
                ("authorization", &format!("Bearer {}", app.write_key)),
                ("content-type", "application/merge-patch+json"),
                ("if-match", &tag),
            ],
            br#"{"kind": "other"}"#.to_vec(),
        )
        .await;
    stale.problem(412);
    for invalid in [json!({"title": null}), json!({"person_id": UNKNOWN_ID})] {
        assert!(
            !c.body_accepted(
                Method::PATCH,
                &role_uri,
                "application/merge-patch+json",
                &invalid
            ),
            "the RolePatch schema should reject {invalid}"
        );
        c.patch(&role_uri, &invalid).await.problem(422);
    }
    c.patch(&format!("/v1/roles/{UNKNOWN_ID}"), &json!({"title": "x"}))
        .await
        .problem(404);

    let meeting = app.get("/v1/meetings?limit=1").await.json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let document = c.get(&format!("/v1/meetings/{meeting}")).await;
    let held = &document.ok(200)["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person"]["id"] == diaz_canel_person.as_str())
        .unwrap()["roles_held"];
    assert_eq!(held[0]["title"], "President of Cuba");
    assert_eq!(held[0]["certain"], false, "no end is known: {held}");

    let listed = c
        .get(&format!(
            "/v1/roles{}",
            query(&[
                ("on", "2021-10-12"),
                ("serves", "cub"),
                ("kind", "head_of_state")
            ])
        ))
        .await;
    assert_eq!(listed.ok(200)["items"][0]["certain"], false);
    c.get(&format!(
        "/v1/roles{}",
        query(&[
            ("from", "2019-01-01"),
            ("to", "2020-01-01"),
            ("title", "president of cuba"),
            ("organization", "Council of State"),
            ("posted_to", "CU"),
            ("person", "díaz"),
            ("limit", "5")
        ])
    ))
    .await
    .ok(200);
    // `on` outside `from`..`to`, or `from` after `to`: no day, so no role.
    for empty in [
        "on=2021-10-12&from=2022-01-01",
        "from=2022-01-01&to=2021-01-01",
    ] {
        let answer = c.get(&format!("/v1/roles?{empty}")).await;
        assert_eq!(answer.ok(200)["items"], json!([]));
    }
    let within = c
        .get("/v1/roles?on=2021-10-12&from=2021-01-01&to=2021-12-31")
        .await;
    assert_eq!(within.ok(200)["items"][0]["certain"], false);
    c.get("/v1/roles?kind=king").await.problem(400);
    c.get("/v1/roles?title=%20").await.problem(400);

    c.delete(&role_uri).await.ok(204);
    c.delete(&role_uri).await.problem(404);

    c.assert_complete(Resource::Roles);
}
