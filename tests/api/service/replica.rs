//! A real streaming replica: reads are served from it, writes land on the primary, a
//! client reads its own write with the consistency token, and reads fall back to the
//! primary when the replica is down.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::Duration;

use axum::http::Method;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Executor, PgPool};

use crate::common::cluster::Cluster;
use crate::common::{eventually, free_port, send_to as send};
use chancery::domain::vocabulary::Scope;
use chancery::store::db;
use chancery::store::keys;
use chancery::{AppState, Settings};

/// A primary and its streaming replica, each a server of the test's own.
struct Clusters {
    primary: Cluster,
    replica: Cluster,
}

impl Clusters {
    fn start() -> Clusters {
        let primary = Cluster::init("replica-primary");
        primary.start("-c wal_level=replica");
        let replica = Cluster::replica_of(&primary, "replica-standby");
        replica.start("-c hot_standby=on");
        Clusters { primary, replica }
    }
}

/// A `chancery serve` process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 GET; the whole answer, or `None` while nothing listens.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

async fn scalar<T>(pool: &PgPool, sql: &'static str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn stored_on(pool: &PgPool, id: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM meetings WHERE id = $1::uuid)")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn reads_come_from_the_replica_writes_go_to_the_primary() {
    let clusters = Clusters::start();
    let primary_admin = PgConnectOptions::from_str(&clusters.primary.url("postgres")).unwrap();
    primary_admin
        .connect()
        .await
        .unwrap()
        .execute("CREATE DATABASE chancery")
        .await
        .unwrap();
    let primary_options = PgConnectOptions::from_str(&clusters.primary.url("chancery")).unwrap();
    let primary = db::connect(&primary_options, 4, db::SLOW_STATEMENT)
        .await
        .unwrap();
    db::migrate(&primary).await.unwrap();
    let key = keys::create_key(&primary, "replica test", Scope::Write)
        .await
        .unwrap()
        .token;
    let auth = format!("Bearer {key}");
    let replica = db::connect_replica(
        &clusters.replica.url("chancery"),
        4,
        db::SLOW_STATEMENT,
        chancery::DEFAULT_REQUEST_TIMEOUT,
    )
    .unwrap();

    // The replica is a hot standby that has replayed the migrations and the key.
    let synced: String = scalar(&primary, "SELECT pg_current_wal_lsn()::text").await;
    eventually("the replica replays the schema", async || {
        sqlx::query_scalar::<_, bool>("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
            .bind(&synced)
            .fetch_one(&replica)
            .await
            .unwrap_or(false)
    })
    .await;
    assert!(scalar::<bool>(&replica, "SELECT pg_is_in_recovery()").await);
    assert!(!scalar::<bool>(&primary, "SELECT pg_is_in_recovery()").await);

    // The cache is off here: answers it keeps are rendered on the primary (below).
    let uncached = Settings {
        cache_bytes: 0,
        ..Settings::default()
    };
    let app = chancery::app(AppState::new(primary.clone(), uncached).with_replica(replica.clone()));
    let ready = send(&app, Method::GET, "/ready", &[], None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json["primary"], "ready");
    assert_eq!(ready.json["replica"], "ready");

    // With replay paused the replica falls behind: a write reaches the primary only.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica)
        .await
        .unwrap();
    eventually("replay pauses", async || {
        scalar::<String>(&replica, "SELECT pg_get_wal_replay_pause_state()").await == "paused"
    })
    .await;
    let doc = json!({"title": "Talks in Vienna", "date": "2024-05-02", "host_country": "AT"});
    let created = send(
        &app,
        Method::POST,
        "/v1/meetings",
        &[("authorization", &auth)],
        Some(&doc),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let token = created.headers["chancery-consistency"]
        .to_str()
        .unwrap()
        .to_owned();
    let (high, low) = token
        .split_once('/')
        .expect("a WAL position like 0/1A2B3C4D");
    assert!(u32::from_str_radix(high, 16).is_ok() && u32::from_str_radix(low, 16).is_ok());
    assert!(
        stored_on(&primary, &id).await,
        "the write landed on the primary"
    );
    assert!(
        !stored_on(&replica, &id).await,
        "the paused replica has not replayed it"
    );

    // A plain read is served by the replica, which has not seen the meeting yet...
    let uri = format!("/v1/meetings/{id}");
    let plain = send(&app, Method::GET, &uri, &[], None).await;
    assert_eq!(plain.status, 404, "{}", plain.text);
    let listed = send(&app, Method::GET, "/v1/meetings", &[], None).await;
    assert_eq!(listed.json["items"], json!([]), "{}", listed.text);
    // ...while the writer, sending its token back, reads its own write from the primary.
    let own = send(
        &app,
        Method::GET,
        &uri,
        &[("chancery-consistency", &token)],
        None,
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json["title"], "Talks in Vienna");
    let listed = send(
        &app,
        Method::GET,
        "/v1/meetings",
        &[("chancery-consistency", &token)],
        None,
    )
    .await;
    assert_eq!(
        listed.json["items"][0]["id"],
        id.as_str(),
        "{}",
        listed.text
    );

    // With the cache on, what it keeps is rendered on the primary, so a plain read
    // sees the write although the replica has not replayed it.
    let state = AppState::new(primary.clone(), Settings::default()).with_replica(replica.clone());
    let cache = state.cache.clone().expect("the cache is on by default");
    let cached = chancery::app(state);
    eventually("the cache listens", async || cache.is_listening()).await;
    let plain = send(&cached, Method::GET, &uri, &[], None).await;
    assert_eq!(plain.status, 200, "{}", plain.text);
    drop(cached);

    // A token that is not one is refused, naming the header.
    for bad in ["yesterday", "0/XYZ", "1/2/3"] {
        let refused = send(
            &app,
            Method::GET,
            &uri,
            &[("chancery-consistency", bad)],
            None,
        )
        .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
        assert_eq!(refused.headers["content-type"], "application/problem+json");
        assert!(
            refused.json["detail"]
                .as_str()
                .unwrap()
                .contains("Chancery-Consistency"),
            "{}",
            refused.text
        );
    }

    // Once replay resumes, the replica catches up and plain reads see the meeting.
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&replica)
        .await
        .unwrap();
    eventually("the replica serves the new meeting", async || {
        send(&app, Method::GET, &uri, &[], None).await.status == 200
    })
    .await;

    // A token is honoured by position: with replay paused again, the replica answers
    // for the old token (it has replayed that far) and the primary for the new one.
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&replica)
        .await
        .unwrap();
    eventually("replay pauses again", async || {
        scalar::<String>(&replica, "SELECT pg_get_wal_replay_pause_state()").await == "paused"
    })
    .await;
    let patched = send(
        &app,
        Method::PATCH,
        &uri,
        &[("authorization", &auth)],
        Some(&json!({"title": "Talks in Vienna, second day"})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let newer = patched.headers["chancery-consistency"]
        .to_str()
        .unwrap()
        .to_owned();
    let old_view = send(
        &app,
        Method::GET,
        &uri,
        &[("chancery-consistency", &token)],
        None,
    )
    .await;
    assert_eq!(
        old_view.json["title"], "Talks in Vienna",
        "served by the replica"
    );
    let new_view = send(
        &app,
        Method::GET,
        &uri,
        &[("chancery-consistency", &newer)],
        None,
    )
    .await;
    assert_eq!(
        new_view.json["title"], "Talks in Vienna, second day",
        "served by the primary"
    );

    // Both pools show in the metrics.
    let metrics = send(&app, Method::GET, "/metrics", &[], None).await;
    for series in [
        r#"db_pool_connections{pool="primary",state="idle"}"#,
        r#"db_pool_connections{pool="replica",state="idle"}"#,
        r#"db_pool_max_connections{pool="replica"} 4"#,
    ] {
        assert!(
            metrics.text.contains(series),
            "{series} in {}",
            metrics.text
        );
    }

    // The binary takes the replica from DATABASE_READ_URL.
    let port = free_port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_chancery"))
            .arg("serve")
            .env("DATABASE_URL", clusters.primary.url("chancery"))
            .env("DATABASE_READ_URL", clusters.replica.url("chancery"))
            .env("CHANCERY_LISTEN", format!("127.0.0.1:{port}"))
            .env("CHANCERY_SEED", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually("the binary answers /ready", async || {
        http_get(port, "/ready").is_some_and(|answer| answer.starts_with("HTTP/1.1 200"))
    })
    .await;
    let ready = http_get(port, "/ready").unwrap();
    assert!(ready.contains(r#""replica":"ready""#), "{ready}");
    let metrics = http_get(port, "/metrics").unwrap();
    assert!(
        metrics.contains(r#"db_pool_max_connections{pool="replica"}"#),
        "{metrics}"
    );
    drop(server);

    // With the replica gone, reads fall back to the primary instead of failing.
    clusters.replica.stop("immediate");
    let fallback = send(&app, Method::GET, &uri, &[], None).await;
    assert_eq!(fallback.status, 200, "{}", fallback.text);
    assert_eq!(fallback.json["title"], "Talks in Vienna, second day");
    let listed = send(&app, Method::GET, "/v1/meetings", &[], None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let ready = send(&app, Method::GET, "/ready", &[], None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert_eq!(ready.json["replica"], "unavailable");

    primary.close().await;
    replica.close().await;
}
