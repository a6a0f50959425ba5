//! Plans, not hopes: over a corpus big enough for the planner to prefer indexes, every
//! list and search query the API issues — built by the handlers' own code — is
//! explained, and none may scan meetings, statements, agreements, the country pairs or
//! the other big tables sequentially.

use chancery::http::extract::parse_query;
use chancery::store::agreements::AgreementFilters;
use chancery::store::feed::{FeedFilters, Start};
use chancery::store::filters::MeetingFilters;
use chancery::store::roles::RoleFilters;
use chancery::store::statements::StatementFilters;
use chancery_corpus::{self as corpus, Plan};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};

use crate::common::TestApp;

const BIG_TABLES: [&str; 8] = [
    "changes",
    "agreement_parties",
    "agreement_events",
    "meetings",
    "statements",
    "agreements",
    "meeting_country_pairs",
    "roles",
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

fn changes(query: &str, sql: &mut QueryBuilder<Postgres>) {
    let filters: FeedFilters = parse_query(query).unwrap();
    let Start::After(after) = filters.start().unwrap() else {
        panic!("`after=now` reads no change");
    };
    filters.push_page(after, sql).unwrap();
}

fn roles(query: &str, sql: &mut QueryBuilder<Postgres>) {
    let filters: RoleFilters = parse_query(query).unwrap();
    filters.push_page(sql).unwrap();
}

/// Each representation has one source: the document embeds exactly what each item's
/// own `GET` answers, and a list item says what the document says of its meeting.
async fn representations_agree(app: &TestApp) {
    let page = app.get("/v1/meetings").await;
    let items = page.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 50);
    let (mut participants, mut statements, mut agreements) = (0, 0, 0);
    for item in &items {
        let id = item["id"].as_str().unwrap();
        let document = app.get(&format!("/v1/meetings/{id}")).await.ok(200).clone();
        for field in [
            "id",
            "title",
            "summary",
            "kind",
            "date",
            "end_date",
            "location",
            "host_country",
            "countries",
            "topics",
            "version",
        ] {
            assert_eq!(item[field], document[field], "{id}: {field}");
        }
        let names: Vec<&Value> = document["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["role"])
            .collect();
        let listed: Vec<&Value> = item["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["role"])
            .collect();
        assert_eq!(names, listed, "{id}: participants");
        for (list, path, count) in [
            ("participants", "participants", &mut participants),
            ("statements", "statements", &mut statements),
            ("agreements", "agreements", &mut agreements),
        ] {
            for embedded in document[list].as_array().unwrap() {
                let response = app
                    .get(&format!("/v1/{path}/{}", embedded["id"].as_str().unwrap()))
                    .await;
                assert_eq!(response.ok(200), embedded, "{id}: {list}");
                *count += 1;
            }
        }
    }
    assert!(participants > 50 && statements > 10 && agreements > 10);
    // The statements list: the statement as it is, with its meeting's stub.
    let page = app.get("/v1/statements").await;
    for item in page.ok(200)["items"].as_array().unwrap() {
        let mut item = item.clone();
        let stub = item.as_object_mut().unwrap().remove("meeting").unwrap();
        let response = app
            .get(&format!("/v1/statements/{}", item["id"].as_str().unwrap()))
            .await;
        let own = response.ok(200);
        assert_eq!(own, &item);
        assert_eq!(stub["id"], own["meeting_id"]);
    }
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
    representations_agree(&app).await;
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
        query(&[("role", "Secretary of State")]),
        query(&[("role", "foreign minister"), ("country", "USA")]),
        query(&[
            ("role", "President"),
            ("from", "2019-01-01"),
            ("to", "2019-06-30"),
            ("limit", "5"),
        ]),
    ] {
        explainer.check(m, &case, meetings).await;
    }
    // Polling for what changed: nothing yet (tomorrow), and everything (an hour ago).
    let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
    let hour_ago = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let case = query(&[("updated_after", &tomorrow)]);
    explainer
        .explain(&format!("{m}?{case}"), &case, meetings)
        .await;
    explainer
        .check(
            m,
            &query(&[("updated_after", &hour_ago), ("country", "USA")]),
            meetings,
        )
        .await;

    // The change feed over a history of six changes a meeting: from the start and on
    // from a cursor, whole, by meeting, by kind of record and by the meeting's filters.
    sqlx::query(
        "INSERT INTO changes (action, resource, resource_id, meeting_id, person_id, version)
         SELECT 'create', r.resource, m.id,
                CASE WHEN r.resource <> 'person' THEN m.id END,
                CASE WHEN r.resource = 'person' THEN m.id END,
                CASE WHEN r.resource <> 'person' THEN m.version END
           FROM meetings m
          CROSS JOIN (VALUES ('meeting'), ('participant'), ('participant'), ('statement'),
                             ('agreement'), ('person')) AS r(resource)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("ANALYZE changes")
        .execute(&app.db)
        .await
        .unwrap();
    let busy_meeting: String = sqlx::query_scalar(
        "SELECT meeting_id::text FROM changes WHERE meeting_id IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let c = "/v1/changes";
    for filters in [
        vec![],
        vec![("meeting_id", busy_meeting.as_str())],
        vec![("resource", "statement")],
        vec![("resource", "person")],
        vec![
            ("resource", "meeting"),
            ("meeting_id", busy_meeting.as_str()),
        ],
        vec![("country", "USA")],
        vec![("country", "USA"), ("topic", "trade")],
    ] {
        let mut pairs = filters;
        pairs.push(("limit", "2"));
        let case = query(&pairs);
        let page = app.get(&format!("{c}?{case}")).await;
        let next = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
        explainer
            .explain(&format!("{c}?{case}"), &case, changes)
            .await;
        pairs.push(("after", next.as_str()));
        let case = query(&pairs);
        explainer
            .explain(&format!("{c}?{case}"), &case, changes)
            .await;
    }

    let (role_holder, holder_name): (String, String) = sqlx::query_as(
        "SELECT pe.id::text, pe.name FROM people pe
          WHERE (SELECT count(*) FROM roles r WHERE r.person_id = pe.id) >= 2
          ORDER BY pe.id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let r = "/v1/roles";
    for case in [
        query(&[]),
        query(&[("on", "2019-06-01"), ("posted_to", &first), ("limit", "2")]),
        query(&[("on", "2019-06-01"), ("serves", "USA"), ("limit", "5")]),
        query(&[
            ("title", "Secretary of State"),
            ("on", "2015-01-01"),
            ("limit", "2"),
        ]),
        query(&[
            ("on", "2001-09-11"),
            ("kind", "head_of_state"),
            ("limit", "5"),
        ]),
        query(&[
            ("from", "2019-01-01"),
            ("to", "2019-01-31"),
            ("limit", "10"),
        ]),
        query(&[("person", &role_holder), ("limit", "1")]),
        query(&[("person", &holder_name), ("limit", "1")]),
        query(&[("organization", "United Nations"), ("limit", "2")]),
    ] {
        explainer.check(r, &case, roles).await;
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
        // Commitments: the overdue list today and as of a day, statuses as of a day.
        query(&[("overdue", "true")]),
        query(&[("overdue", "true"), ("as_of", "2015-01-01")]),
        query(&[("overdue", "true"), ("party", "USA")]),
        query(&[("as_of", "2010-06-30"), ("status", "fulfilled")]),
        query(&[
            ("party", &parties[0]),
            ("kind", "pledge"),
            ("kind", "plan"),
            ("as_of", "2020-01-01"),
        ]),
    ] {
        explainer.check(a, &case, agreements).await;
    }
    // A country's record on its pledges and plans, over all time and over a few years.
    for (country, from, to) in [
        (parties[0].as_str(), None, None),
        ("USA", None, None),
        ("USA", Some("2015-01-01"), Some("2019-12-31")),
    ] {
        let label = format!("/v1/countries/{country}/commitments?from={from:?}&to={to:?}");
        let mut sql = QueryBuilder::new("EXPLAIN (FORMAT JSON) ");
        sql.push(chancery::store::countries::COMMITMENTS);
        let from: Option<chrono::NaiveDate> = from.map(|d| d.parse().unwrap());
        let to: Option<chrono::NaiveDate> = to.map(|d| d.parse().unwrap());
        let today = chrono::Utc::now().date_naive();
        let plan: Value = sql
            .build_query_scalar()
            .bind(country)
            .bind(from)
            .bind(to)
            .bind(today)
            .fetch_one(&app.db)
            .await
            .unwrap_or_else(|error| panic!("{label}: {error}"));
        let mut found = Vec::new();
        seq_scans(&plan[0]["Plan"], &mut found);
        if !found.is_empty() {
            explainer.failures.push(format!(
                "{label}: sequential scan of {}\n{}",
                found.join(", "),
                serde_json::to_string_pretty(&plan).unwrap()
            ));
        }
        app.get(&format!("/v1/countries/{country}/commitments"))
            .await
            .ok(200);
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
    assert_eq!(crate::common::derived_drift(&app.db).await, (0, 0, 0, 0, 0));
    crate::common::assert_kept_counts_agree(
        app,
        &["year", "kind", "country", "topic"],
        "after the generator",
    )
    .await;
    let triggers_off: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(triggers_off, 0);
}

/// Every search reads a GIN index's whole pending list of entries not yet merged: each
/// GIN index keeps it to a few pages, or has none.
#[tokio::test]
async fn no_gin_index_lets_its_pending_list_grow() {
    let app = TestApp::spawn().await;
    let unbounded: Vec<String> = sqlx::query_scalar(
        "SELECT index.relname::text FROM pg_index i
           JOIN pg_class index ON index.oid = i.indexrelid
           JOIN pg_am am ON am.oid = index.relam
           JOIN pg_namespace ns ON ns.oid = index.relnamespace
          WHERE am.amname = 'gin' AND ns.nspname = current_schema()
            AND NOT coalesce(index.reloptions && ARRAY['gin_pending_list_limit=64', 'fastupdate=off'], false)
          ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(
        unbounded.is_empty(),
        "GIN indexes with a pending list of up to 4 MB: {unbounded:?}"
    );
}
