//! Counts of meetings and agreements, grouped and filtered.

use axum::http::Method;
use serde_json::json;

use super::coverage::Resource;
use super::records::Everything;
use super::support::{Contract, load_spec, query};
use crate::common::TestApp;

#[tokio::test]
async fn stats_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let Everything { sample, .. } = Everything::create(&mut c).await;
    let meeting_id = sample.meeting_id;

    // --- Stats ---
    for group_by in ["year", "month", "country", "kind", "topic"] {
        let counts = c
            .get(&format!("/v1/stats/meetings?group_by={group_by}"))
            .await;
        assert!(!counts.ok(200)["items"].as_array().unwrap().is_empty());
    }
    let meeting_filters = query(&[
        ("group_by", "country"),
        ("country", "cu"),
        ("person", "díaz"),
        ("topic", "energy"),
        ("kind", "other"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("city", "Havana"),
        ("q", "trade"),
    ]);
    let counts = c.get(&format!("/v1/stats/meetings{meeting_filters}")).await;
    assert_eq!(
        counts.ok(200)["items"][0],
        json!({"key": "CUB", "count": 1})
    );
    for group_by in ["status", "kind", "party", "topic"] {
        let counts = c
            .get(&format!("/v1/stats/agreements?group_by={group_by}"))
            .await;
        assert!(!counts.ok(200)["items"].as_array().unwrap().is_empty());
    }
    let agreement_filters = query(&[
        ("group_by", "party"),
        ("party", "ru"),
        ("status", "agreed"),
        ("status", "fulfilled"),
        ("kind", "plan"),
        ("kind", "pledge"),
        ("topic", "tourism"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("meeting_id", &meeting_id),
        ("q", "flights"),
    ]);
    let counts = c
        .get(&format!("/v1/stats/agreements{agreement_filters}"))
        .await;
    assert_eq!(
        counts.ok(200)["items"],
        json!([{"key": "CUB", "count": 1}, {"key": "RUS", "count": 1}])
    );
    let due = c
        .get("/v1/stats/agreements?group_by=status&due_before=2030-01-01&due_after=2021-01-01")
        .await;
    assert_eq!(due.ok(200)["items"].as_array().unwrap().len(), 2);
    for uri in [
        "/v1/stats/meetings",
        "/v1/stats/meetings?group_by=planet",
        "/v1/stats/meetings?group_by=year&group_by=month",
        "/v1/stats/meetings?group_by=year&colour=red",
        "/v1/stats/agreements?group_by=year",
        "/v1/stats/agreements?group_by=status&party=XX",
    ] {
        c.get(uri).await.problem(400);
    }
    for (path, group_by) in [
        ("/v1/stats/meetings", "planet"),
        ("/v1/stats/agreements", "year"),
    ] {
        assert!(
            !c.parameter_accepts(path, &Method::GET, "group_by", group_by),
            "the spec should not accept group_by={group_by} on {path}"
        );
    }

    c.assert_complete(Resource::Stats);
}
