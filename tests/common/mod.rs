//! The test harness: every test gets its own fresh, migrated database (cloned from a
//! template, so it takes milliseconds) and talks to the real router.

pub mod cluster;
pub mod served;
pub mod sse;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgPool};
use tokio::sync::OnceCell;
use tower::ServiceExt;

use chancery::domain::vocabulary::Scope;
use chancery::store::db;
use chancery::store::keys;
use chancery::{AppState, Settings};

/// The server every test database lives on, and the migrated template they copy.
struct Server {
    admin: PgConnectOptions,
    template: String,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();

/// The test server: `DATABASE_URL`, else the local server, else a private cluster.
async fn locate() -> PgConnectOptions {
    let url = std::env::var("DATABASE_URL").ok();
    let data_dir = std::env::var_os("CHANCERY_DATA_DIR").map(std::path::PathBuf::from);
    chancery_cluster::locate(url.as_deref(), data_dir.as_deref())
        .await
        .expect("a PostgreSQL server for the tests")
}

async fn server() -> &'static Server {
    SERVER
        .get_or_init(|| async {
            let options = locate().await;
            let admin = options.database("postgres");
            let template = prepare_template(&admin).await;
            Server { admin, template }
        })
        .await
}

/// Creates the template database for the current migrations once, across every test
/// process; an advisory lock keeps test processes running at once (two `cargo test` runs,
/// or a test that reruns itself alone) from racing.
async fn prepare_template(admin: &PgConnectOptions) -> String {
    let mut hash = Sha256::new();
    for migration in db::MIGRATOR.iter() {
        hash.update(&migration.checksum[..]);
    }
    let digest = hash.finalize();
    let suffix: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let template = format!("chancery_template_{suffix}");
    let mut conn = admin
        .connect()
        .await
        .expect("connecting to the test server");
    conn.execute("SELECT pg_advisory_lock(7262010)")
        .await
        .unwrap();
    let ready: Option<String> = sqlx::query_scalar(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
    )
    .bind(&template)
    .fetch_optional(&mut conn)
    .await
    .unwrap()
    .flatten();
    if ready.as_deref() != Some("ready") {
        conn.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {template} WITH (FORCE)"
        )))
        .await
        .unwrap();
        conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {template}")))
            .await
            .unwrap();
        let pool = PgPool::connect_with(admin.clone().database(&template))
            .await
            .unwrap();
        db::migrate(&pool).await.unwrap();
        pool.close().await;
        conn.execute(sqlx::AssertSqlSafe(format!(
            "COMMENT ON DATABASE {template} IS 'ready'"
        )))
        .await
        .unwrap();
    }
    conn.execute("SELECT pg_advisory_unlock(7262010)")
        .await
        .unwrap();
    conn.close().await.unwrap();
    template
}

/// One test's application, database and keys.
pub struct TestApp {
    pub router: Router,
    pub db: PgPool,
    pub write_key: String,
    pub read_key: String,
    pub admin_key: String,
    database: String,
    admin: PgConnectOptions,
}

