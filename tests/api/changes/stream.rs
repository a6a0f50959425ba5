//! The change stream, `GET /v1/changes/stream`: the feed's changes as Server-Sent
//! Events, live, resumable with `Last-Event-ID`, across instances, capped, and
//! dropping a subscriber that stops reading.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chancery::Settings;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::served::Served;
use crate::common::{TestApp, eventually, meeting, sse};

/// One event as the stream sent it.
#[derive(Debug, Clone)]
struct Event {
    id: Option<String>,
    data: Value,
}

/// What has arrived of a stream and is not read yet: its events and comments, and
/// the start of a block still arriving.
#[derive(Default)]
struct Parser {
    text: String,
    events: VecDeque<Event>,
    comments: VecDeque<String>,
}

impl Parser {
    /// Takes in bytes, and every block they complete.
    fn push(&mut self, bytes: &[u8]) {
        self.text.push_str(&String::from_utf8_lossy(bytes));
        for block in sse::take_blocks(&mut self.text) {
            self.comments.extend(block.comments);
            if let Some(data) = block.data {
                let data = serde_json::from_str(&data).expect("JSON data");
                self.events.push_back(Event { id: block.id, data });
            }
        }
    }
}

/// Where a stream's bytes come from: the in-process application's body, or a real
/// server's answer read with an HTTP client.
trait Chunks {
    /// The next bytes; `None` once the stream has ended.
    async fn chunk(&mut self) -> Option<Vec<u8>>;
}

impl Chunks for Body {
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        loop {
            let frame = self.frame().await?.expect("a frame");
            if let Ok(data) = frame.into_data() {
                return Some(data.to_vec());
            }
        }
    }
}

impl Chunks for reqwest::Response {
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        reqwest::Response::chunk(self)
            .await
            .ok()?
            .map(|bytes| bytes.to_vec())
    }
}

/// A stream being read: its source, and what has arrived of it.
struct Subscriber<C> {
    chunks: C,
    parser: Parser,
}

impl Subscriber<Body> {
    /// A stream from the in-process application.
    async fn open(app: &TestApp, uri: &str, last_event_id: Option<&str>) -> Self {
        let mut request = Request::builder().method(Method::GET).uri(uri);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = app
            .router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Subscriber {
            chunks: response.into_body(),
            parser: Parser::default(),
        }
    }
}

impl Subscriber<reqwest::Response> {
    /// A stream from a real server.
    async fn remote(url: &str) -> Self {
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status(), 200);
        Subscriber {
            chunks: response,
            parser: Parser::default(),
        }
    }
}

impl<C: Chunks> Subscriber<C> {
    /// Reads on until `found` finds what it looks for in what has arrived, for at most
    /// `patience`; `None` if the time runs out or the stream ends first.
    async fn until<T>(
        &mut self,
        patience: Duration,
        mut found: impl FnMut(&mut Parser) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(it) = found(&mut self.parser) {
                return Some(it);
            }
            let chunk = tokio::time::timeout_at(deadline, self.chunks.chunk())
                .await
                .ok()??;
            self.parser.push(&chunk);
        }
    }

    /// The next event, waiting at most `patience`.
    async fn next(&mut self, patience: Duration) -> Option<Event> {
        self.until(patience, |parser| parser.events.pop_front())
            .await
    }

    /// The next comment, waiting at most `patience`.
    async fn comment(&mut self, patience: Duration) -> Option<String> {
        self.until(patience, |parser| parser.comments.pop_front())
            .await
    }

    /// The next `n` events, each within 10 s.
    async fn take(&mut self, n: usize) -> Vec<Event> {
        let mut events = Vec::new();
        while events.len() < n {
            let event = self.next(Duration::from_secs(10)).await;
            events.push(event.unwrap_or_else(|| panic!("only {} of {n} events", events.len())));
        }
        events
    }
}

