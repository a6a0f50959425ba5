//! Connection bounds, against the real binary over real sockets: the header-read
//! timeout (a partial head, a slowloris), the idle keep-alive timeout, the connection
//! cap, and the open-file limit. Each server runs with timeouts of a second or two.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::served::{HEALTH_THEN_CLOSE, Served};

/// A `GET /health` that leaves the connection open for another request.
const HEALTH_KEEP_ALIVE: &str = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

/// Waits up to the stream's read timeout for the server to close the connection,
/// discarding anything it sends first. Returns how long that took, or `None` if the
/// connection was still open when the read timed out.
fn closed_by_server(stream: &mut TcpStream, since: Instant) -> Option<Duration> {
    let mut buffer = [0_u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(since.elapsed()),
            Ok(_) => continue,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            // A reset is a close too.
            Err(_) => return Some(since.elapsed()),
        }
    }
}

/// Reads one response with a `Content-Length` from a kept-alive connection and
/// returns it whole, leaving the connection open.
fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut byte = [0_u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut byte).expect("reading a response head");
        assert_eq!(read, 1, "the connection closed mid-head: {received:?}");
        received.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&received).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("a Content-Length");
    let mut body = vec![0_u8; length];
    stream
        .read_exact(&mut body)
        .expect("reading a response body");
    head + &String::from_utf8_lossy(&body)
}

#[tokio::test]
async fn a_partial_request_head_is_cut_off_at_the_header_read_timeout() {
    let mut server = Served::start(
        &[
            ("CHANCERY_HEADER_READ_TIMEOUT", "1"),
            ("CHANCERY_IDLE_TIMEOUT", "30"),
        ],
        None,
    )
    .await;

    let mut stalled = server.connect(Duration::from_secs(6));
    stalled
        .write_all(b"GET /health HT")
        .expect("sending half a request line");
    let sent = Instant::now();
    assert!(
        server.answers_health(Duration::from_secs(5)),
        "another connection is served meanwhile"
    );
    let closed = closed_by_server(&mut stalled, sent);
    assert!(
        closed.is_some_and(|after| after >= Duration::from_millis(800)),
        "closed after the 1 s header-read timeout, not before: {closed:?}"
    );
    assert!(server.alive());
    server.stop().await;
}

