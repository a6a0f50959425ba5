//! Status as of a date, the overdue list, stats by status as of a date, and a
//! country's record on its pledges and plans.

use super::{pledge, seed};
use crate::common::{TestApp, meeting};
use serde_json::{Value, json};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_seed_pledge_as_of_a_date_and_overdue() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);

    // Due 2021-12-31 and still `agreed`: overdue today, and as of 2022-01-15.
    let overdue = app.get("/v1/agreements?overdue=true").await.ok(200).clone();
    assert_eq!(ids(&overdue), vec![id.clone()]);
    let overdue = app
        .get("/v1/agreements?overdue=true&as_of=2022-01-15")
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&overdue), vec![id.clone()]);
    assert_eq!(overdue["items"][0]["status_as_of"], "agreed");
    // Not yet due on 2021-12-01; not yet made on 2021-10-01.
    let not_yet = app
        .get("/v1/agreements?overdue=true&as_of=2021-12-01")
        .await;
    assert_eq!(ids(not_yet.ok(200)), Vec::<String>::new());
    let before = app.get("/v1/agreements?as_of=2021-10-01").await;
    assert_eq!(ids(before.ok(200)), Vec::<String>::new());

    app.post(
        &format!("/v1/agreements/{id}/events"),
        &json!({"status": "fulfilled", "on": "2021-12-20",
                "source": {"url": "https://example.org/aid-arrives"}}),
    )
    .await
    .ok(201);

    assert_eq!(
        ids(app.get("/v1/agreements?overdue=true").await.ok(200)),
        Vec::<String>::new()
    );
    // As of 2021-12-01 it was still only agreed; as of 2021-12-20, fulfilled.
    let then = app
        .get("/v1/agreements?as_of=2021-12-01&status=agreed&kind=pledge")
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&then), vec![id.clone()]);
    assert_eq!(then["items"][0]["status_as_of"], "agreed");
    assert_eq!(then["items"][0]["status"], "fulfilled");
    let later = app
        .get("/v1/agreements?as_of=2021-12-20&status=fulfilled")
        .await
        .ok(200)
        .clone();
    assert_eq!(ids(&later), vec![id.clone()]);

    let stats = app
        .get("/v1/stats/agreements?group_by=status&as_of=2021-12-01")
        .await
        .ok(200)
        .clone();
    assert_eq!(stats["items"], json!([{"key": "agreed", "count": 3}]));
    let stats = app
        .get("/v1/stats/agreements?group_by=status")
        .await
        .ok(200)
        .clone();
    assert_eq!(
        stats["items"],
        json!([{"key": "agreed", "count": 2}, {"key": "fulfilled", "count": 1}])
    );
}

#[tokio::test]
async fn russias_record() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);

    let record = app
        .get("/v1/countries/ru/commitments")
        .await
        .ok(200)
        .clone();
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(record["country"], "RUS");
    assert_eq!(record["as_of"], today.as_str());
    assert_eq!(record["made"], 3);
    assert_eq!(record["open"], 3);
    assert_eq!(record["overdue"], 1);
    assert_eq!(record["fulfilled"], 0);
    assert_eq!(record["fulfilment_rate"], 0.0);
    assert_eq!(record["median_days_to_fulfil"], Value::Null);

    app.post(
        &format!("/v1/agreements/{id}/events"),
        &json!({"status": "fulfilled", "on": "2021-12-20"}),
    )
    .await
    .ok(201);
    let mut plan = meeting("Later plans", "2022-05-01", &["CUB", "RUS"]);
    plan["agreements"] = json!([
        {"title": "A plan withdrawn", "kind": "plan", "parties": ["RUS"], "status": "withdrawn"},
        {"title": "A treaty, not counted", "kind": "treaty", "parties": ["RUS"]}
    ]);
    app.create_meeting(&plan).await;

    let record = app
        .get("/v1/countries/RUS/commitments")
        .await
        .ok(200)
        .clone();
    assert_eq!(record["made"], 4);
    assert_eq!(record["fulfilled"], 1);
    assert_eq!(record["open"], 2);
    assert_eq!(record["overdue"], 0);
    assert_eq!(record["withdrawn"], 1);
    assert_eq!(record["lapsed"], 0);
    assert_eq!(record["fulfilment_rate"], 0.5);
    assert_eq!(record["median_days_to_fulfil"], 69.0);
    // items_url lists what was counted.
    let items = app
        .get(record["items_url"].as_str().unwrap())
        .await
        .ok(200)
        .clone();
    assert_eq!(items["items"].as_array().unwrap().len(), 4);

    let then = app
        .get("/v1/countries/RUS/commitments?as_of=2022-01-01&from=2021-01-01&to=2021-12-31")
        .await
        .ok(200)
        .clone();
    assert_eq!(then["made"], 3);
    assert_eq!(then["fulfilled"], 1);
    assert_eq!(then["open"], 2);
    let items = app
        .get(then["items_url"].as_str().unwrap())
        .await
        .ok(200)
        .clone();
    assert_eq!(items["items"].as_array().unwrap().len(), 3);

    // Cuba is party to the two plans only.
    let cuba = app
        .get("/v1/countries/CUB/commitments")
        .await
        .ok(200)
        .clone();
    assert_eq!(cuba["made"], 2);
}

