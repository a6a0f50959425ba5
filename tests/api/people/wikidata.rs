//! Wikidata identities: participants named by QID, people found by it, imports that
//! meet in one person whatever the spelling, and countries' own QIDs.

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

fn talks(title: &str, participants: Value) -> Value {
    json!({"title": title, "date": "2021-10-12", "kind": "bilateral", "participants": participants})
}

/// The one person `GET /v1/people?wikidata=` finds.
async fn person_with(app: &TestApp, qid: &str) -> Value {
    let found = app.get(&format!("/v1/people?wikidata={qid}")).await;
    let items = found.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", found.text);
    items[0].clone()
}

#[tokio::test]
async fn a_participant_names_a_person_by_wikidata_id() {
    let app = TestApp::spawn().await;
    let first = app
        .create_meeting(&talks(
            "Borisov in Havana",
            json!([{"name": "Yuri Borisov", "country": "RUS", "wikidata": "Q4101395", "side": "guest"}]),
        ))
        .await;
    let person = person_with(&app, "Q4101395").await;
    assert_eq!(person["name"], "Yuri Borisov");
    assert_eq!(
        person["identifiers"],
        json!([{"scheme": "wikidata", "value": "Q4101395"}])
    );
    assert_eq!(first["participants"][0]["person"]["id"], person["id"]);

    // Another spelling with the same id is the same person, and so is the id alone.
    let second = app
        .create_meeting(&talks(
            "Borisov in Caracas",
            json!([{"name": "Yury Ivanovich Borisov", "country": "RUS", "wikidata": "Q4101395"},
                   {"wikidata": "Q4101395", "role": "Deputy Prime Minister"}]),
        ))
        .await;
    for participant in second["participants"].as_array().unwrap() {
        assert_eq!(participant["person"]["id"], person["id"], "{participant}");
    }
    assert_eq!(person_with(&app, "Q4101395").await["meeting_count"], 2);

    // A person already known by name is given the id, not doubled.
    app.create_meeting(&talks(
        "Díaz-Canel at home",
        json!([{"name": "Miguel Díaz-Canel", "country": "CUB"}]),
    ))
    .await;
    app.create_meeting(&talks(
        "Díaz-Canel again",
        json!([{"name": "miguel diaz-canel", "country": "CU", "wikidata": "Q1231"}]),
    ))
    .await;
    let known = person_with(&app, "Q1231").await;
    assert_eq!(known["name"], "Miguel Díaz-Canel");
    assert_eq!(known["meeting_count"], 2);
    let everyone = app.get("/v1/people?q=canel").await;
    assert_eq!(everyone.ok(200)["items"].as_array().unwrap().len(), 1);

    // The NDJSON export carries the id, so a re-import finds the same person.
    let exported = app.get("/v1/export?format=ndjson&person=borisov").await;
    for line in exported.text.lines() {
        let document: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            document["participants"][0]["wikidata"], "Q4101395",
            "{line}"
        );
    }

    // An unknown id alone names nobody: 422 naming the field, and nothing written.
    let before = app.snapshot().await;
    let refused = app
        .post(
            "/v1/meetings",
            &talks("Nobody", json!([{"wikidata": "Q999999999"}])),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), ["participants[0].wikidata"]);
    assert_eq!(app.snapshot().await, before);

    // Ids that are not QIDs, and a person named twice over.
    for (participant, field) in [
        (json!({"wikidata": "q4101395"}), "participants[0].wikidata"),
        (json!({"wikidata": "Q0"}), "participants[0].wikidata"),
        (json!({"wikidata": 4101395}), "participants[0].wikidata"),
        (
            json!({"person_id": person["id"], "wikidata": "Q4101395"}),
            "participants[0].wikidata",
        ),
    ] {
        let refused = app
            .post("/v1/meetings", &talks("Bad", json!([participant])))
            .await;
        refused.problem(422);
        assert!(
            refused.error_fields().iter().any(|f| f == field),
            "{participant}: {}",
            refused.text
        );
    }
    for bad in ["abc", "Q", "Q01", "P31"] {
        let refused = app.get(&format!("/v1/people?wikidata={bad}")).await;
        refused.problem(400);
        assert!(refused.text.contains("wikidata"), "{}", refused.text);
    }
    assert_eq!(
        app.get("/v1/people?wikidata=Q42").await.ok(200)["items"],
        json!([])
    );

    // A participant edited to name someone by id.
    let participant = second["participants"][1]["id"].as_str().unwrap();
    let edited = app
        .patch(
            &format!("/v1/participants/{participant}"),
            &json!({"wikidata": "Q1231"}),
        )
        .await;
    assert_eq!(
        edited.ok(200)["person"]["id"],
        known["id"],
        "{}",
        edited.text
    );
}

