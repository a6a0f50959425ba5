//! The real people data set: 4,261 people with 6,843 roles from the Office of the
//! Historian, imported whole, imported again to no effect, exported and imported back
//! unchanged; and, with the HSG meetings beside it, the questions of issue 16 answered
//! over HTTP.

use std::path::Path;

use axum::http::Method;
use chancery::domain::vocabulary::{Collection, Mode};
use serde_json::Value;

use crate::common::TestApp;

const PEOPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/pocom-people.ndjson"
);
const MEETINGS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/hsg-meetings.ndjson"
);

async fn load(
    app: &TestApp,
    file: &str,
    collection: Collection,
    mode: Mode,
) -> (usize, usize, usize, usize, usize) {
    let mut failures = Vec::new();
    let totals =
        chancery::api::import::import_file(&app.db, Path::new(file), collection, mode, |result| {
            if let chancery::api::import::LineResult::Failed { line, error } = result {
                failures.push(format!("line {line}: {error}"));
            }
        })
        .await
        .unwrap()
        .totals;
    assert!(failures.is_empty(), "{failures:#?}");
    (
        totals.lines,
        totals.created,
        totals.updated,
        totals.unchanged,
        totals.failed,
    )
}

/// Sends an NDJSON body to the import with the write key.
async fn import_over_http(app: &TestApp, query: &str, body: String) -> Value {
    let auth = format!("Bearer {}", app.write_key);
    let answer = app
        .send(
            Method::POST,
            &format!("/v1/import?{query}"),
            &[
                ("authorization", &auth),
                ("content-type", "application/x-ndjson"),
            ],
            body.into_bytes(),
        )
        .await;
    answer.ok(200)["totals"].clone()
}

fn totals(t: &Value) -> (u64, u64, u64, u64, u64) {
    let n = |k: &str| t[k].as_u64().unwrap();
    (
        n("lines"),
        n("created"),
        n("updated"),
        n("unchanged"),
        n("failed"),
    )
}

#[tokio::test]
async fn the_pocom_file_loads_whole_and_again_changes_nothing_and_round_trips() {
    let app = TestApp::spawn().await;
    assert_eq!(
        load(&app, PEOPLE, Collection::People, Mode::Upsert).await,
        (4261, 4261, 0, 0, 0)
    );
    assert_eq!(app.count("roles").await, 6843);
    assert_eq!(app.count("people").await, 4261);
    let changes = app.count("changes").await;
    // Again, from the command line's reader and over HTTP: nothing changes.
    assert_eq!(
        load(&app, PEOPLE, Collection::People, Mode::Upsert).await,
        (4261, 0, 0, 4261, 0)
    );
    let file = std::fs::read_to_string(PEOPLE).unwrap();
    let again = import_over_http(&app, "type=people&mode=upsert", file.clone()).await;
    assert_eq!(totals(&again), (4261, 0, 0, 4261, 0));
    assert_eq!(
        app.count("changes").await,
        changes,
        "an unchanged line records nothing"
    );
    // In insert mode a stored identifier is the client's mistake, line by line.
    let first = file.lines().next().unwrap().to_owned();
    let refused = import_over_http(&app, "type=people", first + "\n").await;
    assert_eq!(totals(&refused), (1, 0, 0, 0, 1));

    // The export imports again unchanged, and into an empty database gives itself back.
    let exported = app.get("/v1/export?type=people").await;
    assert_eq!(
        exported.status,
        200,
        "{}",
        &exported.text[..exported.text.len().min(300)]
    );
    assert_eq!(exported.headers["content-type"], "application/x-ndjson");
    assert_eq!(
        exported.headers["content-disposition"],
        "attachment; filename=\"people.ndjson\""
    );
    assert_eq!(exported.text.lines().count(), 4261);
    let back = import_over_http(&app, "type=people&mode=upsert", exported.text.clone()).await;
    assert_eq!(totals(&back), (4261, 0, 0, 4261, 0));
    let fresh = TestApp::spawn().await;
    let loaded = import_over_http(&fresh, "type=people", exported.text.clone()).await;
    assert_eq!(totals(&loaded), (4261, 4261, 0, 0, 0));
    let mut before: Vec<&str> = exported.text.lines().collect();
    let second = fresh.get("/v1/export?type=people").await;
    let mut after: Vec<&str> = second.text.lines().collect();
    before.sort_unstable();
    after.sort_unstable();
    assert!(
        before == after,
        "export → import → export changed the people"
    );

    // A line's changes reach the person and their history; one bad line fails alone.
    let kerry: Value = file
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|p| p["name"] == "John Forbes Kerry")
        .unwrap();
    let mut changed = kerry.clone();
    changed["died"] = Value::Null;
    changed["roles"][0]["end_note"] = "Resigned".into();
    changed["identifiers"] = serde_json::json!([{"scheme": "wikidata", "value": "Q22316"}]);
    let body = format!(
        "{}\n{}\n",
        changed,
        serde_json::json!({"name": "Nobody", "roles": [{"title": "Envoy", "started_on": "1960-13"}]})
    );
    let answer = import_over_http(&app, "type=people&mode=upsert", body).await;
    assert_eq!(totals(&answer), (2, 0, 1, 0, 1));
    let found = app.get("/v1/people?q=john%20forbes%20kerry").await;
    let person = &found.ok(200)["items"][0];
    assert_eq!(person["roles"][0]["end_note"], "Resigned");
    assert_eq!(person["identifiers"].as_array().unwrap().len(), 2);
    let history = app
        .get(&format!(
            "/v1/people/{}/history",
            person["id"].as_str().unwrap()
        ))
        .await;
    let kinds: Vec<(String, String)> = history.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap().to_owned(),
                c["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let kinds: Vec<(&str, &str)> = kinds
        .iter()
        .map(|(r, a)| (r.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("person", "create"),
            ("role", "create"),
            ("person", "update"),
            ("role", "delete"),
            ("role", "create")
        ]
    );
}