/// Russia's record: (made, open, overdue, fulfilled) as of `as_of` (today when empty).
async fn counts(app: &TestApp, as_of: &str) -> (i64, i64, i64, i64) {
    let uri = match as_of {
        "" => "/v1/countries/RUS/commitments".to_owned(),
        day => format!("/v1/countries/RUS/commitments?as_of={day}"),
    };
    let record = app.get(&uri).await.ok(200).clone();
    let n = |field: &str| record[field].as_i64().unwrap();
    (n("made"), n("open"), n("overdue"), n("fulfilled"))
}

#[tokio::test]
async fn the_record_and_the_overdue_list_follow_every_write() {
    let app = TestApp::spawn().await;
    let doc = seed(&app).await;
    let id = pledge(&doc);
    let drift = || crate::common::derived_drift(&app.db);
    let overdue = |as_of: &'static str| {
        let app = &app;
        async move {
            let uri = match as_of {
                "" => "/v1/agreements?overdue=true&party=RUS".to_owned(),
                day => format!("/v1/agreements?overdue=true&party=RUS&as_of={day}"),
            };
            ids(app.get(&uri).await.ok(200))
        }
    };
    assert_eq!(counts(&app, "").await, (3, 3, 1, 0));
    assert_eq!(overdue("").await, std::slice::from_ref(&id));
    assert_eq!(drift().await, (0, 0, 0, 0, 0));

    // Fulfilled in December: as of November it was still open (read from its history,
    // since it changed after that day), and it is overdue as of January 2022 no more.
    app.post(
        &format!("/v1/agreements/{id}/events"),
        &json!({"status": "fulfilled", "on": "2021-12-20"}),
    )
    .await
    .ok(201);
    assert_eq!(counts(&app, "").await, (3, 2, 0, 1));
    assert_eq!(counts(&app, "2021-12-01").await, (3, 3, 0, 0));
    assert_eq!(counts(&app, "2021-12-25").await, (3, 2, 0, 1));
    assert!(overdue("").await.is_empty());
    assert!(overdue("2022-01-02").await.is_empty());
    assert_eq!(drift().await, (0, 0, 0, 0, 0));

    // Reopened by a PATCH (an event today): overdue again, as of today only.
    app.patch(
        &format!("/v1/agreements/{id}"),
        &json!({"status": "agreed"}),
    )
    .await
    .ok(200);
    assert_eq!(counts(&app, "").await, (3, 3, 1, 0));
    assert_eq!(overdue("").await, std::slice::from_ref(&id));
    assert!(overdue("2022-01-02").await.is_empty());
    assert_eq!(drift().await, (0, 0, 0, 0, 0));

    // No longer a pledge, then no longer Russia's: out of the record.
    app.patch(&format!("/v1/agreements/{id}"), &json!({"kind": "treaty"}))
        .await
        .ok(200);
    assert_eq!(counts(&app, "").await.0, 2);
    app.patch(
        &format!("/v1/agreements/{id}"),
        &json!({"kind": "pledge", "parties": ["CUB"]}),
    )
    .await
    .ok(200);
    assert_eq!(counts(&app, "").await.0, 2);
    assert!(overdue("").await.is_empty());
    assert_eq!(drift().await, (0, 0, 0, 0, 0));

    // The meeting moves a year on: the record made in 2021 is empty, in 2022 full.
    let meeting_uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());
    app.patch(&meeting_uri, &json!({"date": "2022-10-14"}))
        .await
        .ok(200);
    let made_in = |year: i32| {
        let app = &app;
        async move {
            let uri = format!("/v1/countries/RUS/commitments?from={year}-01-01&to={year}-12-31");
            app.get(&uri).await.ok(200)["made"].as_i64().unwrap()
        }
    };
    assert_eq!((made_in(2021).await, made_in(2022).await), (0, 2));
    assert_eq!(drift().await, (0, 0, 0, 0, 0));

    // Deleted agreements and meetings leave nothing behind.
    let plan = doc["agreements"][0]["id"].as_str().unwrap();
    app.delete(&format!("/v1/agreements/{plan}")).await.ok(204);
    assert_eq!(counts(&app, "").await.0, 1);
    app.delete(&meeting_uri).await.ok(204);
    assert_eq!(counts(&app, "").await, (0, 0, 0, 0));
    assert_eq!(drift().await, (0, 0, 0, 0, 0));
}

#[tokio::test]
async fn bad_dates_and_countries_are_refused() {
    let app = TestApp::spawn().await;
    for uri in [
        "/v1/agreements?as_of=2021-13-01",
        "/v1/agreements?as_of=yesterday",
        "/v1/agreements?overdue=maybe",
        "/v1/stats/agreements?group_by=status&as_of=2021-02-30",
        "/v1/countries/RUS/commitments?as_of=2021-02-30",
        "/v1/countries/RUS/commitments?from=x",
        "/v1/countries/RUS/commitments?party=CUB",
    ] {
        let refused = app.get(uri).await;
        assert!(refused.status.is_client_error(), "{uri}: {}", refused.text);
        assert_eq!(refused.status.as_u16(), 400, "{uri}: {}", refused.text);
    }
    app.get("/v1/countries/ZZZ/commitments").await.problem(404);
}
