//! The change feed: every committed change once, with tombstones for what was deleted;
//! and its stream.

use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::coverage::Resource;
use super::records::Everything;
use super::support::{Contract, load_spec, query};
use crate::common::{TestApp, TestResponse};

/// Every change the feed holds for `filters`, walked in pages of `limit`, checked
/// against the spec on the way; the last `next_cursor` too.
async fn walk(
    c: &mut Contract<'_>,
    filters: &[(&str, &str)],
    limit: usize,
) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let limit_text = limit.to_string();
        let mut pairs = filters.to_vec();
        pairs.push(("limit", limit_text.as_str()));
        if !after.is_empty() {
            pairs.push(("after", after.as_str()));
        }
        let page = c.get(&format!("/v1/changes{}", query(&pairs))).await;
        let body = page.ok(200).clone();
        let got = body["items"].as_array().unwrap();
        items.extend(got.iter().cloned());
        after = body["next_cursor"].as_str().unwrap().to_owned();
        if got.len() < limit {
            return (items, after);
        }
    }
}

/// The answer to `GET uri` on the stream, with its body as far as its first `events`
/// events: the stream itself never ends.
async fn stream_start(app: &TestApp, uri: &str, events: usize) -> TestResponse {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut text = String::new();
    while text.matches("\n\n").count() < events + 1 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("the stream's first events")
            .expect("an open stream")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    TestResponse {
        status,
        headers,
        text,
        json: Value::Null,
    }
}

#[tokio::test]
async fn changes_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);

    // Before anything is written: nothing, and a cursor to poll with.
    let empty = c.get("/v1/changes").await;
    assert_eq!(empty.ok(200)["items"], json!([]));
    let now = c.get("/v1/changes?after=now").await;
    assert_eq!(now.ok(200)["items"], json!([]));
    let now = now.json["next_cursor"].as_str().unwrap().to_owned();

    let Everything {
        sample,
        statement_uri,
        ..
    } = Everything::create(&mut c).await;
    assert_eq!(c.delete(&statement_uri).await.status, 204);
    assert_eq!(c.delete(&sample.meeting_uri).await.status, 204);
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM changes")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // The whole feed, in pages of three, is the history, once; and from `now` too.
    let mut all = Vec::new();
    for _ in 0..300 {
        all = walk(&mut c, &[], 3).await.0;
        if all.len() as i64 >= recorded {
            break;
        }
        // A transaction still open elsewhere holds the feed back for a moment.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(all.len() as i64, recorded);
    let cursors: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|item| item["cursor"].as_str().unwrap())
        .collect();
    assert_eq!(cursors.len(), all.len());
    let resources: std::collections::BTreeSet<&str> = all
        .iter()
        .map(|item| item["resource"].as_str().unwrap())
        .collect();
    for resource in ["meeting", "participant", "statement", "agreement", "person"] {
        assert!(
            resources.contains(resource),
            "no {resource} change in {all:?}"
        );
    }
    let since_now = c.get(&format!("/v1/changes?after={now}&limit=500")).await;
    assert_eq!(since_now.ok(200)["items"], json!(all));

    // Deletes are tombstones that keep the id; the meeting's last change is its deletion.
    let (meeting, _) = walk(&mut c, &[("meeting_id", &sample.meeting_id)], 500).await;
    let last = meeting.last().unwrap();
    assert_eq!(
        (&last["action"], &last["resource"], &last["id"]),
        (
            &json!("delete"),
            &json!("meeting"),
            &json!(sample.meeting_id.as_str())
        )
    );
    assert!(
        meeting
            .iter()
            .all(|item| item["meeting_id"] == sample.meeting_id.as_str())
    );
    let statement_id = statement_uri.rsplit('/').next().unwrap();
    assert!(meeting.iter().any(|item| item["action"] == "delete"
        && item["resource"] == "statement"
        && item["id"] == statement_id));
    let (people, _) = walk(&mut c, &[("resource", "person")], 500).await;
    assert!(!people.is_empty());
    assert!(people.iter().all(|item| item["resource"] == "person"
        && item["meeting_id"].is_null()
        && item["version"].is_null()));

    // An item's cursor goes on from just after it.
    let from_second = c
        .get(&format!(
            "/v1/changes{}",
            query(&[
                ("after", all[1]["cursor"].as_str().unwrap()),
                ("limit", "2")
            ])
        ))
        .await;
    assert_eq!(from_second.ok(200)["items"], json!(all[2..4]));

    // A full page is tagged by what it holds, and answers 304 while it is current.
    let page = c.get("/v1/changes?limit=2").await;
    page.ok(200);
    let tag = page.headers["etag"].to_str().unwrap().to_owned();
    c.send(
        Method::GET,
        "/v1/changes?limit=2",
        &[("if-none-match", tag.as_str())],
        Vec::new(),
    )
    .await
    .ok(304);

    // Refusals, each naming its parameter.
    for (bad, name) in [
        ("after=nonsense", "after"),
        ("resource=meetings", "resource"),
        ("meeting_id=not-a-uuid", "meeting_id"),
        ("limit=0", "limit"),
        ("cursor=x", "cursor"),
    ] {
        let refused = c.get(&format!("/v1/changes?{bad}")).await;
        let detail = refused.problem(400)["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(&format!("`{name}`")), "{bad}: {detail}");
    }
    let other_filters = c
        .get(&format!("/v1/changes?after={now}&resource=meeting"))
        .await;
    other_filters.problem(400);

    // Meetings changed since an instant, for clients that prefer plain polling.
    let since = c
        .get(&format!(
            "/v1/meetings{}",
            query(&[("updated_after", "2000-01-01T00:00:00+00:00")])
        ))
        .await;
    assert!(!since.ok(200)["items"].as_array().unwrap().is_empty());
    let later = c
        .get(&format!(
            "/v1/meetings{}",
            query(&[("updated_after", "2999-01-01T00:00:00Z")])
        ))
        .await;
    assert_eq!(later.ok(200)["items"], json!([]));
    for bad in ["yesterday", "2021-10-12", "2021-10-12T00:00:00"] {
        let refused = c
            .get(&format!("/v1/meetings{}", query(&[("updated_after", bad)])))
            .await;
        let detail = refused.problem(400)["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("`updated_after`"), "{bad}: {detail}");
    }

    // The stream: its first events, as far as they go, and its refusals.
    let uri = "/v1/changes/stream?resource=meeting";
    let opened = stream_start(&app, uri, 2).await;
    assert!(opened.text.contains("data: {"), "{}", opened.text);
    c.check(&Method::GET, uri, &[], &[], &opened);
    let refused = c.get("/v1/changes/stream?after=nonsense").await;
    refused.problem(400);
    let refused = c
        .send(
            Method::GET,
            "/v1/changes/stream",
            &[("last-event-id", "nonsense")],
            Vec::new(),
        )
        .await;
    refused.problem(400);

    c.assert_complete(Resource::Changes);
}
