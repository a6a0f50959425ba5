//! The real binary: several instances on one empty database, and a graceful stop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{drop_database, empty_database, free_port};
use sqlx::{ConnectOptions, Connection};

fn serve(admin: &sqlx::postgres::PgConnectOptions, database: &str, port: u16) -> Child {
    let url = admin.clone().database(database).to_url_lossy().to_string();
    Command::new(env!("CARGO_BIN_EXE_chancery"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("CHANCERY_LISTEN", format!("127.0.0.1:{port}"))
        .env("CHANCERY_SEED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A plain HTTP/1.1 exchange; returns the status line and the whole answer.
fn http(port: u16, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

fn ready(port: u16) -> bool {
    http(
        port,
        "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .is_some_and(|answer| answer.starts_with("HTTP/1.1 200"))
}

fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[tokio::test]
async fn two_instances_started_together_migrate_once_and_both_serve() {
    let (admin, database) = empty_database("chancery_process").await;
    let ports = [free_port(), free_port()];
    let mut servers: Vec<Child> = ports
        .iter()
        .map(|port| serve(&admin, &database, *port))
        .collect();
    let both_ready = wait_until(Duration::from_secs(60), || {
        ports.iter().all(|port| ready(*port))
    });
    for server in &mut servers {
        let _ = server.kill();
        let _ = server.wait();
    }
    assert!(both_ready, "both instances answer /ready");
    let mut conn = admin.clone().database(&database).connect().await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        chancery::store::db::MIGRATOR.iter().count(),
        "each migration applied once"
    );
    conn.close().await.unwrap();
    drop_database(&admin, &database).await;
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    let (admin, database) = empty_database("chancery_process").await;
    let port = free_port();
    let mut server = serve(&admin, &database, port);
    assert!(wait_until(Duration::from_secs(60), || ready(port)));
    let url = admin.clone().database(&database);
    let pool = sqlx::PgPool::connect_with(url).await.unwrap();
    let key = chancery::store::keys::create_key(
        &pool,
        "shutdown",
        chancery::domain::vocabulary::Scope::Write,
    )
    .await
    .unwrap()
    .token;

    // An import whose body arrives in two parts, with SIGTERM in between.
    let line = |title: &str| {
        format!(
            "{}\n",
            serde_json::json!({"title": title, "date": "2024-01-01"})
        )
    };
    let chunk = |text: &str| format!("{:x}\r\n{text}\r\n", text.len());
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .write_all(chunk(&line("Before the signal")).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let pid = rustix::process::Pid::from_raw(server.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );
    assert!(
        http(
            port,
            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .is_none_or(|a| a.is_empty()),
        "new connections are refused"
    );

    stream
        .write_all(chunk(&line("After the signal")).as_bytes())
        .unwrap();
    stream.write_all(b"0\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""created":2"#), "{answer}");

    let exited = wait_until(Duration::from_secs(20), || {
        server.try_wait().unwrap().is_some()
    });
    assert!(exited, "the server exits once the request is answered");
    assert!(server.wait().unwrap().success());
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM meetings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 2);
    pool.close().await;
    drop_database(&admin, &database).await;
}