#[tokio::test]
async fn people_hold_one_wikidata_id_each() {
    let app = TestApp::spawn().await;
    app.create_meeting(&talks(
        "Two people",
        json!([{"name": "Ana", "wikidata": "Q11"}, {"name": "Bea", "wikidata": "Q12"}]),
    ))
    .await;
    let ana = person_with(&app, "Q11").await;
    let uri = format!("/v1/people/{}", ana["id"].as_str().unwrap());
    // Not a QID: 422 naming the value.
    let refused = app
        .patch(
            &uri,
            &json!({"identifiers": [{"scheme": "wikidata", "value": "eleven"}]}),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), ["identifiers[0].value"]);
    // Somebody else's id, or a second one: 409.
    app.patch(
        &uri,
        &json!({"identifiers": [{"scheme": "wikidata", "value": "Q12"}]}),
    )
    .await
    .problem(409);
    app.patch(
        &uri,
        &json!({"identifiers": [{"scheme": "wikidata", "value": "Q11"},
                                {"scheme": "wikidata", "value": "Q13"}]}),
    )
    .await
    .problem(409);
    assert_eq!(person_with(&app, "Q11").await["id"], ana["id"]);
}

#[tokio::test]
async fn imports_meet_in_one_person_by_wikidata_id() {
    let app = TestApp::spawn().await;
    let auth = format!("Bearer {}", app.write_key);
    let lines = [
        talks(
            "From one source",
            json!([{"name": "Sergei Lavrov", "country": "RUS", "wikidata": "Q155244"}]),
        ),
        talks(
            "From another",
            json!([{"name": "Sergey Lavrov", "country": "RUS", "wikidata": "Q155244"}]),
        ),
    ];
    let body: Vec<String> = lines.iter().map(Value::to_string).collect();
    let imported = app
        .send(
            Method::POST,
            "/v1/import",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/x-ndjson"),
            ],
            body.join("\n").into_bytes(),
        )
        .await;
    assert_eq!(
        imported.ok(200)["totals"]["created"],
        2,
        "{}",
        imported.text
    );
    let lavrov = person_with(&app, "Q155244").await;
    assert_eq!(lavrov["meeting_count"], 2);
    assert_eq!(app.count("people").await, 1);

    // The people import finds him by the id too, whatever the spelling.
    let line = json!({"name": "Sergej Lawrow", "country": "RUS",
                      "identifiers": [{"scheme": "wikidata", "value": "Q155244"}]});
    let people = app
        .send(
            Method::POST,
            "/v1/import?type=people&mode=upsert",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/x-ndjson"),
            ],
            line.to_string().into_bytes(),
        )
        .await;
    assert_eq!(people.ok(200)["totals"]["updated"], 1, "{}", people.text);
    assert_eq!(app.count("people").await, 1);
    assert_eq!(person_with(&app, "Q155244").await["id"], lavrov["id"]);
}

#[tokio::test]
async fn countries_answer_their_wikidata_id() {
    let app = TestApp::spawn().await;
    for (code, qid, former) in [
        ("CUB", "Q241", false),
        ("ru", "Q159", false),
        ("SUN", "Q15180", true),
        ("YUG", "Q36704", true),
        ("CSK", "Q33946", true),
        ("DDR", "Q16957", true),
        ("XKX", "Q1246", false),
    ] {
        let country = app.get(&format!("/v1/countries/{code}")).await;
        let body = country.ok(200);
        assert_eq!(body["wikidata"], qid, "{code}");
        assert_eq!(body["former"], former, "{code}");
    }
}
