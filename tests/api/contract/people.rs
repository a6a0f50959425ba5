//! People: listed, found by name and country, read, and given aliases and identifiers.

use axum::http::Method;
use serde_json::json;

use super::coverage::Resource;
use super::records::{Sample, more_meetings};
use super::support::{Contract, UNKNOWN_ID, load_spec, percent_encode, query};
use crate::common::TestApp;

#[tokio::test]
async fn people_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let Sample {
        borisov_person,
        diaz_canel_person,
        ..
    } = Sample::create(&mut c).await;
    more_meetings(&mut c).await;

    // --- People ---
    let people = c.get("/v1/people").await;
    assert!(people.ok(200)["items"].as_array().unwrap().len() >= 4);
    let found = c
        .get(&format!(
            "/v1/people{}",
            query(&[("q", "díaz"), ("country", "cu"), ("limit", "5")])
        ))
        .await;
    assert_eq!(found.ok(200)["items"][0]["name"], "Miguel Díaz-Canel");
    let paged = c.get("/v1/people?limit=1").await;
    let cursor = paged.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "/v1/people?limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    c.get("/v1/people?q=").await.problem(400);
    c.get("/v1/people?name=x").await.problem(400);
    let person_uri = format!("/v1/people/{diaz_canel_person}");
    c.get(&person_uri).await.ok(200);
    c.get(&format!("/v1/people/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let aliased = c
        .patch(
            &person_uri,
            &json!({"aliases": ["Miguel Mario Díaz-Canel Bermúdez"], "identifiers": [{"scheme": "wikidata", "value": "Q5834"}]}),
        )
        .await;
    assert_eq!(aliased.ok(200)["identifiers"][0]["value"], "Q5834");
    let by_wikidata = c.get("/v1/people?wikidata=Q5834").await;
    assert_eq!(by_wikidata.ok(200)["items"][0]["name"], "Miguel Díaz-Canel");
    c.get("/v1/people?wikidata=Q5834x").await.problem(400);
    c.patch(
        &format!("/v1/people/{borisov_person}"),
        &json!({"identifiers": [{"scheme": "wikidata", "value": "Q5834"}]}),
    )
    .await
    .problem(409);
    let dated = c
        .patch(&person_uri, &json!({"born": "1960-04", "died": null}))
        .await;
    assert_eq!(dated.ok(200)["born"], "1960-04");
    assert_eq!(dated.json["roles"], json!([]));
    for invalid in [
        json!({"meeting_count": 3}),
        json!({"name": null}),
        json!({"born": "1960-13"}),
        json!({"roles": []}),
    ] {
        assert!(
            !c.body_accepted(
                Method::PATCH,
                &person_uri,
                "application/merge-patch+json",
                &invalid
            ),
            "the PersonPatch schema should reject {invalid}"
        );
        c.patch(&person_uri, &invalid).await.problem(422);
    }
    let history = c.get(&format!("{person_uri}/history")).await;
    assert_eq!(history.ok(200)["items"][0]["resource"], "person");
    c.get(&format!("/v1/people/{UNKNOWN_ID}/history"))
        .await
        .problem(404);
    c.patch(
        &format!("/v1/people/{UNKNOWN_ID}"),
        &json!({"name": "Nobody"}),
    )
    .await
    .problem(404);

    c.assert_complete(Resource::People);
}
