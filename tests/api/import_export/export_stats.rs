//! Export as NDJSON and CSV, and the dashboard counts.

use crate::common::{TestApp, meeting, seed_meeting};
use serde_json::{Value, json};

#[tokio::test]
async fn export_streams_documents_that_import_again() {
    let app = TestApp::spawn().await;
    let seed = app.create_meeting(&seed_meeting()).await;
    app.create_meeting(&meeting("Paris talks", "2016-03-01", &["FRA", "RUS"]))
        .await;

    let ndjson = app.get("/v1/export?country=CUB").await;
    assert_eq!(ndjson.status, 200);
    let lines: Vec<Value> = ndjson
        .text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let doc = &lines[0];
    // Its id, kept on import while it is free, so that what names it still does.
    assert_eq!(doc["id"], seed["id"]);
    assert!(
        doc["participants"][0].get("id").is_none(),
        "people are named, not numbered"
    );
    assert_eq!(doc["statements"][0]["speaker_participant"], 0);
    assert_eq!(doc["statements"][1]["speaker_participant"], 1);
    assert_eq!(doc["participants"][0]["name"], "Miguel Díaz-Canel");
    assert_eq!(doc["agreements"][2]["due_by"], "2021-12-31");

    // The export is a valid document: it goes back in through POST.
    let mut copy = doc.clone();
    copy["identifiers"] = json!([]);
    let again = app.post("/v1/meetings", &copy).await;
    assert_eq!(
        again.ok(201)["statements"][0]["speaker"]["name"],
        "Miguel Díaz-Canel"
    );
    // A copy beside its original gets ids of its own.
    assert_ne!(again.json["id"], seed["id"]);
    assert_ne!(
        again.json["agreements"][0]["id"],
        seed["agreements"][0]["id"]
    );

    let csv = app.get("/v1/export?format=csv&sort=date").await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[3], "title");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][3], "Paris talks");
    assert_eq!(&rows[1][8], "CUB; RUS");
    assert!(rows[1][10].contains("Miguel Díaz-Canel (President of Cuba) [CUB]"));
    assert_eq!(&rows[1][11], "4", "statement count");

    app.get("/v1/export?format=xml").await.problem(400);
    app.get("/v1/export?country=XX").await.problem(400);
}

#[tokio::test]
async fn stats_count_what_the_lists_list() {
    let app = TestApp::spawn().await;
    app.create_meeting(&seed_meeting()).await;
    app.create_meeting(&meeting("Old Havana talks", "2010-05-05", &["CUB", "RUS"]))
        .await;
    app.create_meeting(&meeting(
        "Later Havana talks",
        "2010-06-05",
        &["CUB", "ESP"],
    ))
    .await;

    let years = app.get("/v1/stats/meetings?group_by=year").await;
    assert_eq!(
        years.ok(200)["items"],
        json!([{"key": "2010", "count": 2}, {"key": "2021", "count": 1}])
    );
    let months = app
        .get("/v1/stats/meetings?group_by=month&country=RUS")
        .await;
    assert_eq!(
        months.ok(200)["items"],
        json!([{"key": "2010-05", "count": 1}, {"key": "2021-10", "count": 1}])
    );
    let countries = app.get("/v1/stats/meetings?group_by=country").await;
    assert_eq!(
        countries.ok(200)["items"],
        json!([{"key": "CUB", "count": 3}, {"key": "RUS", "count": 2}, {"key": "ESP", "count": 1}])
    );
    let kinds = app
        .get("/v1/stats/meetings?group_by=kind&from=2011-01-01")
        .await;
    assert_eq!(
        kinds.ok(200)["items"],
        json!([{"key": "bilateral", "count": 1}])
    );
    let topics = app
        .get("/v1/stats/meetings?group_by=topic&topic=energy")
        .await;
    assert_eq!(topics.ok(200)["items"].as_array().unwrap().len(), 6);

    let statuses = app.get("/v1/stats/agreements?group_by=status").await;
    assert_eq!(
        statuses.ok(200)["items"],
        json!([{"key": "agreed", "count": 3}])
    );
    let kinds = app.get("/v1/stats/agreements?group_by=kind").await;
    assert_eq!(
        kinds.ok(200)["items"],
        json!([{"key": "plan", "count": 2}, {"key": "pledge", "count": 1}])
    );
    let parties = app
        .get("/v1/stats/agreements?group_by=party&kind=plan")
        .await;
    assert_eq!(
        parties.ok(200)["items"],
        json!([{"key": "CUB", "count": 2}, {"key": "RUS", "count": 2}])
    );
    let topics = app.get("/v1/stats/agreements?group_by=topic").await;
    assert_eq!(
        topics.ok(200)["items"][0],
        json!({"key": "energy", "count": 1})
    );

    app.get("/v1/stats/meetings").await.problem(400);
    app.get("/v1/stats/meetings?group_by=planet")
        .await
        .problem(400);
    app.get("/v1/stats/meetings?group_by=year&group_by=month")
        .await
        .problem(400);
    app.get("/v1/stats/meetings?group_by=year&colour=red")
        .await
        .problem(400);
    app.get("/v1/stats/agreements?group_by=status&party=XX")
        .await
        .problem(400);
}

