//! Hostile input: SQL injection text, huge values and invalid UTF-8 in every query
//! parameter of every list, and in paths, are answered with a 4xx problem+json, or a
//! 200 that finds nothing, never a 5xx; nothing stored changes. And a key's secret
//! never reaches the logs, even at debug level.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestApp, TestResponse, drop_database, empty_database, meeting};
use axum::http::Method;
use serde_json::{Value, json};
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

/// Every list and its parameters a request must carry anyway.
const LISTS: [(&str, &str); 8] = [
    ("/v1/meetings", ""),
    ("/v1/changes", ""),
    ("/v1/statements", ""),
    ("/v1/agreements", ""),
    ("/v1/people", ""),
    ("/v1/export", ""),
    ("/v1/stats/meetings", "group_by=year"),
    ("/v1/stats/agreements", "group_by=status"),
];

/// Text that would change a query's meaning if it were spliced into SQL.
const INJECTIONS: [&str; 10] = [
    "' OR '1'='1",
    "'; DROP TABLE meetings; --",
    "\") OR 1=1 --",
    "CUB' OR 'x'='x",
    "1' UNION SELECT secret_hash::text FROM api_keys --",
    "'; SELECT pg_sleep(10); --",
    "%' OR title ILIKE '%",
    "$1",
    "\\'; TRUNCATE people CASCADE; --",
    "00000000-0000-0000-0000-000000000000' OR '1'='1",
];