#[tokio::test]
async fn a_slowloris_is_cut_off_at_the_header_read_timeout_however_often_it_sends() {
    let mut server = Served::start(
        &[
            ("CHANCERY_HEADER_READ_TIMEOUT", "2"),
            ("CHANCERY_IDLE_TIMEOUT", "30"),
        ],
        None,
    )
    .await;

    let mut slow = server.connect(Duration::from_millis(200));
    let started = Instant::now();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ")
        .expect("sending the start of a request");
    // One header byte every 200 ms (the read timeout paces the loop), for at most 8 s.
    let mut cut_off = None;
    while started.elapsed() < Duration::from_secs(8) {
        if slow.write_all(b"a").is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
        if let Some(after) = closed_by_server(&mut slow, started) {
            cut_off = Some(after);
            break;
        }
    }
    assert!(
        cut_off.is_some_and(
            |after| after >= Duration::from_millis(1800) && after < Duration::from_secs(5)
        ),
        "cut off at the 2 s header-read timeout although it kept sending: {cut_off:?}"
    );
    assert!(server.answers_health(Duration::from_secs(5)));
    assert!(server.alive());
    server.stop().await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_at_the_idle_timeout() {
    let mut server = Served::start(
        &[
            ("CHANCERY_HEADER_READ_TIMEOUT", "30"),
            ("CHANCERY_IDLE_TIMEOUT", "1"),
        ],
        None,
    )
    .await;

    let mut kept = server.connect(Duration::from_secs(6));
    kept.write_all(HEALTH_KEEP_ALIVE.as_bytes())
        .expect("sending a request");
    let answer = read_response(&mut kept);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answered = Instant::now();
    let closed = closed_by_server(&mut kept, answered);
    assert!(
        closed.is_some_and(|after| after >= Duration::from_millis(800)),
        "closed after the 1 s idle timeout, not before: {closed:?}"
    );
    assert!(server.alive());
    server.stop().await;
}

#[tokio::test]
async fn a_kept_alive_connection_may_idle_longer_than_the_header_read_timeout() {
    let server = Served::start(
        &[
            ("CHANCERY_HEADER_READ_TIMEOUT", "1"),
            ("CHANCERY_IDLE_TIMEOUT", "5"),
        ],
        None,
    )
    .await;

    let mut kept = server.connect(Duration::from_secs(5));
    kept.write_all(HEALTH_KEEP_ALIVE.as_bytes())
        .expect("sending a request");
    assert!(read_response(&mut kept).starts_with("HTTP/1.1 200"));
    // Idle for twice the header-read timeout, well within the idle timeout.
    std::thread::sleep(Duration::from_secs(2));
    kept.write_all(HEALTH_KEEP_ALIVE.as_bytes())
        .expect("sending a second request on the same connection");
    let second = read_response(&mut kept);
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");
    server.stop().await;
}

#[tokio::test]
async fn past_the_connection_cap_clients_wait_and_health_answers_once_slots_free() {
    let mut server = Served::start(
        &[
            ("CHANCERY_MAX_CONNECTIONS", "4"),
            ("CHANCERY_HEADER_READ_TIMEOUT", "2"),
            ("CHANCERY_IDLE_TIMEOUT", "2"),
        ],
        None,
    )
    .await;

    // Twice the cap of connections that never send anything, held open.
    let mut idle: Vec<TcpStream> = (0..8)
        .map(|_| server.connect(Duration::from_secs(10)))
        .collect();
    let opened = Instant::now();
    std::thread::sleep(Duration::from_millis(200));

    // A health probe queued behind them: it waits for a slot rather than failing.
    let mut probe = server.connect(Duration::from_secs(15));
    probe
        .write_all(HEALTH_THEN_CLOSE.as_bytes())
        .expect("sending the probe");
    let mut answer = String::new();
    let _ = probe.read_to_string(&mut answer);
    let waited = opened.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the probe is answered: {answer:?}"
    );
    assert!(
        waited >= Duration::from_millis(1800),
        "the probe waited for a slot (the cap holds), answered after {waited:?}"
    );

    for (index, connection) in idle.iter_mut().enumerate() {
        assert!(
            closed_by_server(connection, opened).is_some(),
            "idle connection {index} was closed by the server"
        );
    }
    assert!(server.alive(), "the server is still running");
    assert!(server.answers_health(Duration::from_secs(5)));
    server.stop().await;
}

#[tokio::test]
async fn more_idle_connections_than_open_files_do_not_stop_health_answering() {
    let mut server = Served::start(
        &[
            ("CHANCERY_DB_POOL_SIZE", "4"),
            ("CHANCERY_HEADER_READ_TIMEOUT", "1"),
            ("CHANCERY_IDLE_TIMEOUT", "1"),
        ],
        Some(128),
    )
    .await;

    // More silent connections than the process has file descriptors, all held open.
    let idle: Vec<TcpStream> = (0..160)
        .map(|_| server.connect(Duration::from_secs(1)))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let probing = Instant::now();
    let mut answered = false;
    while !answered && probing.elapsed() < Duration::from_secs(20) {
        answered = server.answers_health(Duration::from_secs(5));
    }
    assert!(
        answered,
        "/health answers while the idle connections are held"
    );
    assert!(server.alive(), "the server is still running");
    let log = server.log();
    assert!(
        !log.contains("Too many open files"),
        "the cap kept accepts within the open-file limit:\n{log}"
    );
    drop(idle);
    server.stop().await;
}

#[tokio::test]
async fn a_request_head_hyper_refuses_gets_a_problem_json_body_like_any_refusal() {
    let served = Served::start(&[], None).await;
    for (request, status) in [
        (
            "POST /v1/meetings HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
            "400",
        ),
        (
            "GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
            "400",
        ),
        ("NOT A REQUEST\r\n\r\n", "400"),
    ] {
        let answer = crate::common::served::exchange(
            served.port,
            request.as_bytes(),
            Duration::from_secs(5),
        );
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{request:?}: {answer}"
        );
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{head}"
        );
        let problem: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(problem["status"].as_u64().unwrap().to_string(), status);
        assert!(problem["detail"].as_str().unwrap().contains("malformed"));
        assert!(problem["request_id"].is_string());
    }
    // Answers of the application's own, refusals included, go out untouched, and the
    // server keeps serving.
    let answer = crate::common::served::exchange(
        served.port,
        b"GET /v1/meetings?limit=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    );
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("`limit`"), "{answer}");
    assert!(served.answers_health(Duration::from_secs(5)));
    served.stop().await;
}
