//! Imports of NDJSON and JSON Lines: created, unchanged, updated and failed lines, the
//! modes, and the refusals.

use axum::http::Method;
use serde_json::json;

use super::coverage::Resource;
use super::support::{Contract, load_spec};
use crate::common::{TestApp, meeting};

#[tokio::test]
async fn import_answers_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let write_auth = format!("Bearer {}", app.write_key);
    let read_auth = format!("Bearer {}", app.read_key);
    let post_headers = [
        ("authorization", write_auth.as_str()),
        ("content-type", "application/json"),
    ];

    // --- Import ---
    let ndjson_headers = [
        ("authorization", write_auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let mut imported = meeting("Imported talks in Caracas", "2019-04-04", &["CUB", "VEN"]);
    imported["identifiers"] = json!([{"scheme": "import-test", "value": "1"}]);
    let no_date = json!({"title": "No date"});
    let lines = [
        imported.to_string(),
        String::new(),
        no_date.to_string(),
        "{oops".into(),
    ];
    let report = c
        .send(
            Method::POST,
            "/v1/import",
            &ndjson_headers,
            lines.join("\n").into_bytes(),
        )
        .await;
    let report = report.ok(200).clone();
    assert_eq!(
        report["totals"],
        json!({"lines": 3, "created": 1, "updated": 0, "unchanged": 0, "failed": 2})
    );
    assert_eq!(report["items"][0]["status"], "created");
    assert_eq!(report["items"][1]["line"], 3);
    assert!(report["items"][2]["error"].is_string());
    // The lines that failed are the ones the documented item schema refuses.
    assert!(c.line_accepted(
        Method::POST,
        "/v1/import",
        "application/x-ndjson",
        &imported
    ));
    assert!(!c.line_accepted(Method::POST, "/v1/import", "application/x-ndjson", &no_date));
    let again = c
        .send(
            Method::POST,
            "/v1/import?mode=upsert",
            &[
                ("authorization", write_auth.as_str()),
                ("content-type", "application/jsonl"),
            ],
            imported.to_string().into_bytes(),
        )
        .await;
    assert_eq!(again.ok(200)["items"][0]["status"], "unchanged");
    let duplicate = c
        .send(
            Method::POST,
            "/v1/import?mode=insert",
            &ndjson_headers,
            imported.to_string().into_bytes(),
        )
        .await;
    assert!(duplicate.ok(200)["items"][0]["error"].is_string());
    imported["summary"] = json!("Revised.");
    let revised = c
        .send(
            Method::POST,
            "/v1/import?mode=upsert",
            &ndjson_headers,
            imported.to_string().into_bytes(),
        )
        .await;
    assert_eq!(revised.ok(200)["items"][0]["status"], "updated");
    assert!(!c.parameter_accepts("/v1/import", &Method::POST, "mode", "merge"));

    // People with their roles, in the pocom file's shape.
    let person = json!({
        "name": "Philip Wilson Bonsal", "country": "USA",
        "identifiers": [{"scheme": "pocom", "value": "bonsal-philip-wilson"}],
        "born": "1903", "died": "1995",
        "roles": [{"title": "Ambassador Extraordinary and Plenipotentiary", "kind": "chief_of_mission",
                   "serves": "USA", "posted_to": "CUB", "organization": null,
                   "appointed_on": "1959-02-16", "started_on": "1959-03-03", "ended_on": "1960-10-28",
                   "end_note": "Left post on",
                   "source": "https://history.state.gov/departmenthistory/people/bonsal-philip-wilson"}]
    });
    let bad_person = json!({"name": "Nobody", "born": "1903-13"});
    assert!(c.line_accepted(Method::POST, "/v1/import", "application/x-ndjson", &person));
    assert!(!c.line_accepted(
        Method::POST,
        "/v1/import",
        "application/x-ndjson",
        &bad_person
    ));
    let people = c
        .send(
            Method::POST,
            "/v1/import?type=people&mode=upsert",
            &ndjson_headers,
            format!("{person}\n{bad_person}\n").into_bytes(),
        )
        .await;
    let report = people.ok(200);
    assert_eq!(report["items"][0]["status"], "created");
    assert!(
        report["items"][1]["error"]
            .as_str()
            .unwrap()
            .contains("born")
    );
    assert!(!c.parameter_accepts("/v1/import", &Method::POST, "type", "places"));
    c.send(
        Method::POST,
        "/v1/import?type=places",
        &ndjson_headers,
        person.to_string().into_bytes(),
    )
    .await
    .problem(400);
    c.send(
        Method::POST,
        "/v1/import?mode=merge",
        &ndjson_headers,
        imported.to_string().into_bytes(),
    )
    .await
    .problem(400);
    c.send(
        Method::POST,
        "/v1/import",
        &post_headers,
        imported.to_string().into_bytes(),
    )
    .await
    .problem(415);
    c.send(
        Method::POST,
        "/v1/import",
        &[("content-type", "application/x-ndjson")],
        imported.to_string().into_bytes(),
    )
    .await
    .problem(401);
    c.send(
        Method::POST,
        "/v1/import",
        &[
            ("authorization", read_auth.as_str()),
            ("content-type", "application/x-ndjson"),
        ],
        imported.to_string().into_bytes(),
    )
    .await
    .problem(403);

    c.assert_complete(Resource::Import);
}
