//! Statements: said by a participant, a named speaker or nobody, read, searched, filtered,
//! edited and removed; and an idempotent POST answered once, replayed, and refused for
//! another body.

use axum::http::Method;
use serde_json::json;

use super::coverage::Resource;
use super::records::{Sample, three_statements};
use super::support::{Contract, UNKNOWN_ID, id_of, load_spec, percent_encode, query};
use crate::common::TestApp;

#[tokio::test]
async fn statements_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let write_auth = format!("Bearer {}", app.write_key);
    let Sample {
        meeting_id,
        meeting_uri,
        borisov_person,
        diaz_canel_person,
        first_participant,
        ..
    } = Sample::create(&mut c).await;

    // --- Idempotent POSTs: first answer, replay, and a key reused for another body ---
    let keyed = |key: &'static str| {
        [
            ("authorization", write_auth.clone()),
            ("content-type", "application/json".to_owned()),
            ("idempotency-key", key.to_owned()),
        ]
    };
    let statement = json!({"speaker_name": "A spokesperson", "text": "We welcome the visit."});
    let statement_body = statement.to_string().into_bytes();
    let headers = keyed("contract-1");
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let statements_uri = format!("{meeting_uri}/statements");
    let first = c
        .send(
            Method::POST,
            &statements_uri,
            &headers,
            statement_body.clone(),
        )
        .await;
    first.ok(201);
    let again = c
        .send(Method::POST, &statements_uri, &headers, statement_body)
        .await;
    again.ok(201);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.json, first.json);
    let other = json!({"speaker_name": "A spokesperson", "text": "Something else."});
    c.send(
        Method::POST,
        &statements_uri,
        &headers,
        other.to_string().into_bytes(),
    )
    .await
    .problem(422);
    c.delete(&format!("/v1/statements/{}", id_of(&first))).await;

    // --- Statements ---
    let statement_uri = three_statements(&mut c, &meeting_uri, &first_participant).await;
    for invalid in [
        json!({"speaker_participant": 0, "text": "By index"}),
        json!({"speaker": "someone", "text": "Typo"}),
        json!({"text": "Wrong kind", "kind": "rumour"}),
        json!({"person_id": diaz_canel_person}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, &statements_uri, "application/json", &invalid),
            "the StatementInput schema should reject {invalid}"
        );
        c.post(&statements_uri, &invalid).await.problem(422);
    }
    c.post(
        &statements_uri,
        &json!({"participant_id": UNKNOWN_ID, "text": "Whose?"}),
    )
    .await
    .problem(422);
    c.post(
        &format!("/v1/meetings/{UNKNOWN_ID}/statements"),
        &json!({"text": "Into the void"}),
    )
    .await
    .problem(404);
    c.get(&statement_uri).await.ok(200);
    c.get(&format!("/v1/statements/{UNKNOWN_ID}"))
        .await
        .problem(404);
    let paraphrased = c
        .patch(
            &statement_uri,
            &json!({"kind": "paraphrase", "source": null}),
        )
        .await;
    assert_eq!(paraphrased.ok(200)["kind"], "paraphrase");
    let reassigned = c
        .patch(&statement_uri, &json!({"person_id": borisov_person}))
        .await;
    assert_eq!(reassigned.ok(200)["speaker"]["name"], "Yuri Borisov");
    c.patch(&statement_uri, &json!({"text": null}))
        .await
        .problem(422);

    let searched = c
        .get(&format!(
            "/v1/statements{}",
            query(&[("q", "humanitarian aid"), ("limit", "5")])
        ))
        .await;
    let hit = &searched.ok(200)["items"][0];
    assert!(
        hit["headline"].is_string() && hit["rank"].is_number(),
        "{hit}"
    );
    let statement_filters = query(&[
        ("speaker", "yuri borisov"),
        ("country", "ru"),
        ("meeting_id", &meeting_id),
        ("topic", "trade"),
        ("language", "en"),
        ("from", "2021-10-01"),
        ("to", "2021-10-31"),
        ("limit", "1"),
    ]);
    let narrowed = c.get(&format!("/v1/statements{statement_filters}")).await;
    assert_eq!(narrowed.ok(200)["items"].as_array().unwrap().len(), 1);
    let paged = c.get("/v1/statements?limit=2").await;
    let cursor = paged.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "/v1/statements?limit=2&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    let searched_page = c.get("/v1/statements?q=cuba&limit=1").await;
    let cursor = searched_page.ok(200)["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    c.get(&format!(
        "/v1/statements?q=cuba&limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    for (name, value) in [
        ("meeting_id", "xyz"),
        ("language", "not a tag"),
        ("limit", "0"),
        ("speaker", ""),
        ("sort", "date"),
    ] {
        assert!(
            !c.parameter_accepts("/v1/statements", &Method::GET, name, value),
            "the spec should not accept {name}={value} on GET /v1/statements"
        );
        c.get(&format!("/v1/statements{}", query(&[(name, value)])))
            .await
            .problem(400);
    }

    // --- Deletes ---
    let unauthenticated = c
        .send(Method::DELETE, &statement_uri, &[], Vec::new())
        .await;
    unauthenticated.problem(401);
    let uri = &statement_uri;
    assert_eq!(c.delete(uri).await.status, 204, "{uri}");
    c.delete(uri).await.problem(404);

    c.assert_complete(Resource::Statements);
}
