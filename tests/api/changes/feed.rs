//! The feed lists every committed change once, and never moves past a transaction that
//! may still commit: writers with long and short transactions run while a reader polls.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chancery::Settings;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{TestApp, meeting};

/// The (transaction id, change id) a cursor stands for: the test peeks into the opaque
/// cursor to compare what it was given with the `changes` table.
fn position(cursor: &str) -> (u64, i64) {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).unwrap();
    let envelope: Value = serde_json::from_slice(&bytes).unwrap();
    (
        envelope["k"][0].as_u64().unwrap(),
        envelope["k"][1].as_i64().unwrap(),
    )
}

/// What a reader polling the feed has been given.
#[derive(Default)]
struct Reader {
    cursor: Option<String>,
    positions: Vec<(u64, i64)>,
    items: Vec<Value>,
    polls: usize,
}

impl Reader {
    /// One page after the reader's cursor; the cursor moves to its `next_cursor`.
    async fn poll(&mut self, app: &TestApp, filters: &str, limit: usize) -> usize {
        let after = self.cursor.as_deref().unwrap_or_default();
        let page = app
            .get(&format!("/v1/changes?after={after}&limit={limit}{filters}"))
            .await;
        let body = page.ok(200);
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        for item in items {
            self.positions
                .push(position(item["cursor"].as_str().unwrap()));
            self.items.push(item.clone());
        }
        let next = body["next_cursor"].as_str().unwrap().to_owned();
        if let (Some(last), Some(before)) = (self.positions.last(), &self.cursor) {
            assert!(position(&next) >= *last, "the cursor went back");
            assert!(position(&next) >= position(before), "the cursor went back");
        }
        self.cursor = Some(next);
        self.polls += 1;
        items.len()
    }

    /// Polls until the feed holds nothing more for now.
    async fn catch_up(&mut self, app: &TestApp, filters: &str) {
        while self.poll(app, filters, 50).await == 50 {}
    }
}

/// A row of `changes` as the feed shows it: id, action, resource, record, meeting,
/// version.
type TableRow = (i64, String, String, Uuid, Option<Uuid>, Option<i32>);

