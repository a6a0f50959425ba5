//! The export, as NDJSON and CSV, filtered; what it writes goes back in.

use axum::http::Method;
use serde_json::{Value, json};

use super::coverage::Resource;
use super::records::Everything;
use super::support::{Contract, load_spec, query};
use crate::common::{TestApp, meeting};

#[tokio::test]
async fn export_answers_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let write_auth = format!("Bearer {}", app.write_key);
    Everything::create(&mut c).await;
    // The meeting the import tests write, as their last upsert leaves it.
    let mut imported = meeting("Imported talks in Caracas", "2019-04-04", &["CUB", "VEN"]);
    imported["identifiers"] = json!([{"scheme": "import-test", "value": "1"}]);
    imported["summary"] = json!("Revised.");
    c.send(
        Method::POST,
        "/v1/import",
        &[
            ("authorization", write_auth.as_str()),
            ("content-type", "application/x-ndjson"),
        ],
        imported.to_string().into_bytes(),
    )
    .await
    .ok(200);

    // --- Export ---
    let exported = c.get("/v1/export").await;
    assert_eq!(exported.status, 200);
    let documents: Vec<Value> = exported
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(documents.len() >= 5, "{}", exported.text);
    // What is exported goes back in: every line satisfies the documented input schema.
    for document in &documents {
        assert!(
            c.body_accepted(Method::POST, "/v1/meetings", "application/json", document),
            "an exported document the MeetingInput schema refuses: {document}"
        );
        assert!(
            c.line_accepted(Method::POST, "/v1/import", "application/jsonl", document),
            "an exported document the import's line schema refuses: {document}"
        );
    }
    let export_filters = query(&[
        ("format", "ndjson"),
        ("country", "cu"),
        ("person", "borisov"),
        ("topic", "energy"),
        ("kind", "other"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("city", "havana"),
        ("q", "oil"),
        ("sort", "date"),
    ]);
    let filtered = c.get(&format!("/v1/export{export_filters}")).await;
    assert_eq!(filtered.status, 200);
    assert_eq!(filtered.text.lines().count(), 1);
    // PLOVER records, each a line the spec describes, with the same filters.
    let plover = c
        .get(&format!(
            "/v1/export{}",
            query(&[("format", "plover"), ("country", "cu"), ("q", "oil")])
        ))
        .await;
    assert_eq!(plover.status, 200);
    let records: Vec<Value> = plover
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        records.iter().any(|r| r["event"] == "CONSULT"),
        "{}",
        plover.text
    );
    assert!(
        records.iter().any(|r| r["event"] == "AGREE"),
        "{}",
        plover.text
    );
    let csv = c.get("/v1/export?format=csv&country=CU&sort=-date").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.text.starts_with(
            "id,date,end_date,title,kind,city,location_country,host_country,countries,topics,\
             participants,statements,agreements,identifiers,summary\r\n"
        ),
        "{}",
        csv.text
    );
    for (name, value) in [("format", "xml"), ("cursor", "abc"), ("colour", "red")] {
        if name != "cursor" {
            assert!(
                !c.parameter_accepts("/v1/export", &Method::GET, name, value),
                "the spec should not accept {name}={value} on GET /v1/export"
            );
        }
        c.get(&format!("/v1/export{}", query(&[(name, value)])))
            .await
            .problem(400);
    }

    // People with their roles, as the people import takes them.
    let people = c.get("/v1/export?type=people&format=ndjson").await;
    assert_eq!(people.status, 200);
    assert!(people.text.lines().count() >= 4, "{}", people.text);
    for line in people.text.lines() {
        let person: Value = serde_json::from_str(line).unwrap();
        assert!(
            c.line_accepted(Method::POST, "/v1/import", "application/x-ndjson", &person),
            "an exported person the import's line schema refuses: {person}"
        );
    }
    for refused in [
        "type=people&format=csv",
        "type=people&country=CU",
        "type=places",
    ] {
        c.get(&format!("/v1/export?{refused}")).await.problem(400);
    }

    c.assert_complete(Resource::Export);
}
