//! A careless or hostile client cannot take the service down: work stops when the
//! answer does, expensive reads have a cost bound per client and per instance, imports
//! run in bounded memory and stop cleanly on a broken, idle or drip-fed body, and the
//! lists of a document are capped. Against the real binary where it takes a process.

use std::time::{Duration, Instant};

use crate::common::TestApp;
use crate::common::served::{Served, exchange};
use serde_json::{Value, json};
use sqlx::{ConnectOptions, Executor, PgConnection};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The first page of meetings: its status and body.
async fn meetings(served: &Served) -> (u16, Value) {
    body(
        client()
            .get(served.url("/v1/meetings"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A connection of the test's own to the server's database, holding `lock` in an open
/// transaction until it is dropped: whatever needs the table waits on it.
async fn hold_lock(served: &Served, lock: &str) -> PgConnection {
    let mut conn = served.database_options().connect().await.unwrap();
    conn.execute("BEGIN").await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(lock.to_owned()))
        .await
        .unwrap();
    conn
}

/// Statements of the service still running in its database, other than `own`'s.
async fn service_statements(served: &Served, own: &mut PgConnection) -> Vec<String> {
    // Inside a transaction, pg_stat_activity keeps the snapshot it first took.
    own.execute("SELECT pg_stat_clear_snapshot()")
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT query FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active'",
    )
    .bind(&served.database)
    .fetch_all(own)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_request_past_its_timeout_stops_its_statement_in_postgres() {
    let served = Served::start(&[("CHANCERY_REQUEST_TIMEOUT", "2")], None).await;
    let key = served.create_key("write");
    // The insert will wait on this lock for as long as it is allowed to.
    let mut blocker = hold_lock(&served, "LOCK TABLE participants IN ACCESS EXCLUSIVE MODE").await;

    let started = Instant::now();
    let meeting = crate::common::meeting("Blocked talks", "2020-01-01", &["CUB", "RUS"]);
    let response = client()
        .post(served.url("/v1/meetings"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(meeting.to_string())
        .send()
        .await
        .unwrap();
    let (status, problem) = body(response).await;
    assert_eq!(status, 503, "{problem}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // The statement was cancelled with the answer: nothing of the service's is still
    // running (before, the insert waited on the lock for as long as it was held).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut running = service_statements(&served, &mut blocker).await;
    while !running.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        running = service_statements(&served, &mut blocker).await;
    }
    assert!(running.is_empty(), "still running: {running:?}");
    blocker.execute("ROLLBACK").await.unwrap();

    // Nothing half-written, and the pool serves the next request at once.
    let (status, page) = meetings(&served).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"], json!([]));
    served.stop().await;
}

#[tokio::test]
async fn expensive_reads_are_capped_per_client_and_per_instance_and_cheap_reads_go_on() {
    let served = Served::start(
        &[
            ("CHANCERY_REQUEST_TIMEOUT", "8"),
            ("CHANCERY_STATEMENT_TIMEOUT", "3"),
            ("CHANCERY_MAX_EXPENSIVE_REQUESTS", "2"),
            ("CHANCERY_MAX_EXPENSIVE_PER_CLIENT", "1"),
            ("CHANCERY_DB_POOL_SIZE", "4"),
            ("CHANCERY_RATE_LIMIT_PER_IP", "0"),
        ],
        None,
    )
    .await;
    let keys: Vec<String> = (0..3).map(|_| served.create_key("read")).collect();
    // Searches of statements wait on this lock; people do not.
    let mut blocker = hold_lock(&served, "LOCK TABLE statements IN ACCESS EXCLUSIVE MODE").await;
    let search = served.url("/v1/statements?q=international%20law");

    // Two clients each start one search, which waits on the lock.
    let mut waiting = Vec::new();
    for key in &keys[..2] {
        let request = client().get(&search).bearer_auth(key).send();
        waiting.push(tokio::spawn(request));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while service_statements(&served, &mut blocker).await.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the searches never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The first client's second search is refused at once, in our words.
    let again = client()
        .get(&search)
        .bearer_auth(&keys[0])
        .send()
        .await
        .unwrap();
    let retry_after = again.headers().get("retry-after").cloned();
    let (status, problem) = body(again).await;
    assert_eq!(status, 429, "{problem}");
    assert_eq!(retry_after.unwrap(), "1");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("searches, totals")
    );

    // A third client finds the instance's allowance taken.
    let third = client()
        .get(&search)
        .bearer_auth(&keys[2])
        .send()
        .await
        .unwrap();
    let (status, problem) = body(third).await;
    assert_eq!(status, 503, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("narrow"));

    // Cheap reads still find a connection.
    let started = Instant::now();
    let cheap = client()
        .get(served.url("/v1/meetings?country=CUB"))
        .bearer_auth(&keys[2])
        .send()
        .await
        .unwrap();
    assert_eq!(cheap.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));

    // The waiting searches are stopped at the statement timeout, saying what to narrow.
    for request in waiting {
        let (status, problem) = body(request.await.unwrap().unwrap()).await;
        assert_eq!(status, 503, "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("time limit") && detail.contains("include_total"),
            "{detail}"
        );
    }
    blocker.execute("ROLLBACK").await.unwrap();
    // Every place was given back.
    for key in &keys {
        let response = client().get(&search).bearer_auth(key).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    served.stop().await;
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn an_import_of_millions_of_lines_stops_at_its_cap_in_bounded_memory() {
    let served = Served::start(&[], None).await;
    let key = served.create_key("write");
    let before = peak_rss_kib(served.pid());
    // Two million lines of `{}`: 6 MB that each fail. It answered 90.9 MB of JSON and
    // held 1.5 GB before the cap.
    let body = "{}\n".repeat(2_000_000);
    let response = client()
        .post(served.url("/v1/import"))
        .bearer_auth(&key)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, report) = body_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(report["totals"]["lines"], 100_000);
    assert_eq!(report["totals"]["failed"], 100_000);
    assert_eq!(report["items"].as_array().unwrap().len(), 100_000);
    assert_eq!(report["stopped"]["line"], 100_001);
    assert!(
        report["stopped"]["reason"]
            .as_str()
            .unwrap()
            .contains("at most 100000 lines")
    );
    let grown = peak_rss_kib(served.pid()).saturating_sub(before);
    println!("peak RSS grew by {} MiB over the import", grown / 1024);
    assert!(grown < 150 * 1024, "peak RSS grew by {grown} KiB");
    served.stop().await;
}

async fn body_of(response: reqwest::Response) -> (u16, Value) {
    body(response).await
}

#[tokio::test]
async fn the_line_cap_is_a_setting_and_lines_before_it_are_kept() {
    let mut settings = chancery::Settings::default();
    settings.imports.max_lines = 2;
    let app = TestApp::spawn_with(settings).await;
    let lines: Vec<String> = (0..4)
        .map(|i| crate::common::meeting(&format!("Talks {i}"), "2020-01-01", &["FRA"]).to_string())
        .collect();
    let auth = format!("Bearer {}", app.write_key);
    let report = app
        .send(
            axum::http::Method::POST,
            "/v1/import",
            &[
                ("authorization", auth.as_str()),
                ("content-type", "application/x-ndjson"),
            ],
            lines.join("\n\n").into_bytes(),
        )
        .await;
    let report = report.ok(200);
    assert_eq!(report["totals"]["created"], 2);
    // Line 3 is blank; line 5 is the first one past the cap.
    assert_eq!(report["stopped"]["line"], 5);
    assert_eq!(app.count("meetings").await, 2);
}

#[tokio::test]
async fn a_body_that_breaks_mid_line_keeps_the_complete_lines_and_never_panics() {
    let served = Served::start(&[], None).await;
    let key = served.create_key("write");
    let line = crate::common::meeting("Whole line", "2020-01-01", &["CUB"]).to_string();
    let first = format!("{line}\n{{\"title\": \"half");
    let request = format!(
        "POST /v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{first}\r\nzz\r\n",
        first.len()
    );
    let answer = exchange(served.port, request.as_bytes(), Duration::from_secs(10));
    assert!(!answer.contains(" 500 "), "{answer}");
    assert!(!served.log().contains("panicked"), "{}", served.log());
    // The complete line was imported; the answer, if the client can still read it,
    // says where the import stopped.
    let (_, page) = meetings(&served).await;
    assert_eq!(page["items"][0]["title"], "Whole line", "{answer}");
    if answer.starts_with("HTTP/1.1 200") {
        assert!(answer.contains("\"stopped\":{\"line\":2"), "{answer}");
    }
    served.stop().await;
}

#[tokio::test]
async fn slow_imports_have_a_cap_of_their_own_and_a_drip_fed_body_is_cut_off() {
    let served = Served::start(
        &[
            ("CHANCERY_MAX_CONCURRENT_IMPORTS", "1"),
            ("CHANCERY_IMPORT_IDLE_TIMEOUT", "4"),
            ("CHANCERY_IMPORT_MIN_BYTES_PER_SECOND", "100"),
            ("CHANCERY_MAX_CONCURRENT_REQUESTS", "4"),
        ],
        None,
    )
    .await;
    let key = served.create_key("write");
    let line = crate::common::meeting("Drip talks", "2020-01-01", &["CUB"]).to_string() + "\n";
    let port = served.port;
    let head = format!(
        "POST /v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n"
    );
    let started = Instant::now();
    // One byte every 200 ms: never idle for long, far below 100 bytes a second.
    let slow = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.set_nonblocking(true).unwrap();
        let mut answer = Vec::new();
        for byte in line.bytes().cycle().take(200) {
            if stream.write_all(&[byte]).is_err() {
                break;
            }
            let mut buffer = [0_u8; 4096];
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => answer.extend_from_slice(&buffer[..read]),
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A second import finds the one place taken and is told so at once.
    let second = client()
        .post(served.url("/v1/import"))
        .bearer_auth(&key)
        .header("content-type", "application/x-ndjson")
        .body("{}\n")
        .send()
        .await
        .unwrap();
    let (status, problem) = body(second).await;
    assert_eq!(status, 503, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("imports are running")
    );
    // Everything else is served.
    for _ in 0..8 {
        assert_eq!(meetings(&served).await.0, 200);
    }

    // The drip-fed import is ended, saying why, within seconds rather than minutes.
    let answer = tokio::task::spawn_blocking(move || slow.join().unwrap())
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("slower than 100 bytes a second"),
        "{answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    served.stop().await;
}

#[tokio::test]
async fn an_idle_import_body_ends_the_import() {
    let served = Served::start(&[("CHANCERY_IMPORT_IDLE_TIMEOUT", "1")], None).await;
    let key = served.create_key("write");
    let line = crate::common::meeting("Idle talks", "2020-01-01", &["CUB"]).to_string();
    let request = format!(
        "POST /v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{line}\n"
    );
    let started = Instant::now();
    let answer = exchange(served.port, request.as_bytes(), Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("the body sent nothing for 1 s"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(8));
    let (_, page) = meetings(&served).await;
    assert_eq!(page["items"][0]["title"], "Idle talks");
    served.stop().await;
}

#[tokio::test]
async fn lists_past_their_caps_are_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let mut big = crate::common::meeting("Everyone", "2020-01-01", &[]);
    big["participants"] = (0..1_001)
        .map(|i| json!({"organization": format!("Delegation {i}")}))
        .collect();
    let problem = app.post("/v1/meetings", &big).await;
    assert_eq!(problem.error_fields(), ["participants"]);
    assert!(
        problem.problem(422)["detail"]
            .as_str()
            .unwrap()
            .contains("at most 1000")
    );
    // At the cap, the document is written.
    big["participants"].as_array_mut().unwrap().pop();
    app.create_meeting(&big).await;

    // 45 random 60-character topics: PostgreSQL's index limit, in its own words, before.
    let mut topics = crate::common::meeting("Topical", "2020-01-01", &["CUB"]);
    topics["topics"] = (0..45)
        .map(|i| {
            let word: String = (0..60)
                .map(|j| char::from(b'a' + ((i * 7 + j * 13 + j * j) % 26) as u8))
                .collect();
            Value::String(word)
        })
        .collect();
    let response = app.post("/v1/meetings", &topics).await;
    assert_eq!(response.error_fields(), ["topics"]);
    let detail = response.problem(422)["detail"].as_str().unwrap().to_owned();
    assert!(
        !detail.contains("btree") && !detail.contains("index"),
        "{detail}"
    );

    let mut statement = crate::common::seed_meeting();
    statement["statements"][0]["topics"] = (0..21).map(|i| json!(format!("t{i}"))).collect();
    let response = app.post("/v1/meetings", &statement).await;
    assert_eq!(response.error_fields(), ["statements[0].topics"]);
}

#[tokio::test]
async fn database_errors_reach_clients_in_our_words_only() {
    let app = TestApp::spawn().await;
    // Twenty topics of 64 characters each stay under the index row limit, however
    // badly they compress: the cap is what keeps PostgreSQL's limit out of reach.
    let mut topics = crate::common::meeting("At the cap", "2020-01-01", &["CUB"]);
    topics["topics"] = (0..20)
        .map(|i| {
            let word: String = (0..64)
                .map(|j| char::from(b'a' + ((i * 31 + j * 17 + j * j * 3) % 26) as u8))
                .collect();
            Value::String(word)
        })
        .collect();
    let created = app.post("/v1/meetings", &topics).await;
    assert_eq!(created.status, 201, "{}", created.text);
}

#[tokio::test]
async fn a_body_that_goes_idle_right_at_the_line_cap_says_it_went_idle() {
    let served = Served::start(
        &[
            ("CHANCERY_IMPORT_IDLE_TIMEOUT", "1"),
            ("CHANCERY_IMPORT_MAX_LINES", "1"),
        ],
        None,
    )
    .await;
    let key = served.create_key("write");
    let line = crate::common::meeting("Last talks", "2020-01-01", &["CUB"]).to_string();
    let request = format!(
        "POST /v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{line}\n"
    );
    let answer = exchange(served.port, request.as_bytes(), Duration::from_secs(10));
    // No line 2 ever came: the import stopped because the body went idle, not at the cap.
    assert!(answer.contains("the body sent nothing for 1 s"), "{answer}");
    assert!(!answer.contains("at most 1 lines"), "{answer}");
    served.stop().await;
}
