//! A meeting's history, paged, which outlives the meeting.

use super::coverage::Resource;
use super::records::Everything;
use super::support::{Contract, UNKNOWN_ID, load_spec, query};
use crate::common::TestApp;

#[tokio::test]
async fn history_answers_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let Everything {
        sample,
        participant_uri,
        statement_uri,
        agreement_uri,
    } = Everything::create(&mut c).await;
    let meeting_uri = sample.meeting_uri;
    // Every kind of record removed, and then the meeting.
    for uri in [
        &statement_uri,
        &agreement_uri,
        &participant_uri,
        &meeting_uri,
    ] {
        assert_eq!(c.delete(uri).await.status, 204, "{uri}");
    }

    // --- History, which outlives the meeting ---
    let history = c.get(&format!("{meeting_uri}/history?limit=3")).await;
    history.ok(200);
    let cursor = history.json["next_cursor"].as_str().unwrap().to_owned();
    c.get(&format!(
        "{meeting_uri}/history{}",
        query(&[("limit", "3"), ("cursor", &cursor)])
    ))
    .await
    .ok(200);
    c.get(&format!("/v1/meetings/{UNKNOWN_ID}/history"))
        .await
        .problem(404);
    c.get(&format!("{meeting_uri}/history?cursor=nonsense"))
        .await
        .problem(400);
    c.get("/v1/meetings/not-a-uuid/history").await.problem(400);

    c.assert_complete(Resource::History);
}
