//! Plans, not hopes: over a corpus big enough for the planner to prefer indexes, every
//! list and search query the API issues — built by the handlers' own code — is
//! explained, and none may scan meetings, statements, agreements or the country pairs
//! sequentially.

mod common;

use chancery::agreements::AgreementFilters;
use chancery::extract::parse_query;
use chancery::meetings::list::MeetingFilters;
use chancery::statements::StatementFilters;
use chancery_corpus::{self as corpus, Plan};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

use common::TestApp;

const BIG_TABLES: [&str; 4] = [
    "meetings",
    "statements",
    "agreements",
    "meeting_country_pairs",
];

/// Every sequential scan of a big table in an EXPLAIN (FORMAT JSON) plan.
fn seq_scans(plan: &Value, found: &mut Vec<String>) {
    if plan["Node Type"] == "Seq Scan"
        && let Some(table) = plan["Relation Name"].as_str()
        && BIG_TABLES.contains(&table)
    {
        found.push(table.to_owned());
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        seq_scans(child, found);
    }
}

/// A query string as a client would send it.
fn query(pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        query.append_pair(key, value);
    }
    query.finish()
}

struct Explainer<'a> {
    app: &'a TestApp,
    failures: Vec<String>,
}

impl Explainer<'_> {
    /// Explains the first page at `path?query` and the page its cursor leads to.
    async fn check(
        &mut self,
        path: &str,
        query: &str,
        push: fn(&str, &mut QueryBuilder<Postgres>),
    ) {
        let page = self.app.get(&format!("{path}?{query}")).await;
        let body = page.ok(200).clone();
        self.explain(&format!("{path}?{query}"), query, push).await;
        match body["next_cursor"].as_str() {
            Some(cursor) => {
                let next = format!("{query}&cursor={cursor}");
                self.explain(&format!("{path}?{next}"), &next, push).await;
            }
            None => self.failures.push(format!(
                "{path}?{query}: only one page; the corpus is too small to test its cursor"
            )),
        }
    }

    async fn explain(
        &mut self,
        label: &str,
        query: &str,
        push: fn(&str, &mut QueryBuilder<Postgres>),
    ) {
        let mut sql = QueryBuilder::new("EXPLAIN (FORMAT JSON) ");
        push(query, &mut sql);
        let plan: Value = sql
            .build_query_scalar()
            .fetch_one(&self.app.db)
            .await
            .unwrap_or_else(|error| panic!("{label}: {error}"));
        let mut found = Vec::new();
        seq_scans(&plan[0]["Plan"], &mut found);
        if !found.is_empty() {
            self.failures.push(format!(
                "{label}: sequential scan of {}\n{}",
                found.join(", "),
                serde_json::to_string_pretty(&plan).unwrap()
            ));
        }
    }
}

fn meetings(query: &str, sql: &mut QueryBuilder<Postgres>) {
    let filters: MeetingFilters = parse_query(query).unwrap();
    filters.push_page(sql).unwrap();
}

fn statements(query: &str, sql: &mut QueryBuilder<Postgres>) {
    let filters: StatementFilters = parse_query(query).unwrap();
    filters.push_page(sql).unwrap();
}

fn agreements(query: &str, sql: &mut QueryBuilder<Postgres>) {
    let filters: AgreementFilters = parse_query(query).unwrap();
    filters.push_page(sql).unwrap();
}

/// The handlers write the JSON of `meeting_document`, `meeting_summary` and
/// `statement_json` into their queries; they must say exactly what the functions say.
async fn json_matches_the_sql_functions(app: &TestApp) {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM meetings ORDER BY date DESC, id DESC LIMIT 50")
            .fetch_all(&app.db)
            .await
            .unwrap();
    for id in &ids {
        let expected: String = sqlx::query_scalar(
            "SELECT meeting_document(m)::text FROM meetings m WHERE m.id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(app.get(&format!("/v1/meetings/{id}")).await.text, expected);
    }
    let summaries: Vec<String> = sqlx::query_scalar(
        "SELECT meeting_summary(m)::text FROM meetings m ORDER BY date DESC, id DESC LIMIT 50",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let page = app.get("/v1/meetings").await;
    let items: Vec<String> = page.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.to_string())
        .collect();
    let expected: Vec<String> = summaries
        .iter()
        .map(|text| serde_json::from_str::<Value>(text).unwrap().to_string())
        .collect();
    assert_eq!(items, expected);
    let statements: Vec<String> = sqlx::query_scalar(
        "SELECT (statement_json(s)::jsonb || jsonb_build_object('meeting',
                    json_build_object('id', m.id, 'title', m.title, 'date', m.date)))::text
           FROM statements s JOIN meetings m ON m.id = s.meeting_id
          ORDER BY m.date DESC, s.position DESC, s.id DESC LIMIT 50",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let page = app.get("/v1/statements").await;
    let items: Vec<Value> = page.ok(200)["items"].as_array().unwrap().clone();
    let expected: Vec<Value> = statements
        .iter()
        .map(|text| serde_json::from_str(text).unwrap())
        .collect();
    assert_eq!(items, expected);
}

