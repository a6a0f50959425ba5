//! Meeting documents: create, read, patch, delete, and the seed article in full.

use crate::common::{TestApp, meeting, seed_meeting};
use axum::http::Method;
use serde_json::json;

#[tokio::test]
async fn the_seed_article_round_trips_in_full() {
    let app = TestApp::spawn().await;
    let created = app.post("/v1/meetings", &seed_meeting()).await;
    let doc = created.ok(201).clone();
    let id = doc["id"].as_str().unwrap();
    assert_eq!(
        created.headers["location"],
        format!("/v1/meetings/{id}").as_str()
    );
    assert_eq!(created.headers["etag"], "\"1\"");

    let fetched = app.get(&format!("/v1/meetings/{id}")).await;
    let doc = fetched.ok(200);
    assert_eq!(doc["countries"], json!(["CUB", "RUS"]));
    assert_eq!(
        doc["title"],
        "Díaz-Canel meets Russian Deputy Prime Minister Borisov in Havana"
    );
    assert_eq!(doc["date"], "2021-10-12");
    assert_eq!(doc["kind"], "bilateral");
    assert_eq!(
        doc["location"]["country"], "CUB",
        "alpha-2 input comes out as alpha-3"
    );
    assert_eq!(doc["host_country"], "CUB");

    let participants = doc["participants"].as_array().unwrap();
    assert_eq!(participants.len(), 4);
    let names: Vec<_> = participants
        .iter()
        .map(|p| p["person"]["name"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("Miguel Díaz-Canel"),
            json!("Yuri Borisov"),
            json!("Ricardo Cabrisas"),
            json!(null)
        ]
    );
    assert_eq!(participants[0]["role"], "President of Cuba");
    assert_eq!(participants[0]["side"], "host");
    assert_eq!(participants[1]["country"], "RUS");
    assert_eq!(participants[1]["side"], "guest");
    assert_eq!(
        participants[2]["role"],
        "Vice President of the Council of Ministers"
    );
    assert_eq!(
        participants[3]["organization"],
        "Russian-Cuban Intergovernmental Commission"
    );
    assert_eq!(participants[3]["role"], "members");

    let statements = doc["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 4);
    assert_eq!(statements[0]["speaker"]["name"], "Miguel Díaz-Canel");
    assert_eq!(
        statements[0]["speaker"]["participant_id"],
        participants[0]["id"]
    );
    assert_eq!(
        statements[0]["speaker"]["person_id"],
        participants[0]["person"]["id"]
    );
    assert!(
        statements[0]["text"]
            .as_str()
            .unwrap()
            .contains("international law and justice")
    );
    assert_eq!(statements[1]["speaker"]["name"], "Yuri Borisov");
    assert!(
        statements[1]["text"]
            .as_str()
            .unwrap()
            .contains("humanitarian aid")
    );
    assert_eq!(statements[1]["language"], "en");
    assert_eq!(statements[1]["kind"], "quote");

    let agreements = doc["agreements"].as_array().unwrap();
    assert_eq!(agreements.len(), 3);
    assert_eq!(agreements[0]["kind"], "plan");
    assert!(agreements[0]["title"].as_str().unwrap().contains("oil"));
    assert_eq!(agreements[0]["parties"], json!(["CUB", "RUS"]));
    assert!(agreements[1]["title"].as_str().unwrap().contains("flights"));
    assert_eq!(agreements[2]["kind"], "pledge");
    assert_eq!(agreements[2]["due_by"], "2021-12-31");
    assert_eq!(agreements[2]["parties"], json!(["RUS"]));
    assert_eq!(doc["sources"][0]["publisher"], "teleSUR");
    assert_eq!(
        doc["identifiers"],
        json!([{"scheme": "chancery-sample", "value": "cub-rus-2021-10-12"}])
    );
    assert_eq!(doc["version"], 1);
}

#[tokio::test]
async fn people_are_reused_by_folded_name_and_country() {
    let app = TestApp::spawn().await;
    let first = app.create_meeting(&seed_meeting()).await;
    let mut second = meeting("Second meeting", "2022-01-01", &[]);
    second["participants"] = json!([{"name": "miguel diaz-canel", "country": "cu"}]);
    let second = app.create_meeting(&second).await;
    assert_eq!(
        second["participants"][0]["person"]["id"],
        first["participants"][0]["person"]["id"]
    );
    assert_eq!(
        second["participants"][0]["person"]["name"],
        "Miguel Díaz-Canel"
    );
    // Same name, other country: another person.
    let mut third = meeting("Third meeting", "2022-01-02", &[]);
    third["participants"] = json!([{"name": "Miguel Díaz-Canel", "country": "ESP"}]);
    let third = app.create_meeting(&third).await;
    assert_ne!(
        third["participants"][0]["person"]["id"],
        first["participants"][0]["person"]["id"]
    );
}

#[tokio::test]
async fn patch_merges_own_fields_and_honours_if_match() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());

    let patched = app
        .patch(
            &uri,
            &json!({"summary": null, "topics": ["Energy"], "end_date": "2021-10-13"}),
        )
        .await;
    let patched = patched.ok(200);
    assert_eq!(patched["summary"], json!(null));
    assert_eq!(patched["topics"], json!(["energy"]));
    assert_eq!(patched["end_date"], "2021-10-13");
    assert_eq!(patched["title"], doc["title"], "untouched fields stay");
    assert_eq!(
        patched["participants"].as_array().unwrap().len(),
        4,
        "embedded lists stay"
    );
    assert_eq!(patched["version"], 2);

    let auth = format!("Bearer {}", app.write_key);
    let stale = app
        .send(
            Method::PATCH,
            &uri,
            &[
                ("authorization", &auth),
                ("content-type", "application/merge-patch+json"),
                ("if-match", "\"1\""),
            ],
            br#"{"title":"stale"}"#.to_vec(),
        )
        .await;
    stale.problem(412);
    let current = app
        .send(
            Method::PATCH,
            &uri,
            &[
                ("authorization", &auth),
                ("content-type", "application/merge-patch+json"),
                ("if-match", "\"2\""),
            ],
            br#"{"title":"Fresh title"}"#.to_vec(),
        )
        .await;
    assert_eq!(current.ok(200)["title"], "Fresh title");

    let not_modified = app
        .send(Method::GET, &uri, &[("if-none-match", "\"3\"")], vec![])
        .await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.headers["etag"], "\"3\"");
    assert!(not_modified.text.is_empty());
    let weak = app
        .send(Method::GET, &uri, &[("if-none-match", "W/\"3\"")], vec![])
        .await;
    assert_eq!(weak.status, 304, "a weak tag names the version too");
    let changed = app
        .send(
            Method::GET,
            &uri,
            &[("if-none-match", "\"2\", \"1\"")],
            vec![],
        )
        .await;
    assert_eq!(changed.ok(200)["title"], "Fresh title");
    assert_eq!(changed.headers["etag"], "\"3\"");
    app.send(
        Method::GET,
        "/v1/meetings/0190b0a0-0000-7000-8000-000000000000",
        &[("if-none-match", "\"1\"")],
        vec![],
    )
    .await
    .problem(404);

    let bad = app.patch(&uri, &json!({"end_date": "2000-01-01"})).await;
    bad.problem(422);
    assert_eq!(bad.error_fields(), ["end_date"]);
    let lists = app.patch(&uri, &json!({"participants": []})).await;
    lists.problem(422);
    assert_eq!(lists.error_fields(), ["participants"]);
    assert_eq!(
        app.get(&uri).await.json["title"],
        "Fresh title",
        "refused patches change nothing"
    );
}

