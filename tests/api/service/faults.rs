//! PostgreSQL stops under a steady stream of writes and comes back. The real binary
//! answers every write quickly: 201 while the database is up, 503 problem+json with
//! `Retry-After` while it is down. It recovers without a restart, and afterwards the
//! database holds exactly the writes it acknowledged, with each refused write, retried
//! under its idempotency key, there exactly once.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::common::cluster::Cluster;
use crate::common::free_port;

/// No request may take longer than this, outage or not: a connection is waited for
/// for three seconds at most, and a request makes at most two waits.
const ANSWER_WITHIN: Duration = Duration::from_secs(7);
/// `/ready` says "not ready" sooner than any request gives up.
const READY_WITHIN: Duration = Duration::from_millis(3500);
/// Concurrent writers.
const WRITERS: usize = 3;

/// A `chancery serve` process; killed when dropped, its log shown if the test failed.
struct Service {
    child: Child,
    log: PathBuf,
    base: String,
}

impl Service {
    fn start(database_url: &str, log: PathBuf) -> Service {
        let port = free_port();
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_chancery"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CHANCERY_LISTEN", format!("127.0.0.1:{port}"))
            .env("CHANCERY_SEED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Service {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking()
            && let Ok(log) = std::fs::read_to_string(&self.log)
        {
            eprintln!("--- chancery log ---\n{log}");
        }
    }
}

/// Creates a write key with the CLI, which also creates and migrates the database.
fn create_write_key(database_url: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_chancery"))
        .args(["keys", "create", "--scope", "write", "--name", "faults"])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout.lines().last().unwrap().trim().to_owned()
}

/// One write as the client saw it.
#[derive(Debug)]
struct Write {
    title: String,
    sent: Instant,
    took: Duration,
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: serde_json::Value,
    text: String,
}

/// Writes meetings with unique titles, one after another, until told to stop.
async fn writer(
    client: reqwest::Client,
    base: String,
    key: String,
    number: usize,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Write>>>,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let title = format!("Fault test meeting {number}-{n}");
        let document = serde_json::json!({"title": title, "date": "2024-01-01"});
        let sent = Instant::now();
        let response = client
            .post(format!("{base}/v1/meetings"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .header("idempotency-key", &title)
            .body(document.to_string())
            .send()
            .await
            .unwrap_or_else(|error| panic!("`{title}` got no answer: {error}"));
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after");
        let text = response.text().await.unwrap();
        let took = sent.elapsed();
        log.lock().await.push(Write {
            title,
            sent,
            took,
            status,
            content_type,
            retry_after,
            body: serde_json::from_str(&text).unwrap_or_default(),
            text,
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `count` writes sent after `since` were answered `status`.
async fn wait_for(log: &Mutex<Vec<Write>>, since: Instant, status: u16, count: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = log
            .lock()
            .await
            .iter()
            .filter(|w| w.sent >= since && w.status == status)
            .count();
        if seen >= count {
            return;
        }
        assert!(Instant::now() < deadline, "waited 30 s for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Asks `/ready`, returning its status, body and how long it took.
async fn ready(client: &reqwest::Client, base: &str) -> (u16, String, Duration) {
    let asked = Instant::now();
    let response = client.get(format!("{base}/ready")).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    (status, format!("{content_type} {text}"), asked.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_survive_the_database_stopping_and_starting_again() {
    let cluster = Cluster::init("faults");
    cluster.start("");
    let database_url = cluster.url("chancery");
    let key = create_write_key(&database_url);
    let service = Service::start(&database_url, cluster.dir.join("chancery.log"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let started = Instant::now();
    loop {
        if let Ok(response) = client.get(format!("{}/ready", service.base)).send().await
            && response.status() == 200
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "service ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|number| {
            tokio::spawn(writer(
                client.clone(),
                service.base.clone(),
                key.clone(),
                number,
                stop.clone(),
                log.clone(),
            ))
        })
        .collect();

    // Up: writes succeed.
    wait_for(&log, started, 201, 20, "writes before the outage").await;

    // Down: writes and readiness fail fast with 503.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop("fast");
        cluster
    })
    .await
    .unwrap();
    let down = Instant::now();
    wait_for(&log, down, 503, 2 * WRITERS, "503s during the outage").await;
    let (status, body, took) = ready(&client, &service.base).await;
    assert_eq!(status, 503, "/ready while the database is down: {body}");
    assert!(body.starts_with("application/problem+json"), "{body}");
    assert!(took < READY_WITHIN, "/ready took {took:?} to say not ready");

    // Back: the same process recovers by itself.
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.start("");
        cluster
    })
    .await
    .unwrap();
    let up = Instant::now();
    wait_for(&log, up, 201, 20, "writes after the database returned").await;
    let (status, body, _) = ready(&client, &service.base).await;
    assert_eq!(status, 200, "/ready once the database is back: {body}");

    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }

    let writes = std::mem::take(&mut *log.lock().await);
    let mut acknowledged = BTreeSet::new();
    for write in &writes {
        assert!(
            write.took < ANSWER_WITHIN,
            "`{}` was answered {} after {:?}",
            write.title,
            write.status,
            write.took
        );
        match write.status {
            201 => {
                assert_eq!(write.body["title"], write.title.as_str(), "{}", write.text);
                let id = write.body["id"].as_str().unwrap().to_owned();
                acknowledged.insert((id, write.title.clone()));
            }
            503 => {
                assert_eq!(write.content_type, "application/problem+json");
                assert_eq!(write.body["status"], 503, "{}", write.text);
                assert!(write.retry_after.is_some(), "503 without Retry-After");
                let detail = write.body["detail"].as_str().unwrap();
                assert!(detail.contains("database is unavailable"), "{detail}");
                for internal in ["sqlx", "refused", "57P0", "terminating", "pool", "Io("] {
                    assert!(!write.text.contains(internal), "{}", write.text);
                }
            }
            other => panic!("`{}` was answered {other}: {}", write.title, write.text),
        }
    }
    let during = writes
        .iter()
        .filter(|w| w.sent >= down && w.sent < up)
        .count();
    assert!(
        during >= 2 * WRITERS,
        "only {during} writes during the outage"
    );

    // A client retries what was answered 503, under the same idempotency key: each
    // is written now, or, had it been committed just before its answer was lost,
    // answered again from what was stored. Either way exactly once.
    for write in writes.iter().filter(|w| w.status == 503) {
        let document = serde_json::json!({"title": write.title, "date": "2024-01-01"});
        let retried = client
            .post(format!("{}/v1/meetings", service.base))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .header("idempotency-key", &write.title)
            .body(document.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(retried.status().as_u16(), 201, "retrying `{}`", write.title);
        let body: serde_json::Value = serde_json::from_str(&retried.text().await.unwrap()).unwrap();
        acknowledged.insert((body["id"].as_str().unwrap().to_owned(), write.title.clone()));
    }

    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    let stored: BTreeSet<(String, String)> =
        sqlx::query_as::<_, (String, String)>("SELECT id::text, title FROM meetings")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    pool.close().await;
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    let unacknowledged: Vec<_> = stored.difference(&acknowledged).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert!(
        unacknowledged.is_empty(),
        "stored but never acknowledged: {unacknowledged:?}"
    );
    eprintln!(
        "{} writes: {} answered 201, {} answered 503 while the database was down and 201 when retried; all stored once; slowest answer {:?}",
        writes.len(),
        writes.iter().filter(|w| w.status == 201).count(),
        writes.iter().filter(|w| w.status == 503).count(),
        writes.iter().map(|w| w.took).max().unwrap_or_default()
    );
    drop(service);
    drop(cluster);
}