/// Names of the people in a roles page, each with whether the role is certain.
fn holders(page: &Value) -> Vec<(String, bool)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["person"]["name"].as_str().unwrap().to_owned(),
                r["certain"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn with_the_hsg_meetings_the_roster_knows_the_office() {
    let app = TestApp::spawn().await;
    assert_eq!(
        load(&app, MEETINGS, Collection::Meetings, Mode::Insert)
            .await
            .4,
        0
    );
    let (lines, created, updated, unchanged, failed) =
        load(&app, PEOPLE, Collection::People, Mode::Upsert).await;
    assert_eq!((lines, failed, unchanged), (4261, 0, 0));
    // People the meetings had already named are found by name and country, and filled in.
    assert!(updated >= 25, "{updated} people met in the HSG meetings");
    assert_eq!(created + updated, 4261);

    // Who was the U.S. ambassador in Havana on 1 June 1960?
    let havana = app
        .get("/v1/roles?on=1960-06-01&posted_to=CUB&serves=USA")
        .await;
    let certain: Vec<(String, bool)> = holders(havana.ok(200))
        .into_iter()
        .filter(|(_, certain)| *certain)
        .collect();
    assert_eq!(certain, [("Philip Wilson Bonsal".to_owned(), true)]);

    // The Soviet-era ambassadors, posted to SUN, and the one in Moscow in summer 1952.
    let soviet = app
        .walk(
            "/v1/roles?posted_to=SUN&serves=USA&kind=chief_of_mission",
            7,
        )
        .await;
    assert_eq!(soviet.len(), 20);
    let moscow = app.get("/v1/roles?on=1952-07-01&posted_to=su").await;
    assert_eq!(
        holders(moscow.ok(200)),
        [("George Frost Kennan".to_owned(), true)]
    );
    let by_title = app
        .get("/v1/roles?title=secretary%20of%20state&on=2016-03-21")
        .await;
    assert_eq!(
        holders(by_title.ok(200)),
        [("John Forbes Kerry".to_owned(), true)]
    );

    // Kerry's 2016 visit to Havana shows him as Secretary of State, read from his roles.
    let visits = app
        .get("/v1/meetings?role=Secretary%20of%20State&country=CUB&from=2016-01-01&to=2016-12-31")
        .await;
    let items = visits.ok(200)["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", visits.text);
    let id = items[0]["id"].as_str().unwrap();
    let document = app.get(&format!("/v1/meetings/{id}")).await;
    let kerry = document.ok(200)["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person"]["name"] == "John Forbes Kerry")
        .unwrap()
        .clone();
    assert_eq!(
        kerry["roles_held"],
        serde_json::json!([{
            "role_id": kerry["roles_held"][0]["role_id"],
            "title": "Secretary of State",
            "kind": "principal_officer",
            "posted_to": null,
            "organization": "U.S. Department of State",
            "certain": true
        }])
    );
    // Every meeting in Cuba a sitting Secretary of State attended: Kerry's two visits
    // among them, and in each someone who then held the office.
    let all = app
        .get("/v1/meetings?role=secretary%20of%20STATE&country=CUB&limit=100")
        .await;
    let all = all.ok(200)["items"].as_array().unwrap().clone();
    assert!(
        all.len() >= 2 && all.iter().any(|m| m["id"] == id),
        "{all:?}"
    );
    for meeting in &all {
        let id = meeting["id"].as_str().unwrap();
        let document = app.get(&format!("/v1/meetings/{id}")).await;
        let secretary = document.ok(200)["participants"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["roles_held"].as_array().unwrap())
            .any(|held| held["title"] == "Secretary of State");
        assert!(secretary, "{}", document.text);
    }
    app.get("/v1/meetings?role=").await.problem(400);
}