/// Every change in the feed, in order, by polling `GET /v1/changes`.
async fn feed(app: &TestApp) -> Vec<Value> {
    let page = app.get("/v1/changes?limit=500").await;
    page.ok(200)["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_stream_replays_the_feed_then_pushes_each_change_as_it_commits() {
    let app = TestApp::spawn().await;
    let created = app
        .create_meeting(&meeting("Before", "2020-01-01", &["CUB", "RUS"]))
        .await;
    let mut stream = Subscriber::open(&app, "/v1/changes/stream", None).await;
    let replayed = stream.take(1).await;
    assert_eq!(replayed[0].data["id"], created["id"]);
    assert_eq!(replayed[0].data["action"], "create");

    let id = created["id"].as_str().unwrap();
    let started = Instant::now();
    app.patch(&format!("/v1/meetings/{id}"), &json!({"title": "After"}))
        .await
        .ok(200);
    let pushed = stream.next(Duration::from_secs(5)).await.expect("pushed");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(pushed.data["action"], "update");
    assert_eq!(pushed.data["version"], 2);

    // Each event is the feed's item, and its id the item's cursor.
    let listed = feed(&app).await;
    for (event, item) in replayed.iter().chain([&pushed]).zip(&listed) {
        assert_eq!(&event.data, item);
        assert_eq!(event.id.as_deref(), item["cursor"].as_str());
    }
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn last_event_id_resumes_with_no_gap_and_no_repeat() {
    let app = TestApp::spawn().await;
    for n in 0..3 {
        app.create_meeting(&meeting(&format!("M{n}"), "2020-01-01", &["CUB"]))
            .await;
    }
    let mut first = Subscriber::open(&app, "/v1/changes/stream", None).await;
    let seen = first.take(2).await;
    drop(first);
    for n in 3..5 {
        app.create_meeting(&meeting(&format!("M{n}"), "2020-01-01", &["CUB"]))
            .await;
    }
    let last = seen[1].id.clone().unwrap();
    // The header wins over `after`: a reconnecting EventSource sends both.
    let mut resumed =
        Subscriber::open(&app, "/v1/changes/stream?after=now", Some(last.as_str())).await;
    let rest = resumed.take(3).await;
    let titles: Vec<Value> = seen
        .iter()
        .chain(&rest)
        .map(|e| e.data["id"].clone())
        .collect();
    let listed: Vec<Value> = feed(&app).await.iter().map(|i| i["id"].clone()).collect();
    assert_eq!(titles, listed, "every change once, in order");
    assert!(resumed.next(Duration::from_millis(300)).await.is_none());

    // `after=now` starts at the present: only what comes next.
    let mut fresh = Subscriber::open(&app, "/v1/changes/stream?after=now", None).await;
    assert!(fresh.next(Duration::from_millis(300)).await.is_none());
    let created = app
        .create_meeting(&meeting("Later", "2021-01-01", &["RUS"]))
        .await;
    assert_eq!(fresh.take(1).await[0].data["id"], created["id"]);

    // An id this stream did not send is refused, naming the header.
    let refused = app
        .send(
            Method::GET,
            "/v1/changes/stream?resource=person",
            &[("last-event-id", last.as_str())],
            Vec::new(),
        )
        .await;
    let problem = refused.problem(400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Last-Event-ID"),
        "{problem}"
    );
    let refused = app.get("/v1/changes/stream?after=garbage").await;
    assert!(
        refused.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("`after`")
    );
}

#[tokio::test]
async fn filters_narrow_the_stream_as_they_narrow_the_feed() {
    let app = TestApp::spawn().await;
    let created = app
        .create_meeting(&meeting("Talks", "2020-01-01", &["CUB", "RUS"]))
        .await;
    let id = created["id"].as_str().unwrap();
    let mut people = Subscriber::open(&app, "/v1/changes/stream?resource=participant", None).await;
    let mut this_meeting =
        Subscriber::open(&app, &format!("/v1/changes/stream?meeting_id={id}"), None).await;
    let mut usa = Subscriber::open(&app, "/v1/changes/stream?country=USA", None).await;
    let other = app
        .create_meeting(&meeting("Other", "2020-01-02", &["USA"]))
        .await;
    assert_eq!(usa.take(1).await[0].data["id"], other["id"]);
    app.post(
        &format!("/v1/meetings/{id}/participants"),
        &json!({"name": "Someone New", "country": "CUB"}),
    )
    .await
    .ok(201);
    let event = people.take(1).await;
    assert_eq!(event[0].data["resource"], "participant");
    assert!(people.next(Duration::from_millis(300)).await.is_none());
    let listed = app.get(&format!("/v1/changes?meeting_id={id}")).await;
    let listed = listed.ok(200)["items"].as_array().unwrap().clone();
    assert!(
        listed.len() >= 2,
        "the creation and the participant: {listed:?}"
    );
    let events = this_meeting.take(listed.len()).await;
    let ids: Vec<&Value> = events.iter().map(|e| &e.data["id"]).collect();
    let expected: Vec<&Value> = listed.iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, expected);
    assert!(
        this_meeting
            .next(Duration::from_millis(300))
            .await
            .is_none()
    );
    assert!(usa.next(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn past_the_cap_a_subscriber_is_told_to_retry() {
    let app = TestApp::spawn_with(Settings {
        stream_subscribers: 1,
        ..Settings::default()
    })
    .await;
    let first = Subscriber::open(&app, "/v1/changes/stream", None).await;
    let refused = app.get("/v1/changes/stream").await;
    refused.problem(503);
    assert!(refused.headers.contains_key("retry-after"));
    drop(first);
    eventually("the place is freed once the subscriber goes", async || {
        let request = Request::get("/v1/changes/stream?after=now")
            .body(Body::empty())
            .unwrap();
        // Only the status is read: the body of a stream that is let in never ends.
        let response = app.router.clone().oneshot(request).await.unwrap();
        response.status() == StatusCode::OK
    })
    .await;
}

#[tokio::test]
async fn a_required_read_key_covers_the_stream() {
    let app = TestApp::spawn_with(Settings {
        require_read_key: true,
        ..Settings::default()
    })
    .await;
    app.get("/v1/changes/stream").await.problem(401);
    let auth = format!("Bearer {}", app.read_key);
    let request = Request::get("/v1/changes/stream?after=now")
        .header("authorization", auth)
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stream_ends_after_its_lifetime_for_the_client_to_resume() {
    let app = TestApp::spawn_with(Settings {
        stream_lifetime: Duration::from_secs(1),
        ..Settings::default()
    })
    .await;
    let created = app
        .create_meeting(&meeting("Talks", "2020-01-01", &["CUB"]))
        .await;
    let mut stream = Subscriber::open(&app, "/v1/changes/stream", None).await;
    let seen = stream.take(1).await;
    assert_eq!(seen[0].data["id"], created["id"]);
    let started = Instant::now();
    assert!(stream.next(Duration::from_secs(10)).await.is_none());
    // It ended (well before the 10 s of patience ran out), rather than went quiet.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

async fn post_meeting(client: &reqwest::Client, served: &Served, key: &str, title: &str) -> Value {
    let response = client
        .post(served.url("/v1/meetings"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(meeting(title, "2020-01-01", &["CUB", "RUS"]).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

#[tokio::test]
async fn a_write_through_one_instance_reaches_a_subscriber_on_another_within_a_second() {
    let a = Served::start(&[], None).await;
    let b = Served::beside(&a, &[]);
    let key = a.create_key("write");
    let client = reqwest::Client::new();
    let mut on_b = Subscriber::remote(&b.url("/v1/changes/stream?after=now")).await;
    assert_eq!(
        on_b.comment(Duration::from_secs(5)).await.as_deref(),
        Some("subscribed")
    );
    for n in 0..5 {
        let started = Instant::now();
        let created = post_meeting(&client, &a, &key, &format!("Meeting {n}")).await;
        let event = on_b
            .next(Duration::from_secs(5))
            .await
            .expect("an event on B");
        let took = started.elapsed();
        assert_eq!(event.data["id"], created["id"]);
        assert!(took < Duration::from_secs(1), "took {took:?}");
    }
    // A quiet stream hears a comment every 15 s, which keeps proxies from closing it.
    assert_eq!(
        on_b.comment(Duration::from_secs(20)).await.as_deref(),
        Some("keep-alive")
    );
    drop(b);
    a.stop().await;
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_dropped_and_its_place_freed() {
    let served = Served::start(
        &[
            ("CHANCERY_SEND_TIMEOUT", "1"),
            ("CHANCERY_STREAM_SUBSCRIBERS", "1"),
        ],
        None,
    )
    .await;
    // Far more changes than the socket's buffers and the subscriber's queue hold.
    let mut db = sqlx::ConnectOptions::connect(&served.database_options())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO changes (action, resource, resource_id, meeting_id, version)
         SELECT 'create', 'meeting', gen_random_uuid(), gen_random_uuid(), 1
           FROM generate_series(1, 60000)",
    )
    .execute(&mut db)
    .await
    .unwrap();

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket
        .connect(format!("127.0.0.1:{}", served.port).parse().unwrap())
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stalled,
        b"GET /v1/changes/stream HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .unwrap();
    // It never reads. Its place is freed within seconds, and taken by the next.
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let metrics = client
            .get(served.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Events went out, so it had subscribed; then it was let go.
        let sent = metrics
            .lines()
            .any(|line| line.starts_with("changes_stream_events_total") && !line.ends_with(" 0"));
        let subscribers = metrics
            .lines()
            .find(|line| line.starts_with("changes_stream_subscribers "))
            .map(str::to_owned);
        if sent && subscribers.as_deref() == Some("changes_stream_subscribers 0") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the stalled subscriber was not dropped: {subscribers:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut next = Subscriber::remote(&served.url("/v1/changes/stream?after=now")).await;
    assert_eq!(
        next.comment(Duration::from_secs(5)).await.as_deref(),
        Some("subscribed")
    );
    drop(stalled);
    drop(next);
    served.stop().await;
}