/// The query parameters the spec documents for a path's GET.
fn query_parameters(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let spec: Value = serde_norway::from_str(&text).unwrap();
    let resolve = |value: &Value| -> Value {
        match value["$ref"].as_str() {
            Some(reference) => spec.pointer(&reference[1..]).unwrap().clone(),
            None => value.clone(),
        }
    };
    let parameters = spec["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} has parameters in the spec"));
    let names: Vec<String> = parameters
        .iter()
        .map(resolve)
        .filter(|parameter| parameter["in"] == "query")
        .map(|parameter| parameter["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.len() >= 2, "{path}: {names:?}");
    names
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn with_query(path: &str, base: &str, extra: &str) -> String {
    match (base.is_empty(), extra.is_empty()) {
        (true, true) => path.to_owned(),
        (true, false) => format!("{path}?{extra}"),
        (false, true) => format!("{path}?{base}"),
        (false, false) => format!("{path}?{base}&{extra}"),
    }
}

/// Whether a successful answer found nothing: no items, no counts, no lines.
fn found_nothing(response: &TestResponse) -> bool {
    match response.json.get("items") {
        Some(items) => items.as_array().is_some_and(Vec::is_empty),
        None => response.text.trim().is_empty(),
    }
}

/// A hostile request must be refused with a 4xx problem, or answered 200 with
/// nothing found or exactly what the request without the hostile value finds.
#[track_caller]
fn assert_survived(uri: &str, response: &TestResponse, without: &TestResponse) {
    let status = response.status.as_u16();
    let shown: String = uri.chars().take(160).collect();
    match status {
        200 => assert!(
            found_nothing(response) || response.text == without.text,
            "{shown}: 200 found something: {}",
            response.text.chars().take(300).collect::<String>()
        ),
        400..=499 => {
            response.problem(status);
        }
        _ => panic!("{shown}: answered {status}: {}", response.text),
    }
}

/// Two meetings with a statement and an agreement each, so every list has
/// something to leak.
async fn seed(app: &TestApp) {
    for (title, date, countries, topic) in [
        ("Talks on energy", "2021-10-12", ["CU", "RU"], "energy"),
        ("Visit on trade", "2022-03-01", ["CU", "VN"], "trade"),
    ] {
        let mut doc = meeting(title, date, &countries);
        doc["topics"] = json!([topic]);
        doc["statements"] = json!([{
            "speaker_participant": 0,
            "text": format!("We welcome the {topic} cooperation."),
            "language": "en",
            "topics": [topic]
        }]);
        doc["agreements"] = json!([{
            "title": format!("Plan for {topic}"),
            "kind": "plan",
            "status": "agreed",
            "parties": countries,
            "topics": [topic],
            "due_by": "2030-01-01"
        }]);
        app.create_meeting(&doc).await;
    }
}

/// What is stored, to compare before and after: row counts, every meeting as
/// exported, and the keys.
async fn stored(app: &TestApp) -> (Vec<(String, i64)>, String, i64) {
    let export = app.get("/v1/export").await;
    export.ok(200);
    (
        app.snapshot().await,
        export.text,
        app.count("api_keys").await,
    )
}

#[tokio::test]
async fn list_parameters_survive_injection_huge_values_and_invalid_utf8() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let before = stored(&app).await;
    // As long as a URI can be (64 KB); longer ones are refused by the HTTP layer,
    // as `huge_uris_are_refused_before_any_handler` shows.
    let huge = "a".repeat(60 * 1024);
    let huge_quotes = "'OR".repeat(5 * 1024);
    let mut requests = 0;
    for (path, base) in LISTS {
        let without = app.get(&with_query(path, base, "")).await;
        without.ok(200);
        assert!(!found_nothing(&without), "{path} finds the seeded data");
        for name in query_parameters(path) {
            if base.starts_with(&format!("{name}=")) {
                continue;
            }
            let mut values: Vec<String> = INJECTIONS.iter().map(|v| encode(v)).collect();
            values.push(encode(&huge));
            values.push(encode(&huge_quotes));
            // Invalid UTF-8, alone and after valid text.
            values.push("%FF%FE".to_owned());
            values.push("CU%C3%28".to_owned());
            for value in values {
                let uri = with_query(path, base, &format!("{name}={value}"));
                let response = app.get(&uri).await;
                assert_survived(&uri, &response, &without);
                if value.starts_with("%FF") {
                    response.problem(400);
                }
                requests += 1;
            }
        }
    }
    assert!(requests > 500, "{requests} requests");
    assert_eq!(stored(&app).await, before, "nothing stored changed");
}

#[tokio::test]
async fn a_harmless_search_still_finds_what_it_should() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let found = app.get("/v1/meetings?q=energy").await;
    let items = found.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "{}", found.text);
    assert_eq!(items[0]["title"], "Talks on energy");
    // The same word with quotes and SQL around it is only words to the search.
    let quoted = app
        .get(&format!("/v1/meetings?q={}", encode("energy' --")))
        .await;
    assert_eq!(quoted.ok(200)["items"], json!(items));
}

#[tokio::test]
async fn hostile_paths_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let before = stored(&app).await;
    let id = app.get("/v1/meetings").await.json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hostile = [
        "%FF%FE".to_owned(),
        format!("{id}%FF"),
        encode("' OR '1'='1"),
        encode(&format!("{id}' OR '1'='1")),
        encode("1; DROP TABLE meetings; --"),
        "a".repeat(60 * 1024),
    ];
    let templates = [
        "/v1/meetings/{}",
        "/v1/meetings/{}/participants",
        "/v1/meetings/{}/statements",
        "/v1/meetings/{}/agreements",
        "/v1/participants/{}",
        "/v1/statements/{}",
        "/v1/agreements/{}",
        "/v1/people/{}",
        "/v1/agreements/{}/events",
        "/v1/countries/{}",
        "/v1/countries/{}/partners",
        "/v1/countries/{}/commitments",
    ];
    for template in templates {
        for segment in &hostile {
            let uri = template.replace("{}", segment);
            let shown: String = uri.chars().take(120).collect();
            let response = app.get(&uri).await;
            let status = response.status.as_u16();
            assert!((400..500).contains(&status), "GET {shown}: {status}");
            response.problem(status);
            if !template.starts_with("/v1/countries") {
                for method in [Method::PATCH, Method::DELETE] {
                    let response = app.write(method.clone(), &uri, &json!({})).await;
                    let status = response.status.as_u16();
                    assert!((400..500).contains(&status), "{method} {shown}: {status}");
                    response.problem(status);
                }
            }
        }
    }
    assert_eq!(stored(&app).await, before, "nothing stored changed");
}