#[tokio::test]
async fn csv_cells_that_a_spreadsheet_would_run_are_neutralised() {
    let app = TestApp::spawn().await;
    let mut hostile = meeting(
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "2020-01-01",
        &["CUB", "RUS"],
    );
    hostile["participants"][0]["name"] = json!("@SUM(1+1)");
    hostile["location"] = json!({"city": "+cmd|' /C calc'!A0", "country": "CUB"});
    hostile["summary"] = json!("-2+3");
    app.create_meeting(&hostile).await;
    let mut tabbed = meeting("Tabbed", "2019-01-01", &["FRA"]);
    tabbed["summary"] = json!("\t=1+1");
    app.create_meeting(&tabbed).await;
    app.create_meeting(&meeting("Plain = talks", "2018-01-01", &["FRA"]))
        .await;

    let csv = app.get("/v1/export?format=csv&sort=date").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.text.starts_with("id,"),
        "no byte order mark unless asked"
    );
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        &rows[0][3], "Plain = talks",
        "only a leading sign is touched"
    );
    assert_eq!(&rows[1][14], "'\t=1+1");
    assert_eq!(
        &rows[2][3],
        "'=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(&rows[2][5], "'+cmd|' /C calc'!A0");
    assert!(
        rows[2][10].starts_with("'@SUM(1+1) (Head of State)"),
        "{}",
        &rows[2][10]
    );
    assert_eq!(&rows[2][14], "'-2+3");
    // No cell of any row begins with a character a spreadsheet evaluates.
    for row in &rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} would run as a formula"
            );
        }
    }

    // The NDJSON export is data, not a spreadsheet: it keeps values as they are.
    let ndjson = app.get("/v1/export?sort=date").await;
    let last: Value = serde_json::from_str(ndjson.text.lines().last().unwrap()).unwrap();
    assert_eq!(
        last["title"],
        "=HYPERLINK(\"http://evil.example\",\"click\")"
    );
}

#[tokio::test]
async fn bom_true_starts_the_csv_with_a_byte_order_mark_for_excel() {
    let app = TestApp::spawn().await;
    app.create_meeting(&seed_meeting()).await;
    let csv = app.get("/v1/export?format=csv&bom=true").await;
    assert_eq!(csv.status, 200);
    let body = csv
        .text
        .strip_prefix('\u{feff}')
        .expect("a UTF-8 byte order mark first");
    assert!(body.starts_with("id,date,"));
    assert!(body.contains("Miguel Díaz-Canel"));
    let plain = app.get("/v1/export?format=csv&bom=false").await;
    assert!(plain.text.starts_with("id,"));

    let problem = app.get("/v1/export?bom=true").await.problem(400).clone();
    assert!(
        problem["detail"].as_str().unwrap().contains("`bom`"),
        "{problem}"
    );
    let problem = app
        .get("/v1/export?format=csv&bom=yes")
        .await
        .problem(400)
        .clone();
    assert!(
        problem["detail"].as_str().unwrap().contains("`bom`"),
        "{problem}"
    );
    let problem = app
        .get("/v1/export?format=csv&bom=true&bom=true")
        .await
        .problem(400)
        .clone();
    assert!(
        problem["detail"].as_str().unwrap().contains("give it once"),
        "{problem}"
    );
}

/// The counts kept as meetings are written (every meeting, no filter) agree with the
/// counts of the meetings themselves (a filter that keeps them all) through every
/// kind of write, and after they are folded together.
#[tokio::test]
async fn kept_counts_agree_with_the_meetings() {
    let app = TestApp::spawn().await;
    let groupings = ["year", "month", "kind", "country", "topic"];
    let agree = async |when: &str| {
        crate::common::assert_kept_counts_agree(&app, &groupings, when).await;
    };
    agree("with no meetings").await;
    app.create_meeting(&seed_meeting()).await;
    let mut ids = Vec::new();
    for (n, (date, countries)) in [
        ("2010-05-05", vec!["CUB", "RUS"]),
        ("2010-06-01", vec!["FRA"]),
        ("1975-01-31", vec!["SUN", "USA"]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut doc = meeting(&format!("Talks {n}"), date, &countries);
        doc["topics"] = json!(["trade", "energy"]);
        doc["kind"] = json!("bilateral");
        ids.push(
            app.create_meeting(&doc).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    agree("after creates").await;

    // A new date, kind and topics; a new participant's country; a delete.
    app.patch(
        &format!("/v1/meetings/{}", ids[0]),
        &json!({"date": "2011-02-03", "kind": "summit", "topics": ["security"]}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/v1/meetings/{}/participants", ids[1]),
        &json!({"name": "A Minister", "country": "DEU"}),
    )
    .await
    .ok(201);
    app.delete(&format!("/v1/meetings/{}", ids[2])).await;
    agree("after changes").await;

    // An import writes many meetings in a statement.
    let lines = (0..20)
        .map(|n| {
            meeting(
                &format!("Imported {n}"),
                &format!("199{}-01-01", n % 10),
                &["CHN", "IND"],
            )
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let auth = format!("Bearer {}", app.write_key);
    let imported = app
        .send(
            axum::http::Method::POST,
            "/v1/import",
            &[
                ("authorization", &auth),
                ("content-type", "application/x-ndjson"),
            ],
            lines.into_bytes(),
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    agree("after an import").await;

    let folded = chancery::store::stats::compact(&app.db).await.unwrap();
    assert!(folded > 0);
    agree("once folded").await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM meeting_counts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let keys: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT DISTINCT dimension, key FROM meeting_counts) k",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(rows, keys, "one row per key once folded");
    // Nothing written since: the next fold takes nothing.
    assert_eq!(chancery::store::stats::compact(&app.db).await.unwrap(), 0);
    agree("folded twice").await;
}