#[tokio::test]
async fn delete_removes_the_meeting_and_what_hangs_off_it() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());
    assert_eq!(app.delete(&uri).await.status, 204);
    app.get(&uri).await.problem(404);
    app.delete(&uri).await.problem(404);
    for table in [
        "meetings",
        "participants",
        "statements",
        "agreements",
        "sources",
        "meeting_identifiers",
    ] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    // People outlive the meetings they attended.
    assert_eq!(app.count("people").await, 3);
}

#[tokio::test]
async fn items_are_added_edited_and_removed_one_at_a_time() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let id = doc["id"].as_str().unwrap();

    let added = app
        .post(&format!("/v1/meetings/{id}/participants"), &json!({"name": "Vladimir Putin", "country": "RU", "role": "President", "side": "guest"}))
        .await;
    let participant = added.ok(201).clone();
    assert_eq!(participant["person"]["name"], "Vladimir Putin");
    let participant_uri = format!("/v1/participants/{}", participant["id"].as_str().unwrap());
    assert_eq!(added.headers["location"], participant_uri.as_str());
    assert_eq!(app.get(&participant_uri).await.ok(200)["role"], "President");
    let edited = app
        .patch(&participant_uri, &json!({"country": "USA"}))
        .await;
    assert_eq!(edited.ok(200)["country"], "USA");
    let meeting = app.get(&format!("/v1/meetings/{id}")).await;
    assert_eq!(
        meeting.json["countries"],
        json!(["CUB", "RUS", "USA"]),
        "countries follow participants"
    );

    let statement = app
        .post(
            &format!("/v1/meetings/{id}/statements"),
            &json!({"participant_id": participant["id"], "text": "Мы поддержим Кубу.", "language": "ru"}),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(statement["speaker"]["name"], "Vladimir Putin");
    let statement_uri = format!("/v1/statements/{}", statement["id"].as_str().unwrap());
    let edited = app
        .patch(&statement_uri, &json!({"kind": "paraphrase"}))
        .await
        .ok(200)
        .clone();
    assert_eq!(edited["kind"], "paraphrase");
    assert_eq!(edited["id"], statement["id"]);
    assert_eq!(
        edited["speaker"]["name"], "Vladimir Putin",
        "the speaker survives an edit"
    );

    let agreement = app
        .post(
            &format!("/v1/meetings/{id}/agreements"),
            &json!({"title": "Joint declaration on cooperation", "kind": "joint_declaration", "parties": ["cu", "ru"]}),
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(agreement["parties"], json!(["CUB", "RUS"]));
    let agreement_uri = format!("/v1/agreements/{}", agreement["id"].as_str().unwrap());
    let fulfilled = app
        .patch(&agreement_uri, &json!({"status": "fulfilled"}))
        .await;
    assert_eq!(fulfilled.ok(200)["status"], "fulfilled");

    for uri in [&statement_uri, &agreement_uri, &participant_uri] {
        assert_eq!(app.delete(uri).await.status, 204, "{uri}");
        app.get(uri).await.problem(404);
    }
    let meeting = app.get(&format!("/v1/meetings/{id}")).await;
    assert_eq!(meeting.json["countries"], json!(["CUB", "RUS"]));
    assert!(meeting.json["version"].as_i64().unwrap() > 1);
}

#[tokio::test]
async fn a_speaker_named_by_name_is_linked_to_the_participant() {
    let app = TestApp::spawn().await;
    let mut doc = seed_meeting();
    doc["statements"] =
        json!([{"speaker_name": "yuri borisov", "text": "We are interested in Cuban production."}]);
    let created = app.create_meeting(&doc).await;
    assert_eq!(
        created["statements"][0]["speaker"]["participant_id"],
        created["participants"][1]["id"]
    );
    assert_eq!(created["statements"][0]["speaker"]["name"], "Yuri Borisov");
}
