//! The real data set: 7,535 meetings from the Office of the Historian, imported in
//! full, and the list filters over it checked against what the file itself says.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::common::TestApp;
use serde_json::Value;

const DATA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/hsg-meetings.ndjson"
);

/// What the file says of one meeting, computed independently of the service.
struct Expected {
    date: String,
    /// The words of the title and summary, in lower case.
    words: Vec<String>,
    countries: BTreeSet<String>,
    people: Vec<String>,
}

fn read_file() -> HashMap<String, Expected> {
    let text = std::fs::read_to_string(DATA).expect("../shared/data/hsg-meetings.ndjson");
    let mut meetings = HashMap::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let doc: Value = serde_json::from_str(line).unwrap();
        let mut countries = BTreeSet::new();
        let mut push = |code: &Value| {
            if let Some(code) = code.as_str() {
                countries.insert(code.to_owned());
            }
        };
        push(&doc["host_country"]);
        push(&doc["location"]["country"]);
        let participants = doc["participants"].as_array().unwrap();
        for participant in participants {
            push(&participant["country"]);
        }
        let people = participants
            .iter()
            .filter_map(|p| p["name"].as_str())
            .map(str::to_lowercase)
            .collect();
        let key = doc["identifiers"][0]["value"].as_str().unwrap().to_owned();
        let text = format!(
            "{} {}",
            doc["title"].as_str().unwrap(),
            doc["summary"].as_str().unwrap_or("")
        );
        let words = text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        meetings.insert(
            key,
            Expected {
                date: doc["date"].as_str().unwrap().to_owned(),
                words,
                countries,
                people,
            },
        );
    }
    meetings
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn the_whole_data_set_imports_and_filters_exactly() {
    let expected = read_file();
    assert_eq!(expected.len(), 7535);
    let app = TestApp::spawn().await;
    let totals = chancery::api::import::import_file(
        &app.db,
        Path::new(DATA),
        chancery::domain::vocabulary::Collection::Meetings,
        chancery::domain::vocabulary::Mode::Insert,
        |_| {},
    )
    .await
    .unwrap()
    .totals;
    assert_eq!(
        (totals.lines, totals.created, totals.failed),
        (7535, 7535, 0)
    );

    // The service's ids for the file's identifiers.
    let rows: Vec<(String, uuid::Uuid)> =
        sqlx::query_as("SELECT value, meeting_id FROM meeting_identifiers WHERE scheme = 'hsg'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 7535);
    let id_of: HashMap<String, String> = rows
        .into_iter()
        .map(|(key, id)| (key, id.to_string()))
        .collect();
    let expect = |keep: &dyn Fn(&Expected) -> bool| -> Vec<String> {
        sorted(
            expected
                .iter()
                .filter(|(_, m)| keep(m))
                .map(|(key, _)| id_of[key].clone())
                .collect(),
        )
    };

    // A country pair, over every page with a small page size.
    let usa_gbr = expect(&|m| m.countries.contains("USA") && m.countries.contains("GBR"));
    assert!(usa_gbr.len() > 100, "{}", usa_gbr.len());
    let walked = app.walk("/v1/meetings?country=USA&country=GB", 17).await;
    assert_eq!(walked.len(), usa_gbr.len(), "no duplicates or gaps");
    assert_eq!(sorted(walked), usa_gbr);

    // A date range, oldest first.
    let nineties = expect(&|m| ("1990-01-01".."1999-12-32").contains(&m.date.as_str()));
    let walked = app
        .walk("/v1/meetings?from=1990-01-01&to=1999-12-31&sort=date", 97)
        .await;
    assert_eq!(walked.len(), nineties.len());
    assert_eq!(sorted(walked), nineties);

    // One country, given as alpha-2 in lower case.
    let cuba = expect(&|m| m.countries.contains("CUB"));
    assert!(!cuba.is_empty());
    assert_eq!(sorted(app.walk("/v1/meetings?country=cu", 5).await), cuba);

    // A person, by part of the name, ignoring case.
    let putin = expect(&|m| m.people.iter().any(|p| p.contains("vladimir putin")));
    assert!(putin.len() > 5, "{}", putin.len());
    assert_eq!(
        sorted(app.walk("/v1/meetings?person=VLADIMIR%20PUTIN", 3).await),
        putin
    );

    // Everything, to the very end, with the total.
    let everything = app.walk("/v1/meetings?include_total=true", 500).await;
    assert_eq!(everything.len(), 7535);
    assert_eq!(
        sorted(everything),
        sorted(id_of.values().cloned().collect())
    );
    let counted = app
        .get("/v1/meetings?country=USA&country=GBR&include_total=true&limit=1")
        .await;
    assert_eq!(counted.ok(200)["total"], usa_gbr.len());

    // Partners agree with the list.
    let partners = app.get("/v1/countries/GBR/partners").await;
    let usa = partners.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["country"] == "USA")
        .unwrap()
        .clone();
    assert_eq!(usa["meetings"], usa_gbr.len());

    // Search: a name with and without its accent, an English word form, a phrase.
    let has = |m: &Expected, word: &str| m.words.iter().any(|w| w == word);
    let erdogan = expect(&|m| has(m, "erdoğan") || has(m, "erdogan"));
    assert!(erdogan.len() > 10, "{}", erdogan.len());
    assert_eq!(
        sorted(app.walk("/v1/meetings?q=Erdo%C4%9Fan", 7).await),
        erdogan
    );
    assert_eq!(sorted(app.walk("/v1/meetings?q=ERDOGAN", 7).await), erdogan);
    let agreements = expect(&|m| has(m, "agreement") || has(m, "agreements"));
    assert!(agreements.len() > 100, "{}", agreements.len());
    assert_eq!(
        sorted(app.walk("/v1/meetings?q=agreements", 50).await),
        agreements
    );
    let g7_summit = expect(&|m| {
        m.words
            .windows(2)
            .any(|pair| pair[0] == "g7" && pair[1] == "summit")
    });
    assert!(!g7_summit.is_empty());
    assert_eq!(
        sorted(app.walk("/v1/meetings?q=%22G7%20summit%22", 2).await),
        g7_summit
    );

    // Dashboards agree with the file and with the list.
    let by_year = app.get("/v1/stats/meetings?group_by=year").await;
    let mut years: HashMap<String, u64> = HashMap::new();
    for m in expected.values() {
        *years.entry(m.date[..4].to_owned()).or_default() += 1;
    }
    let served: HashMap<String, u64> = by_year.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["key"].as_str().unwrap().to_owned(),
                item["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(served, years);
    let by_country = app
        .get("/v1/stats/meetings?group_by=country&country=USA")
        .await;
    for item in by_country.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
    {
        let key = item["key"].as_str().unwrap();
        let listed = app
            .get(&format!(
                "/v1/meetings?country=USA&country={key}&include_total=true&limit=1"
            ))
            .await;
        assert_eq!(listed.ok(200)["total"], item["count"], "{key}");
        let in_file = expected
            .values()
            .filter(|m| m.countries.contains("USA") && m.countries.contains(key))
            .count();
        assert_eq!(item["count"], in_file, "{key}");
    }
}

#[tokio::test]
async fn the_whole_data_set_round_trips_through_export_and_import() {
    let first = TestApp::spawn().await;
    chancery::api::import::import_file(
        &first.db,
        Path::new(DATA),
        chancery::domain::vocabulary::Collection::Meetings,
        chancery::domain::vocabulary::Mode::Insert,
        |_| {},
    )
    .await
    .unwrap();
    // Every meeting exports to PLOVER, every line a valid record.
    let plover = first.get("/v1/export?format=plover").await;
    assert_eq!(plover.status, 200);
    let records = super::plover::valid_records(&super::plover::plover_schema(), &plover.text);
    let consults: Vec<&Value> = records.iter().filter(|r| r["event"] == "CONSULT").collect();
    assert_eq!(consults.len(), 7535);
    let links: BTreeSet<&str> = records
        .iter()
        .map(|r| r["link"].as_str().unwrap())
        .collect();
    assert_eq!(links.len(), 7535);
    let code_count = |code: &str| {
        consults
            .iter()
            .filter(|r| {
                ["actor", "recipient"].iter().any(|side| {
                    r[*side]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|e| e["code"] == code)
                })
            })
            .count()
    };
    // Former states stay former; the Soviet Union is not Russia before 1992.
    for former in ["SUN", "YUG", "CSK", "DDR"] {
        assert!(code_count(former) > 0, "{former}");
    }
    let visits = consults.iter().filter(|r| r["mode"] == "visit").count();
    assert!(visits > 3000, "{visits} visits");

    let exported = first.get("/v1/export?format=ndjson").await;
    assert_eq!(exported.status, 200);
    assert_eq!(exported.headers["content-type"], "application/x-ndjson");
    let lines: Vec<&str> = exported.text.lines().collect();
    assert_eq!(lines.len(), 7535);

    let second = TestApp::spawn().await;
    let auth = format!("Bearer {}", second.write_key);
    let imported = second
        .send(
            axum::http::Method::POST,
            "/v1/import",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-ndjson"),
            ],
            exported.text.clone().into_bytes(),
        )
        .await;
    assert_eq!(
        imported.ok(200)["totals"]["created"],
        7535,
        "{}",
        &imported.text[..imported.text.len().min(500)]
    );
    let again = second.get("/v1/export?format=ndjson").await;
    let mut before: Vec<&str> = lines.clone();
    let mut after: Vec<&str> = again.text.lines().collect();
    before.sort_unstable();
    after.sort_unstable();
    assert!(
        before == after,
        "export → import → export changed the documents"
    );
}
