//! Bulk import over HTTP: per-line results, bad lines never lose good ones, and
//! re-running an import changes nothing.

use crate::common::{TestApp, meeting};
use axum::http::Method;
use chancery::api::import::BATCH;
use serde_json::{Value, json};

fn doc(title: &str, key: &str) -> Value {
    let mut doc = meeting(title, "2020-05-05", &["USA", "MEX"]);
    doc["identifiers"] = json!([{"scheme": "test", "value": key}]);
    doc
}

async fn import(app: &TestApp, mode: &str, body: Vec<u8>) -> crate::common::TestResponse {
    let auth = format!("Bearer {}", app.write_key);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    app.send(
        Method::POST,
        &format!("/v1/import?mode={mode}"),
        &headers,
        body,
    )
    .await
}

fn ndjson(lines: &[String]) -> Vec<u8> {
    lines.join("\n").into_bytes()
}

#[tokio::test]
async fn good_lines_survive_bad_ones() {
    let app = TestApp::spawn().await;
    let lines = vec![
        doc("First", "a").to_string(),
        "{not json".to_owned(),
        String::new(),
        json!({"title": "No date"}).to_string(),
        doc("Second", "b").to_string(),
        doc("Duplicate of first", "a").to_string(),
        format!("{{\"title\": \"{}\"}}", "x".repeat(5 * 1024 * 1024)),
        doc("Third", "c").to_string(),
    ];
    let mut body = ndjson(&lines);
    body.extend_from_slice(b"\n\xff\xfe\n");
    body.extend_from_slice(doc("Fourth", "d").to_string().as_bytes());
    let response = import(&app, "insert", body).await;
    let result = response.ok(200);
    assert_eq!(
        result["totals"],
        json!({"lines": 9, "created": 4, "updated": 0, "unchanged": 0, "failed": 5})
    );
    let items = result["items"].as_array().unwrap();
    let lines: Vec<u64> = items
        .iter()
        .map(|item| item["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 2, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(items[0]["status"], "created");
    assert!(
        items[1]["error"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(items[2]["error"].as_str().unwrap().contains("date"));
    assert!(
        items[4]["error"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    assert!(items[5]["error"].as_str().unwrap().contains("longer than"));
    assert!(items[7]["error"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(app.count("meetings").await, 4);
    let titles = app.get("/v1/meetings?sort=date").await;
    assert_eq!(titles.ok(200)["items"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn upsert_updates_what_changed_and_nothing_else() {
    let app = TestApp::spawn().await;
    let lines: Vec<String> = (0..30)
        .map(|i| doc(&format!("Meeting {i}"), &format!("k{i}")).to_string())
        .collect();
    let first = import(&app, "insert", ndjson(&lines)).await;
    assert_eq!(first.ok(200)["totals"]["created"], 30);
    let before = app.snapshot().await;

    let again = import(&app, "upsert", ndjson(&lines)).await;
    assert_eq!(
        again.ok(200)["totals"],
        json!({"lines": 30, "created": 0, "updated": 0, "unchanged": 30, "failed": 0})
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "re-running an import changes nothing"
    );

    let refused = import(&app, "insert", ndjson(&lines[..1])).await;
    assert_eq!(refused.ok(200)["totals"]["failed"], 1);

    let mut changed = lines.clone();
    changed[3] = doc("Meeting 3, renamed", "k3").to_string();
    let id = again.json["items"][3]["id"].as_str().unwrap().to_owned();
    let updated = import(&app, "upsert", ndjson(&changed)).await;
    assert_eq!(
        updated.ok(200)["totals"],
        json!({"lines": 30, "created": 0, "updated": 1, "unchanged": 29, "failed": 0})
    );
    assert_eq!(
        updated.json["items"][3]["id"],
        id.as_str(),
        "an update keeps the meeting's id"
    );
    let meeting = app.get(&format!("/v1/meetings/{id}")).await;
    assert_eq!(meeting.ok(200)["title"], "Meeting 3, renamed");
    assert_eq!(meeting.json["version"], 2);
    assert_eq!(
        app.snapshot().await,
        before,
        "the update replaced the old version whole"
    );
}

#[tokio::test]
async fn import_needs_ndjson_and_a_write_key() {
    let app = TestApp::spawn().await;
    let body = doc("First", "a").to_string().into_bytes();
    let anonymous = app
        .send(
            Method::POST,
            "/v1/import",
            &[("content-type", "application/x-ndjson")],
            body.clone(),
        )
        .await;
    anonymous.problem(401);
    let auth = format!("Bearer {}", app.write_key);
    let wrong_type = app
        .send(
            Method::POST,
            "/v1/import",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.clone(),
        )
        .await;
    wrong_type.problem(415);
    import(&app, "sideways", body).await.problem(400);
    assert_eq!(app.count("meetings").await, 0);
}

/// Documents are written `BATCH` to a batch, each batch in one call: a line sees every
/// line before it written, in its own batch or an earlier one. A later batch updates,
/// finds unchanged or refuses what an earlier one created; people named throughout are
/// created once; the kept tables agree with the meetings.
#[tokio::test]
async fn each_batch_sees_the_lines_before_it() {
    let app = TestApp::spawn().await;
    let total = 2 * BATCH + 200;
    let mut lines: Vec<String> = (0..total)
        .map(|i| doc(&format!("Meeting {i}"), &format!("k{i}")).to_string())
        .collect();
    // A line of the second batch renames line 11's meeting; one of the third sends the
    // renamed document again.
    let (renamed, again) = (BATCH + 100, 2 * BATCH + 100);
    lines[renamed] = doc("Meeting 10, renamed", "k10").to_string();
    lines[again] = lines[renamed].clone();
    let upserted = import(&app, "upsert", ndjson(&lines)).await;
    assert_eq!(
        upserted.ok(200)["totals"],
        json!({"lines": total, "created": total - 2, "updated": 1, "unchanged": 1, "failed": 0})
    );
    let items = upserted.json["items"].as_array().unwrap();
    let numbers: Vec<u64> = items.iter().map(|i| i["line"].as_u64().unwrap()).collect();
    assert_eq!(
        numbers,
        (1..=total as u64).collect::<Vec<u64>>(),
        "results in line order"
    );
    assert_eq!(items[renamed]["status"], "updated");
    assert_eq!(items[renamed]["id"], items[10]["id"]);
    assert_eq!(items[again]["status"], "unchanged");
    let renamed = app
        .get(&format!(
            "/v1/meetings/{}",
            items[10]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(renamed.ok(200)["title"], "Meeting 10, renamed");
    let leaders: i64 = sqlx::query_scalar("SELECT count(*) FROM people WHERE name LIKE 'Leader %'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        leaders, 2,
        "each person once, whichever batch named them first"
    );
    assert_eq!(crate::common::derived_drift(&app.db).await, (0, 0, 0, 0, 0));

    // In insert mode a later batch's line with an earlier batch's identifier is refused,
    // and the rest of its batch written.
    let total = BATCH + 200;
    let mut others: Vec<String> = (0..total)
        .map(|i| doc(&format!("Other {i}"), &format!("o{i}")).to_string())
        .collect();
    others[BATCH + 150] = doc("Other 5, again", "o5").to_string();
    let inserted = import(&app, "insert", ndjson(&others)).await;
    assert_eq!(
        inserted.ok(200)["totals"],
        json!({"lines": total, "created": total - 1, "updated": 0, "unchanged": 0, "failed": 1})
    );
    let refused = &inserted.json["items"][BATCH + 150];
    assert_eq!(refused["line"], BATCH + 151);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{refused}"
    );
}

/// The next batch is read and parsed while one is written, but batches are still
/// written one after another: a batch that fails and is written again line by line is
/// done before any line after it is written, a run of bad lines as long as a batch is
/// answered in its place, and every result comes back in line order.
#[tokio::test]
async fn batches_read_ahead_are_written_in_order() {
    let app = TestApp::spawn().await;
    let total = 3 * BATCH + 10;
    let mut lines: Vec<String> = (0..total)
        .map(|i| doc(&format!("Meeting {i}"), &format!("k{i}")).to_string())
        .collect();
    // Two lines of the first batch name one meeting: the batch fails whole and is
    // written again line by line, the second of them updating what the first created.
    lines[5] = doc("Shared, first", "shared").to_string();
    lines[7] = doc("Shared, second", "shared").to_string();
    // The first line of the second batch sees both.
    lines[BATCH] = doc("Shared, third", "shared").to_string();
    // Then a whole batch of lines that are not documents at all.
    for line in &mut lines[2 * BATCH..3 * BATCH] {
        *line = "{not json".to_owned();
    }
    // And the last batch sends the third version again.
    lines[3 * BATCH] = lines[BATCH].clone();
    let imported = import(&app, "upsert", ndjson(&lines)).await;
    assert_eq!(
        imported.ok(200)["totals"],
        json!({"lines": total, "created": total - BATCH - 3, "updated": 2, "unchanged": 1,
               "failed": BATCH})
    );
    let items = imported.json["items"].as_array().unwrap();
    let numbers: Vec<u64> = items.iter().map(|i| i["line"].as_u64().unwrap()).collect();
    assert_eq!(
        numbers,
        (1..=total as u64).collect::<Vec<u64>>(),
        "results in line order"
    );
    let shared = &items[5]["id"];
    assert_eq!(items[5]["status"], "created");
    for (line, status) in [(7, "updated"), (BATCH, "updated"), (3 * BATCH, "unchanged")] {
        assert_eq!(items[line]["status"], status, "line {}", line + 1);
        assert_eq!(&items[line]["id"], shared, "line {}", line + 1);
    }
    let meeting = app
        .get(&format!("/v1/meetings/{}", shared.as_str().unwrap()))
        .await;
    assert_eq!(meeting.ok(200)["title"], "Shared, third");
    assert_eq!(meeting.json["version"], 3);
    assert_eq!(app.count("meetings").await, (total - BATCH - 3) as i64);
    assert_eq!(crate::common::derived_drift(&app.db).await, (0, 0, 0, 0, 0));
}