/// Sends one HTTP/1.1 request over a plain socket (no client library builds a URI this
/// long) and returns the status code.
async fn raw_status(base: &str, target: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {answer}"))
}

#[tokio::test]
async fn huge_uris_are_refused_before_any_handler() {
    let (admin, database) = empty_database("chancery_security").await;
    let mut server = Server::start(&admin, &database, &[("RUST_LOG", "warn")]);
    server.wait_until_ready().await;
    let huge = "a".repeat(100 * 1024);
    for path in ["/v1/meetings?q=", "/v1/meetings/", "/v1/people?country="] {
        let status = raw_status(&server.base, &format!("{path}{huge}")).await;
        assert_eq!(status, 414, "{path}");
    }
    let status = raw_status(&server.base, "/v1/meetings?q=energy").await;
    assert_eq!(status, 200, "the service still serves");
    server.stop();
    drop_database(&admin, &database).await;
}

/// A `chancery serve` process with its standard output and error in a file; killed
/// when dropped, so a failing test leaves nothing running.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(admin: &PgConnectOptions, database: &str, env: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("{database}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let url = admin.clone().database(database).to_url_lossy().to_string();
        let child = Command::new(env!("CARGO_BIN_EXE_chancery"))
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("CHANCERY_LISTEN", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        while !client
            .get(format!("{}/ready", self.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            assert!(started.elapsed() < Duration::from_secs(60), "service ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the service with SIGTERM and returns everything it wrote.
    fn stop(&mut self) -> String {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

#[tokio::test]
async fn key_secrets_never_reach_the_logs() {
    let (admin, database) = empty_database("chancery_security").await;
    let url = admin.clone().database(&database);
    let mut server = Server::start(&admin, &database, &[("RUST_LOG", "debug")]);
    server.wait_until_ready().await;
    let base = server.base.clone();
    let client = reqwest::Client::new();

    let pool = sqlx::PgPool::connect_with(url).await.unwrap();
    let write = chancery::store::keys::create_key(
        &pool,
        "logs",
        chancery::domain::vocabulary::Scope::Write,
    )
    .await
    .unwrap()
    .token;
    let read =
        chancery::store::keys::create_key(&pool, "logs", chancery::domain::vocabulary::Scope::Read)
            .await
            .unwrap();
    let revoked = chancery::store::keys::create_key(
        &pool,
        "gone",
        chancery::domain::vocabulary::Scope::Write,
    )
    .await
    .unwrap();
    assert!(
        chancery::store::keys::revoke_key(&pool, revoked.id)
            .await
            .unwrap()
    );
    // `chy_<id>_<secret>`: the secret is base64url, which may itself hold `_`.
    let secret_of = |token: &str| token.splitn(3, '_').nth(2).unwrap().to_owned();
    // The right id with a wrong secret, and a token that is not a key at all.
    let wrong_secret = format!(
        "{}_{}",
        read.token.rsplit_once('_').unwrap().0,
        "x".repeat(43)
    );
    let mut secrets = vec![
        write.clone(),
        secret_of(&write),
        read.token.clone(),
        secret_of(&read.token),
        revoked.token.clone(),
        secret_of(&revoked.token),
        "not-a-key-but-secret-all-the-same".to_owned(),
    ];
    secrets.push(wrong_secret.clone());

    let document = json!({"title": "Logged meeting", "date": "2024-01-01"});
    let attempts: Vec<(Method, &str, Option<String>, u16)> = vec![
        (Method::POST, "/v1/meetings", Some(write.clone()), 201),
        (Method::GET, "/v1/meetings", Some(read.token.clone()), 200),
        (Method::POST, "/v1/meetings", Some(read.token.clone()), 403),
        (
            Method::POST,
            "/v1/meetings",
            Some(revoked.token.clone()),
            401,
        ),
        (Method::GET, "/v1/meetings", Some(wrong_secret.clone()), 401),
        (
            Method::GET,
            "/v1/people",
            Some("not-a-key-but-secret-all-the-same".to_owned()),
            401,
        ),
        (
            Method::DELETE,
            "/v1/meetings/00000000-0000-7000-8000-000000000000",
            Some(write.clone()),
            404,
        ),
    ];
    for (method, path, key, expected) in attempts {
        let mut request = client
            .request(method.clone(), format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(document.to_string());
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let status = request.send().await.unwrap().status().as_u16();
        assert_eq!(status, expected, "{method} {path}");
    }
    // A key pasted where it does not belong: in a header of the wrong scheme and in the query.
    let basic = client
        .get(format!("{base}/v1/meetings"))
        .header("authorization", format!("Basic {write}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 400);
    let in_query = client
        .get(format!("{base}/v1/meetings?key={write}"))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), 400);

    let log = server.stop();
    pool.close().await;
    drop_database(&admin, &database).await;
    assert!(
        log.contains("DEBUG") && log.lines().count() > 20,
        "debug logs were written: {log}"
    );
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "`{secret}` appears in the log:\n{}",
            log.lines()
                .filter(|line| line.contains(secret.as_str()))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test]
async fn json_logs_name_the_route_and_request_but_never_a_body() {
    let (admin, database) = empty_database("chancery_logs").await;
    let url = admin.clone().database(&database);
    // Every statement counts as slow here, so the log shows statements inside requests.
    let env = [
        ("RUST_LOG", "info"),
        ("CHANCERY_LOG_FORMAT", "json"),
        ("CHANCERY_SLOW_STATEMENT_MS", "0"),
    ];
    let mut server = Server::start(&admin, &database, &env);
    server.wait_until_ready().await;
    let pool = sqlx::PgPool::connect_with(url).await.unwrap();
    let key = chancery::store::keys::create_key(
        &pool,
        "logs",
        chancery::domain::vocabulary::Scope::Write,
    )
    .await
    .unwrap()
    .token;
    let client = reqwest::Client::new();
    let document = json!({
        "title": "Marker title 7f3a9c",
        "date": "2024-01-01",
        "participants": [{"name": "Marker Person 7f3a9c", "country": "CUB"}],
        "statements": [{"speaker_participant": 0, "kind": "quote", "text": "Marker quote 7f3a9c", "language": "en"}],
    });
    let created = client
        .post(format!("{}/v1/meetings", server.base))
        .bearer_auth(&key)
        .header("x-request-id", "logs-request-post")
        .header("content-type", "application/json")
        .body(document.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = serde_json::from_slice(&created.bytes().await.unwrap()).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let read = client
        .get(format!("{}/v1/meetings/{id}", server.base))
        .header("x-request-id", "logs-request-get")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);

    let log = server.stop();
    pool.close().await;
    drop_database(&admin, &database).await;
    let lines: Vec<Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    // A slow statement, logged inside its request's span: route template and request id.
    let within = |route: &str, request_id: &str| {
        lines.iter().any(|line| {
            line["level"] == "WARN"
                && line.to_string().contains("slow statement")
                && line["spans"].as_array().is_some_and(|spans| {
                    spans
                        .iter()
                        .any(|span| span["route"] == route && span["request_id"] == request_id)
                })
        })
    };
    assert!(within("/v1/meetings", "logs-request-post"), "{log}");
    assert!(within("/v1/meetings/{id}", "logs-request-get"), "{log}");
    // The route is the template, never the raw path; no value from the body is logged.
    assert!(!log.contains(&format!("/v1/meetings/{id}\"")), "{log}");
    assert!(!log.contains("7f3a9c"), "a body reached the log:\n{log}");
    assert!(!log.contains(key.as_str()));
}