#[tokio::test]
async fn lists_and_searches_use_indexes_on_a_loaded_database() {
    let app = TestApp::spawn().await;
    let plan = Plan {
        meetings: 30_000,
        seed: 5,
        jobs: 2,
    };
    corpus::generate(&app.db, plan).await.unwrap();
    json_matches_the_sql_functions(&app).await;
    derived_tables_match_what_they_derive_from(&app).await;

    // Real values from the corpus: a pair of countries that met, a busy person, a topic.
    let (first, second): (String, String) = sqlx::query_as(
        "SELECT countries[1], countries[2] FROM meetings
          WHERE cardinality(countries) = 2 ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let (person, name): (String, String) = sqlx::query_as(
        "SELECT pe.id::text, pe.name FROM people pe
          WHERE (SELECT count(*) FROM participants p WHERE p.person_id = pe.id) BETWEEN 60 AND 400
          ORDER BY pe.id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let last_name = name.rsplit(". ").next().unwrap().to_owned();
    let parties: Vec<String> = sqlx::query_scalar(
        "SELECT parties FROM agreements WHERE cardinality(parties) = 2
          GROUP BY parties ORDER BY count(*) DESC, parties LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();

    let mut explainer = Explainer {
        app: &app,
        failures: Vec::new(),
    };
    // Search terms as selective as real ones: each word of the corpus's long tail is
    // in about one text in two hundred. A term found in a large share of the meetings
    // is rightly read sequentially, and would fail here.
    let m = "/v1/meetings";
    for case in [
        query(&[]),
        query(&[("country", &first), ("country", &second)]),
        query(&[("country", "USA")]),
        query(&[("country", &first), ("country", &second), ("sort", "date")]),
        query(&[
            ("country", &first),
            ("country", &second),
            ("country", "USA"),
        ]),
        query(&[("country", &first), ("topic", "trade")]),
        query(&[
            ("country", "USA"),
            ("from", "2019-01-01"),
            ("to", "2019-06-30"),
        ]),
        query(&[("person", &person)]),
        query(&[("person", &name)]),
        query(&[("topic", "nuclear")]),
        query(&[("topic", "trade"), ("topic", "energy")]),
        query(&[("from", "2019-01-01"), ("to", "2019-06-30")]),
        query(&[
            ("from", "1975-01-01"),
            ("to", "1975-12-31"),
            ("sort", "date"),
        ]),
        query(&[("kind", "summit")]),
        query(&[("q", "desalination")]),
        query(&[("q", "lithium"), ("sort", "-date")]),
        query(&[("q", "desalination"), ("country", "USA")]),
    ] {
        explainer.check(m, &case, meetings).await;
    }
    let s = "/v1/statements";
    for case in [
        query(&[]),
        query(&[("q", "desalination")]),
        query(&[("q", "solidaridad")]),
        query(&[("speaker", &person)]),
        query(&[("speaker", &last_name)]),
        query(&[("q", "cooperation"), ("speaker", &person)]),
    ] {
        explainer.check(s, &case, statements).await;
    }
    let a = "/v1/agreements";
    for case in [
        query(&[]),
        query(&[("status", "proposed")]),
        query(&[("status", "in_force"), ("due_before", "2000-01-01")]),
        query(&[("due_before", "1990-01-01")]),
        query(&[("party", &parties[0]), ("party", &parties[1])]),
        query(&[("party", "USA")]),
        query(&[("q", "fisheries")]),
    ] {
        explainer.check(a, &case, agreements).await;
    }
    assert!(
        explainer.failures.is_empty(),
        "{} query shapes scan a big table:\n\n{}",
        explainer.failures.len(),
        explainer.failures.join("\n\n")
    );
}

/// The generator loads with the triggers off and fills the tables they keep at the end:
/// those must hold exactly what the triggers would have written, and the triggers must
/// be on again.
async fn derived_tables_match_what_they_derive_from(app: &TestApp) {
    assert_eq!(common::derived_drift(&app.db).await, (0, 0, 0));
    let triggers_off: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(triggers_off, 0);
}