/// A response, with its body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl TestResponse {
    /// Asserts a problem+json answer with this status, and returns its body.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.headers
                .get(header::CONTENT_TYPE)
                .map(|v| v.to_str().unwrap()),
            Some("application/problem+json"),
            "not problem+json: {}",
            self.text
        );
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert!(self.json["title"].is_string(), "{}", self.text);
        assert!(self.json["detail"].is_string(), "{}", self.text);
        assert!(self.json["request_id"].is_string(), "{}", self.text);
        &self.json
    }

    /// The field names in a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        &self.json
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        let server = server().await;
        let database = format!("chancery_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = server.admin.connect().await.unwrap();
        // Copying a template fails while anything else is connected to it; retry briefly.
        let mut attempts = 0;
        loop {
            let created = conn
                .execute(sqlx::AssertSqlSafe(format!(
                    "CREATE DATABASE {database} TEMPLATE {}",
                    server.template
                )))
                .await;
            match created {
                Ok(_) => break,
                Err(error) if attempts < 50 => {
                    attempts += 1;
                    let _ = error;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(error) => panic!("creating {database}: {error}"),
            }
        }
        conn.close().await.unwrap();
        let options = server.admin.clone().database(&database);
        let db = db::connect(&options, 8, db::SLOW_STATEMENT).await.unwrap();
        let write_key = keys::create_key(&db, "test writer", Scope::Write)
            .await
            .unwrap()
            .token;
        let read_key = keys::create_key(&db, "test reader", Scope::Read)
            .await
            .unwrap()
            .token;
        let admin_key = keys::create_key(&db, "test admin", Scope::Admin)
            .await
            .unwrap()
            .token;
        let state = AppState::new(db.clone(), settings);
        TestApp {
            router: chancery::app(state),
            db,
            write_key,
            read_key,
            admin_key,
            database,
            admin: server.admin.clone(),
        }
    }

    /// Sends a request with a raw body and any headers.
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.respond(request.body(Body::from(body)).unwrap()).await
    }

    /// Sends a request as if from the client address `peer`, as a real server would
    /// see it on the socket.
    pub async fn send_from(
        &self,
        peer: std::net::SocketAddr,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .extension(axum::extract::ConnectInfo(peer));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.respond(request.body(Body::empty()).unwrap()).await
    }

    async fn respond(&self, request: Request<Body>) -> TestResponse {
        respond(&self.router, request).await
    }

    /// Follows `next_cursor` to the end, returning every item's id in order.
    pub async fn walk(&self, uri: &str, limit: usize) -> Vec<String> {
        let separator = if uri.contains('?') { '&' } else { '?' };
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_uri = match &cursor {
                Some(cursor) => format!("{uri}{separator}limit={limit}&cursor={cursor}"),
                None => format!("{uri}{separator}limit={limit}"),
            };
            let page = self.get(&page_uri).await;
            let body = page.ok(200);
            let items = body["items"].as_array().unwrap();
            assert!(items.len() <= limit);
            ids.extend(
                items
                    .iter()
                    .map(|item| item["id"].as_str().unwrap().to_owned()),
            );
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        ids
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Method::GET, uri, &[], Vec::new()).await
    }

    /// Sends JSON with the write key.
    pub async fn write(&self, method: Method, uri: &str, body: &Value) -> TestResponse {
        self.write_raw(method, uri, &body.to_string()).await
    }

    /// Sends a JSON body exactly as written (duplicate keys and all) with the write key.
    pub async fn write_raw(&self, method: Method, uri: &str, body: &str) -> TestResponse {
        let auth = format!("Bearer {}", self.write_key);
        let content_type = if method == Method::PATCH {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        self.send(
            method,
            uri,
            &[("authorization", &auth), ("content-type", content_type)],
            body.as_bytes().to_vec(),
        )
        .await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> TestResponse {
        self.write(Method::POST, uri, body).await
    }

    /// Creates a meeting document, asserting a 201, and returns what was stored.
    pub async fn create_meeting(&self, doc: &Value) -> Value {
        self.post("/v1/meetings", doc).await.ok(201).clone()
    }

    pub async fn patch(&self, uri: &str, body: &Value) -> TestResponse {
        self.write(Method::PATCH, uri, body).await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        let auth = format!("Bearer {}", self.write_key);
        self.send(Method::DELETE, uri, &[("authorization", &auth)], Vec::new())
            .await
    }

    /// Counts rows of a table, to show a failed write left nothing behind.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// Every table's row count, for before/after comparisons.
    pub async fn snapshot(&self) -> Vec<(String, i64)> {
        let mut counts = Vec::new();
        for table in [
            "meetings",
            "people",
            "participants",
            "statements",
            "agreements",
            "sources",
            "meeting_identifiers",
            "agreement_events",
            "agreement_links",
        ] {
            counts.push((table.to_owned(), self.count(table).await));
        }
        counts
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let database = self.database.clone();
        // Drop runs outside async context; a short-lived runtime on its own thread
        // removes this test's database.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(mut conn) = admin.connect().await {
                    let _ = conn
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {database} WITH (FORCE)"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

/// What `router` answers to `request`, read whole.
pub async fn respond(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    TestResponse {
        status,
        headers,
        text,
        json,
    }
}

/// Sends a request, with a JSON body when there is one, to any router: for tests that
/// run more than one application.
pub async fn send_to(
    router: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> TestResponse {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    respond(router, request.body(body).unwrap()).await
}

/// Waits up to 30 s for `check` to hold, naming `what` if it never does.
pub async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = std::time::Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "timed out waiting: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Asserts that the counts kept as meetings are written (`GET /v1/stats/meetings`
/// with no filter) answer what counting the meetings answers (a filter that keeps
/// them all), for each grouping; `when` names the moment in a failure.
pub async fn assert_kept_counts_agree(app: &TestApp, groupings: &[&str], when: &str) {
    for grouping in groupings {
        let kept = app
            .get(&format!("/v1/stats/meetings?group_by={grouping}"))
            .await;
        let counted = app
            .get(&format!(
                "/v1/stats/meetings?group_by={grouping}&from=0001-01-01"
            ))
            .await;
        assert_eq!(kept.ok(200), counted.ok(200), "{grouping} {when}");
    }
}

/// A free port on the loopback interface, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// For a test that asserts what is process-wide: runs the test `test` of `module` (its
/// `module_path!()`) again, alone, in a process of its own. True in that process, where
/// the test's body runs; false in the one that started it, once the test passed there.
pub fn alone_in_a_process(module: &str, test: &str) -> bool {
    const ALONE: &str = "CHANCERY_TEST_ALONE";
    // `module_path!()` starts with the binary's name, which the names of tests do not.
    let module = module.split_once("::").map_or("", |(_, rest)| rest);
    let name = format!("{module}::{test}");
    if std::env::var(ALONE).is_ok_and(|alone| alone == name) {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", &name, "--test-threads=1", "--nocapture"])
        .env(ALONE, &name)
        .output()
        .expect("running the test binary again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(" 1 passed;"),
        "{name}, alone in a process of its own:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}

/// Whether the tests run as root, in which case PostgreSQL's programs must run as
/// the `postgres` user: the server refuses to run as root.
pub fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A fresh, empty database (not migrated) on the test server, named after `prefix`,
/// for a real `chancery` process to set up; `drop_database` removes it.
pub async fn empty_database(prefix: &str) -> (PgConnectOptions, String) {
    let admin = locate().await.database("postgres");
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    let mut conn = admin.connect().await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    conn.close().await.unwrap();
    (admin, name)
}

pub async fn drop_database(admin: &PgConnectOptions, name: &str) {
    let mut conn = admin.connect().await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .await
    .unwrap();
}

/// The sample meeting document from the seed article.
pub fn seed_meeting() -> Value {
    serde_json::from_str(chancery::store::seed::SAMPLE_MEETING).unwrap()
}

/// A small valid meeting document.
pub fn meeting(title: &str, date: &str, countries: &[&str]) -> Value {
    let participants: Vec<Value> = countries
        .iter()
        .enumerate()
        .map(|(i, c)| serde_json::json!({"name": format!("Leader {i} of {c}"), "country": c, "role": "Head of State"}))
        .collect();
    serde_json::json!({"title": title, "date": date, "kind": "bilateral", "participants": participants})
}

/// How far the tables the triggers keep have drifted from what they are derived from:
/// (meetings whose stored participant summary differs from one computed afresh,
/// country pairs missing, country pairs that should not be there, offices held at
/// meetings that differ from those computed afresh, agreements whose meeting date,
/// status or status day, or whose rows of `agreement_parties`, differ from those
/// computed afresh from meetings and events). All zero when they are in step.
pub async fn derived_drift(db: &PgPool) -> (i64, i64, i64, i64, i64) {
    sqlx::query_as(
        "WITH pairs AS (
            SELECT x AS a, y AS b, m.date, m.id AS meeting_id
              FROM meetings m, unnest(m.countries) x, unnest(m.countries) y WHERE x <= y),
         offices AS (
            SELECT DISTINCT fold(r.title) AS office, c AS country, m.date, m.id AS meeting_id
              FROM meetings m
              JOIN participants p ON p.meeting_id = m.id
              JOIN roles r ON r.person_id = p.person_id AND r.held @> m.date,
                   unnest(array_prepend(''::text, m.countries)) c),
         agreed AS (
            SELECT a.id, a.meeting_id, m.date AS made_on, a.position, latest.status,
                   latest.occurred_on AS status_on, a.due_by, a.parties, a.kind
              FROM agreements a
              JOIN meetings m ON m.id = a.meeting_id
              CROSS JOIN LATERAL (SELECT e.status, e.occurred_on FROM agreement_events e
                                   WHERE e.agreement_id = a.id
                                   ORDER BY e.occurred_on DESC, e.seq DESC LIMIT 1) latest),
         parties AS (
            SELECT p AS party, g.made_on, g.position, g.id, g.meeting_id, g.kind, g.status, g.status_on,
                   g.due_by
              FROM agreed g, unnest(g.parties) p)
         SELECT
           (SELECT count(*) FROM meetings m
              LEFT JOIN meeting_participant_summaries s ON s.meeting_id = m.id
             WHERE coalesce(s.participants::text, '[]')
                   IS DISTINCT FROM participant_summary(m.id)::text),
           (SELECT count(*) FROM (SELECT * FROM pairs
                                  EXCEPT SELECT a, b, date, meeting_id FROM meeting_country_pairs) missing),
           (SELECT count(*) FROM (SELECT a, b, date, meeting_id FROM meeting_country_pairs
                                  EXCEPT SELECT * FROM pairs) stray),
           (SELECT count(*) FROM ((SELECT office, country, date, meeting_id FROM meeting_offices
                                   EXCEPT SELECT * FROM offices)
                                  UNION ALL
                                  (SELECT * FROM offices
                                   EXCEPT SELECT office, country, date, meeting_id FROM meeting_offices)) drift),
           (SELECT count(*) FROM agreements a JOIN agreed g ON g.id = a.id
             WHERE (a.meeting_date, a.status, a.status_on) IS DISTINCT FROM (g.made_on, g.status, g.status_on))
           + (SELECT count(*) FROM ((SELECT * FROM agreement_parties EXCEPT SELECT * FROM parties)
                                    UNION ALL
                                    (SELECT * FROM parties EXCEPT SELECT * FROM agreement_parties)) drift)",
    )
    .fetch_one(db)
    .await
    .unwrap()
}