/// Every id in `changes`, in id order.
async fn all_change_ids(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM changes ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// Polls until the reader holds as many changes as the table, or fails after a while.
async fn read_to_the_end(app: &TestApp, reader: &mut Reader, filters: &str, expected: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        reader.catch_up(app, filters).await;
        if reader.positions.len() >= expected || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unlimited() -> Settings {
    Settings {
        rate_limit_per_ip: 0,
        rate_limit_per_key: 0,
        ..Settings::default()
    }
}

#[tokio::test]
async fn changes_reach_a_polling_reader_exactly_once_under_long_and_short_transactions() {
    let app = TestApp::spawn_with(unlimited()).await;
    let hazards = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    const SHORT_WRITERS: usize = 3;
    const WRITERS: usize = SHORT_WRITERS + 1;
    const MEETINGS_EACH: usize = 20;

    // Long transactions: each records a change, stays open while the short writers
    // commit changes with larger ids, records a second one and stays open again, then
    // commits. The third rolls back: its changes must never be listed.
    let long = async {
        let record = "INSERT INTO changes (action, resource, resource_id, person_id)
                      VALUES ('create', 'person', $1, $1) RETURNING id";
        for round in 0..4 {
            let mut tx = app.db.begin().await.unwrap();
            let first: i64 = sqlx::query_scalar(record)
                .bind(Uuid::now_v7())
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(350)).await;
            sqlx::query_scalar::<_, i64>(record)
                .bind(Uuid::now_v7())
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(350)).await;
            // Changes with larger ids than this open transaction's first are committed
            // already: a cursor on the id alone would move past it and lose it.
            let committed: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM changes")
                .fetch_one(&app.db)
                .await
                .unwrap();
            if committed.is_some_and(|max| max > first) {
                hazards.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            if round == 2 {
                tx.rollback().await.unwrap();
            } else {
                tx.commit().await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    };

    // Short transactions: meetings created, edited and deleted over HTTP, each writer
    // with people of its own.
    let short = |writer: usize| {
        let app = &app;
        let done = &done;
        let countries = [["CUB", "RUS"], ["USA", "MEX"], ["FRA", "DEU"]][writer];
        async move {
            for n in 0..MEETINGS_EACH {
                let title = format!("Writer {writer}, meeting {n}");
                let created = app
                    .post("/v1/meetings", &meeting(&title, "2021-10-12", &countries))
                    .await;
                let id = created.ok(201)["id"].as_str().unwrap().to_owned();
                if n % 3 == 1 {
                    app.patch(&format!("/v1/meetings/{id}"), &json!({"summary": "edited"}))
                        .await
                        .ok(200);
                }
                if n % 4 == 2 {
                    assert_eq!(app.delete(&format!("/v1/meetings/{id}")).await.status, 204);
                }
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
            done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    };

    // The reader polls in small pages all the while.
    let mut reader = Reader::default();
    let read = async {
        while done.load(std::sync::atomic::Ordering::SeqCst) < WRITERS {
            reader.poll(&app, "", 7).await;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    };
    tokio::join!(long, short(0), short(1), short(2), read);

    let expected = all_change_ids(&app).await;
    read_to_the_end(&app, &mut reader, "", expected.len()).await;

    // Every change once: the ids given are the table's, none twice, in feed order.
    let given: Vec<i64> = reader.positions.iter().map(|p| p.1).collect();
    let distinct: BTreeSet<i64> = given.iter().copied().collect();
    assert_eq!(distinct.len(), given.len(), "a change was given twice");
    assert_eq!(
        distinct.into_iter().collect::<Vec<_>>(),
        expected,
        "the changes given are not the table's"
    );
    assert!(
        reader.positions.windows(2).all(|w| w[0] < w[1]),
        "the feed went back"
    );
    let hazards = hazards.into_inner();
    assert!(
        hazards >= 2,
        "the long transactions never overlapped a committed change with a larger id"
    );
    // Changes come in the order of their transactions, not of their ids: a long
    // transaction's later change comes before the short ones committed meanwhile.
    let overtaken = given
        .iter()
        .enumerate()
        .filter(|(at, id)| given[..*at].iter().any(|earlier| earlier > id))
        .count();
    assert!(
        overtaken >= 1,
        "no change was overtaken: the test proved nothing"
    );
    eprintln!(
        "{} changes given once each in {} polls; {hazards} long transactions overlapped \
         larger committed ids; {overtaken} changes came after one with a larger id",
        given.len(),
        reader.polls,
    );
    assert!(
        reader.polls > 20,
        "the reader polled only {} times",
        reader.polls
    );

    // What the feed says matches the table, row by row.
    let rows: Vec<TableRow> = sqlx::query_as(
        "SELECT id, action, resource, resource_id, meeting_id, version FROM changes ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for (id, action, resource, resource_id, meeting_id, version) in rows {
        let at = given.iter().position(|given| *given == id).unwrap();
        let item = &reader.items[at];
        assert_eq!(item["action"], action.as_str(), "{item}");
        assert_eq!(item["resource"], resource.as_str(), "{item}");
        assert_eq!(item["id"], resource_id.to_string(), "{item}");
        assert_eq!(
            item["meeting_id"],
            json!(meeting_id.map(|m| m.to_string())),
            "{item}"
        );
        assert_eq!(item["version"], json!(version), "{item}");
        assert!(item["at"].is_string(), "{item}");
    }
    let deletes = reader
        .items
        .iter()
        .filter(|item| item["action"] == "delete" && item["resource"] == "meeting")
        .count();
    let deleted_each = (0..MEETINGS_EACH).filter(|n| n % 4 == 2).count();
    assert_eq!(
        deletes,
        SHORT_WRITERS * deleted_each,
        "every deleted meeting has its tombstone"
    );
}

#[tokio::test]
async fn after_now_lists_only_what_comes_next_and_filters_narrow_the_feed() {
    let app = TestApp::spawn_with(unlimited()).await;
    let first = app
        .post("/v1/meetings", &meeting("Before", "2021-10-12", &["CUB"]))
        .await;
    let before = first.ok(201)["id"].as_str().unwrap().to_owned();

    let now = app.get("/v1/changes?after=now").await;
    assert_eq!(now.ok(200)["items"], json!([]));
    let mut since_now = Reader {
        cursor: Some(now.json["next_cursor"].as_str().unwrap().to_owned()),
        ..Reader::default()
    };

    let second = app
        .post("/v1/meetings", &meeting("After", "2021-10-13", &["RUS"]))
        .await;
    let after = second.ok(201)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/meetings/{after}/statements"),
        &json!({"speaker_name": "A. Speaker", "text": "We agree."}),
    )
    .await
    .ok(201);
    assert_eq!(
        app.delete(&format!("/v1/meetings/{before}")).await.status,
        204
    );

    read_to_the_end(&app, &mut since_now, "", 3).await;
    let seen: Vec<(String, String, String)> = since_now
        .items
        .iter()
        .map(|item| {
            (
                item["action"].as_str().unwrap().to_owned(),
                item["resource"].as_str().unwrap().to_owned(),
                item["meeting_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = vec![
        ("create".into(), "meeting".into(), after.clone()),
        ("create".into(), "statement".into(), after.clone()),
        ("delete".into(), "meeting".into(), before.clone()),
    ];
    assert_eq!(seen, expected);
    assert_eq!(since_now.items[2]["id"], before.as_str());

    // One meeting's changes, and one kind of record's.
    let mut one = Reader::default();
    read_to_the_end(&app, &mut one, &format!("&meeting_id={after}"), 2).await;
    assert_eq!(one.items.len(), 2);
    assert!(
        one.items
            .iter()
            .all(|item| item["meeting_id"] == after.as_str())
    );
    let mut meetings_only = Reader::default();
    read_to_the_end(&app, &mut meetings_only, "&resource=meeting", 3).await;
    assert_eq!(meetings_only.items.len(), 3);
    assert!(
        meetings_only
            .items
            .iter()
            .all(|item| item["resource"] == "meeting")
    );

    // The meetings list's filters follow one country's meetings, as they stand now. A
    // meeting deleted since is no longer anyone's: its deletion goes to every such
    // reader, so a mirror drops it whatever it followed.
    let rus_meeting = app
        .post(
            "/v1/meetings",
            &meeting("Elsewhere", "2021-10-14", &["USA", "RUS"]),
        )
        .await;
    let rus_meeting = rus_meeting.ok(201)["id"].as_str().unwrap().to_owned();
    for (filter, expected) in [
        (
            "&country=RUS",
            vec![
                ("create", after.as_str()),
                ("create", after.as_str()),
                ("delete", before.as_str()),
                ("create", rus_meeting.as_str()),
            ],
        ),
        (
            "&country=RUS&country=USA&from=2021-10-14",
            vec![
                ("delete", before.as_str()),
                ("create", rus_meeting.as_str()),
            ],
        ),
        ("&country=CUB", vec![("delete", before.as_str())]),
    ] {
        let mut following = Reader::default();
        read_to_the_end(&app, &mut following, filter, expected.len()).await;
        let seen: Vec<(&str, &str)> = following
            .items
            .iter()
            .map(|item| {
                (
                    item["action"].as_str().unwrap(),
                    item["meeting_id"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(seen, expected, "{filter}");
    }
    let refused = app.get("/v1/changes?country=XX").await;
    assert!(
        refused.problem(400).to_string().contains("country"),
        "{}",
        refused.text
    );

    // A caught-up reader is handed a cursor it can keep polling with, and nothing twice.
    let caught_up = one.items.len();
    one.catch_up(&app, &format!("&meeting_id={after}")).await;
    assert_eq!(one.items.len(), caught_up);

    // A cursor is good only for the filters that made it, and says which parameter.
    let cursor = one.cursor.clone().unwrap();
    let refused = app
        .get(&format!("/v1/changes?after={cursor}&resource=meeting"))
        .await;
    assert!(
        refused.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("`after`")
    );
}

#[tokio::test]
async fn bad_feed_parameters_are_400s_naming_them() {
    let app = TestApp::spawn().await;
    let forged = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&json!({"l": "changes", "f": "44136fa355b3678a", "k": [-1, 1]}))
            .unwrap(),
    );
    let huge = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(
            &json!({"l": "changes", "f": "44136fa355b3678a", "k": [u64::MAX, i64::MAX]}),
        )
        .unwrap(),
    );
    // The largest position there is lists nothing, and is no error.
    let page = app.get(&format!("/v1/changes?after={huge}")).await;
    assert_eq!(page.ok(200)["items"], json!([]));
    for (query, name) in [
        ("after=nonsense", "after"),
        (&*format!("after={forged}"), "after"),
        ("after=NOW", "after"),
        ("resource=meetings", "resource"),
        ("meeting_id=42", "meeting_id"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("cursor=x", "cursor"),
        ("after=%00", "after"),
    ] {
        let refused = app.get(&format!("/v1/changes?{query}")).await;
        let detail = refused.problem(400)["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(&format!("`{name}`")), "{query}: {detail}");
    }
}
