//! Lists and filters over meetings, statements, agreements, people and countries.

use std::collections::HashSet;

use crate::common::{TestApp, derived_drift, meeting, seed_meeting};
use serde_json::{Value, json};

fn titles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn meetings_filter_by_every_field() {
    let app = TestApp::spawn().await;
    app.create_meeting(&seed_meeting()).await;
    let mut paris = meeting("Paris talks", "2016-03-01", &["FRA", "RUS"]);
    paris["location"] = json!({"city": "París", "country": "FR"});
    paris["topics"] = json!(["energy"]);
    paris["kind"] = json!("summit");
    app.create_meeting(&paris).await;
    app.create_meeting(&meeting("Old Havana talks", "2010-05-05", &["CUB", "RUS"]))
        .await;
    app.create_meeting(&meeting("Cuba and Spain", "2019-07-07", &["CUB", "ESP"]))
        .await;

    let cub_rus = app.get("/v1/meetings?country=CUB&country=ru").await;
    assert_eq!(
        titles(cub_rus.ok(200)),
        [
            "Díaz-Canel meets Russian Deputy Prime Minister Borisov in Havana",
            "Old Havana talks"
        ]
    );
    let since = app
        .get("/v1/meetings?country=CUB&country=RUS&from=2015-01-01")
        .await;
    assert_eq!(titles(since.ok(200)).len(), 1);
    let until = app.get("/v1/meetings?to=2016-03-01&sort=date").await;
    assert_eq!(titles(until.ok(200)), ["Old Havana talks", "Paris talks"]);
    let by_city = app.get("/v1/meetings?city=paris").await;
    assert_eq!(titles(by_city.ok(200)), ["Paris talks"]);
    let by_topic = app.get("/v1/meetings?topic=energy").await;
    assert_eq!(titles(by_topic.ok(200)).len(), 2);
    let by_kind = app.get("/v1/meetings?kind=summit").await;
    assert_eq!(titles(by_kind.ok(200)), ["Paris talks"]);
    let by_person = app.get("/v1/meetings?person=MIGUEL%20DIAZ-CANEL").await;
    assert_eq!(titles(by_person.ok(200)).len(), 1);
    let person_id = by_person.json["items"][0]["participants"][0]["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let by_person_id = app.get(&format!("/v1/meetings?person={person_id}")).await;
    assert_eq!(titles(by_person_id.ok(200)).len(), 1);
    let by_text = app.get("/v1/meetings?q=international%20law").await;
    assert_eq!(
        titles(by_text.ok(200)).len(),
        1,
        "q searches statements too"
    );
    let by_agreement = app.get("/v1/meetings?q=flights").await;
    assert_eq!(
        titles(by_agreement.ok(200)).len(),
        1,
        "q searches agreements too"
    );
    let stemmed = app.get("/v1/meetings?q=shipments").await;
    assert_eq!(titles(stemmed.ok(200)).len(), 1, "English stemming");
    let total = app
        .get("/v1/meetings?country=CUB&include_total=true&limit=1")
        .await;
    assert_eq!(total.ok(200)["total"], 3);
    assert_eq!(total.json["items"].as_array().unwrap().len(), 1);

    let summary = &cub_rus.json["items"][0];
    assert!(
        summary.get("statements").is_none(),
        "list items are summaries"
    );
    assert_eq!(summary["participants"][0]["name"], "Miguel Díaz-Canel");
    assert_eq!(summary["countries"], json!(["CUB", "RUS"]));
}

#[tokio::test]
async fn paging_visits_every_meeting_once_in_order() {
    let app = TestApp::spawn().await;
    // Several meetings share a date, so the cursor must break ties.
    for index in 0..23 {
        let date = format!("2020-01-{:02}", 1 + index % 5);
        app.create_meeting(&meeting(&format!("M{index}"), &date, &["USA", "CAN"]))
            .await;
    }
    let all = app.walk("/v1/meetings?country=USA", 500).await;
    assert_eq!(all.len(), 23);
    for limit in [1, 4, 7, 23] {
        let newest = app.walk("/v1/meetings?country=USA", limit).await;
        assert_eq!(newest, all, "limit {limit}");
        let mut oldest = app.walk("/v1/meetings?country=USA&sort=date", limit).await;
        oldest.reverse();
        assert_eq!(oldest, all, "limit {limit}, oldest first");
    }
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 23);
}

/// Every id a search lists, page by page, with its rank.
async fn searched(app: &TestApp, q: &str) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    let mut uri = format!("/v1/statements?q={q}&limit=500");
    loop {
        let page = app.get(&uri).await;
        let body = page.ok(200);
        for item in body["items"].as_array().unwrap() {
            found.push((
                item["id"].as_str().unwrap().to_owned(),
                item["rank"].as_f64().unwrap(),
            ));
        }
        match body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/statements?q={q}&limit=500&cursor={cursor}"),
            None => return found,
        }
    }
}

#[tokio::test]
async fn a_search_ranks_the_newest_thousand_matches_however_common_its_words() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let meeting_id: uuid::Uuid = doc["id"].as_str().unwrap().parse().unwrap();
    // More statements match the common word than a search collects through the index
    // (it walks them newest first instead); 1,500 of them hold a rare word too, which
    // is collected. Each word is repeated up to four times, so ranks differ.
    const STATEMENTS: usize = 21_000;
    let ids: Vec<uuid::Uuid> = (0..STATEMENTS).map(|_| uuid::Uuid::now_v7()).collect();
    let texts: Vec<String> = (0..STATEMENTS)
        .map(|i| {
            let common = "lorem ".repeat(1 + i % 4);
            let rare = if i % 14 == 0 {
                "zircon ".repeat(1 + i % 3)
            } else {
                String::new()
            };
            format!("{common}{rare}filler {i}")
        })
        .collect();
    let positions: Vec<i32> = (0..STATEMENTS).map(|i| i as i32 + 100).collect();
    sqlx::query(
        "INSERT INTO statements (id, meeting_id, text, language, position)
         SELECT id, $1, text, 'en', position FROM unnest($2::uuid[], $3::text[], $4::int[]) AS t(id, text, position)",
    )
    .bind(meeting_id)
    .bind(&ids)
    .bind(&texts)
    .bind(&positions)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("ANALYZE statements")
        .execute(&app.db)
        .await
        .unwrap();

    for (q, matching) in [
        ("lorem", (0..STATEMENTS).collect::<Vec<_>>()),
        ("zircon", (0..STATEMENTS).filter(|i| i % 14 == 0).collect()),
    ] {
        let found = searched(&app, q).await;
        assert_eq!(
            found.len(),
            1000,
            "{q}: the newest 1,000 matches are ranked"
        );
        let newest: HashSet<String> = matching
            .iter()
            .rev()
            .take(1000)
            .map(|&i| ids[i].to_string())
            .collect();
        let listed: HashSet<String> = found.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(
            listed, newest,
            "{q}: exactly the newest 1,000 matches, each once"
        );
        assert!(
            found.windows(2).all(|pair| pair[0].1 >= pair[1].1),
            "{q}: best match first across pages"
        );
        assert!(found[0].1 > found[999].1, "{q}: ranks differ");
    }
}

#[tokio::test]
async fn statements_are_searched_and_filtered() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let id = doc["id"].as_str().unwrap();
    let moscow = json!({
        "title": "Reunión en Moscú", "date": "2022-02-02",
        "participants": [{"name": "Miguel Díaz-Canel", "country": "CUB"}],
        "statements": [{"speaker_participant": 0, "language": "es", "text": "Los acuerdos firmados hoy fortalecen nuestra cooperación."}]
    });
    app.create_meeting(&moscow).await;

    let found = app.get("/v1/statements?q=international%20law").await;
    let items = found.ok(200)["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["speaker"]["name"], "Miguel Díaz-Canel");
    assert_eq!(items[0]["meeting"]["id"], id);
    assert_eq!(items[0]["meeting"]["date"], "2021-10-12");
    assert!(
        items[0]["headline"]
            .as_str()
            .unwrap()
            .contains("«international»")
    );

    let phrase = app.get("/v1/statements?q=%22humanitarian%20aid%22").await;
    assert_eq!(phrase.ok(200)["items"].as_array().unwrap().len(), 1);
    let either = app.get("/v1/statements?q=coffee%20or%20remoteness").await;
    assert_eq!(either.ok(200)["items"].as_array().unwrap().len(), 2);
    let spanish = app.get("/v1/statements?q=acuerdos").await;
    assert_eq!(
        spanish.ok(200)["items"].as_array().unwrap().len(),
        1,
        "Spanish text is found by its own words"
    );
    let accents = app.get("/v1/statements?q=cooperacion").await;
    assert_eq!(
        accents.ok(200)["items"].as_array().unwrap().len(),
        1,
        "accent-insensitive"
    );

    let by_speaker = app.get("/v1/statements?speaker=diaz-canel").await;
    assert_eq!(
        by_speaker.ok(200)["items"].as_array().unwrap().len(),
        3,
        "part of a name will do"
    );
    let by_speaker = app.get("/v1/statements?speaker=miguel%20diaz-canel").await;
    assert_eq!(by_speaker.ok(200)["items"].as_array().unwrap().len(), 3);
    let by_country = app.get("/v1/statements?country=RU").await;
    assert_eq!(by_country.ok(200)["items"].as_array().unwrap().len(), 2);
    let by_language = app.get("/v1/statements?language=es").await;
    assert_eq!(by_language.ok(200)["items"].as_array().unwrap().len(), 1);
    let by_topic = app.get("/v1/statements?topic=trade").await;
    assert_eq!(by_topic.ok(200)["items"].as_array().unwrap().len(), 1);
    let by_meeting = app.get(&format!("/v1/statements?meeting_id={id}")).await;
    assert_eq!(by_meeting.ok(200)["items"].as_array().unwrap().len(), 4);
    let by_date = app.get("/v1/statements?from=2022-01-01").await;
    assert_eq!(by_date.ok(200)["items"].as_array().unwrap().len(), 1);

    assert_eq!(app.walk("/v1/statements", 1).await.len(), 5);
    assert_eq!(app.walk("/v1/statements?q=we%20or%20our", 1).await.len(), 4);
}

#[tokio::test]
async fn agreements_are_filtered() {
    let app = TestApp::spawn().await;
    app.create_meeting(&seed_meeting()).await;
    let pledges = app
        .get("/v1/agreements?kind=pledge&due_before=2021-12-31&status=agreed")
        .await;
    let items = pledges.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["title"],
        "Russia sends another humanitarian aid shipment to Cuba"
    );
    assert_eq!(items[0]["meeting"]["date"], "2021-10-12");

    let agreement_uri = format!("/v1/agreements/{}", items[0]["id"].as_str().unwrap());
    app.patch(&agreement_uri, &json!({"status": "fulfilled"}))
        .await
        .ok(200);
    let unfulfilled = app
        .get("/v1/agreements?kind=pledge&due_before=2021-12-31&status=agreed&status=proposed")
        .await;
    assert_eq!(unfulfilled.ok(200)["items"].as_array().unwrap().len(), 0);

    let both = app.get("/v1/agreements?party=CU&party=RU").await;
    assert_eq!(both.ok(200)["items"].as_array().unwrap().len(), 2);
    let energy = app.get("/v1/agreements?topic=energy").await;
    assert_eq!(energy.ok(200)["items"].as_array().unwrap().len(), 1);
    let plans = app
        .get("/v1/agreements?kind=plan&from=2021-10-12&to=2021-10-12")
        .await;
    assert_eq!(plans.ok(200)["items"].as_array().unwrap().len(), 2);
    let due_after = app.get("/v1/agreements?due_after=2022-01-01").await;
    assert_eq!(due_after.ok(200)["items"].as_array().unwrap().len(), 0);
    let oil = app.get("/v1/agreements?q=oil").await;
    assert_eq!(oil.ok(200)["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.walk("/v1/agreements", 1).await.len(), 3);
}

#[tokio::test]
async fn people_are_found_by_name_or_alias_without_accents() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let person_id = doc["participants"][1]["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let found = app.get("/v1/people?q=DIAZ").await;
    let items = found.ok(200)["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "Miguel Díaz-Canel");
    assert_eq!(items[0]["meeting_count"], 1);
    assert_eq!(
        app.get("/v1/people?q=100%25").await.ok(200)["items"],
        json!([]),
        "LIKE wildcards are literal"
    );

    let uri = format!("/v1/people/{person_id}");
    let patched = app.patch(&uri, &json!({"aliases": ["Юрий Борисов"], "identifiers": [{"scheme": "wikidata", "value": "Q4164115"}]})).await;
    assert_eq!(patched.ok(200)["aliases"], json!(["Юрий Борисов"]));
    assert_eq!(
        app.get("/v1/people?q=юрий").await.ok(200)["items"][0]["id"],
        person_id.as_str()
    );
    let by_alias = app.get("/v1/meetings?person=%D0%AE%D1%80%D0%B8%D0%B9%20%D0%91%D0%BE%D1%80%D0%B8%D1%81%D0%BE%D0%B2").await;
    assert_eq!(
        by_alias.ok(200)["items"].as_array().unwrap().len(),
        1,
        "meetings by alias"
    );
    assert_eq!(
        app.get(&uri).await.ok(200)["identifiers"][0]["value"],
        "Q4164115"
    );
    assert_eq!(app.walk("/v1/people", 1).await.len(), 3);
    let rus = app.get("/v1/people?country=RUS").await;
    assert_eq!(rus.ok(200)["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn countries_show_their_meetings_and_partners() {
    let app = TestApp::spawn().await;
    app.create_meeting(&seed_meeting()).await;
    app.create_meeting(&meeting("Old Havana talks", "2010-05-05", &["CUB", "RUS"]))
        .await;
    app.create_meeting(&meeting("Cuba and Spain", "2019-07-07", &["CUB", "ESP"]))
        .await;
    app.create_meeting(&meeting("Soviet times", "1975-01-01", &["CUB", "SUN"]))
        .await;

    let cuba = app.get("/v1/countries/cu").await;
    let cuba = cuba.ok(200);
    assert_eq!(cuba["code"], "CUB");
    assert_eq!(cuba["name"], "Cuba");
    assert_eq!(cuba["meetings"], 4);
    assert_eq!(cuba["last_met_on"], "2021-10-12");

    let partners = app.get("/v1/countries/CUB/partners").await;
    assert_eq!(
        partners.ok(200)["items"],
        json!([
            {"country": "RUS", "meetings": 2, "last_met_on": "2021-10-12"},
            {"country": "ESP", "meetings": 1, "last_met_on": "2019-07-07"},
            {"country": "SUN", "meetings": 1, "last_met_on": "1975-01-01"},
        ])
    );
    let recent = app
        .get("/v1/countries/CUB/partners?from=2015-01-01&to=2020-01-01")
        .await;
    assert_eq!(
        recent.ok(200)["items"],
        json!([{"country": "ESP", "meetings": 1, "last_met_on": "2019-07-07"}])
    );
    let soviet = app.get("/v1/countries/SUN").await;
    assert_eq!(soviet.ok(200)["former"], true);
    assert_eq!(soviet.json["meetings"], 1);
}

/// Lists by country read `meeting_country_pairs`, which triggers keep in step with
/// every write that changes a meeting's countries or date.
#[tokio::test]
async fn country_lists_follow_every_change_to_a_meetings_countries_and_date() {
    let app = TestApp::spawn().await;
    let talks = app
        .create_meeting(&meeting("Talks", "2020-01-01", &["CUB", "RUS"]))
        .await;
    let id = talks["id"].as_str().unwrap().to_owned();
    app.create_meeting(&meeting("Later", "2021-01-01", &["CUB", "RUS", "VNM"]))
        .await;
    app.create_meeting(&meeting("Elsewhere", "2022-01-01", &["ESP", "VNM"]))
        .await;
    let listed = |uri: &'static str| {
        let app = &app;
        async move { titles(app.get(uri).await.ok(200)) }
    };
    assert_eq!(
        listed("/v1/meetings?country=RUS&country=CUB").await,
        ["Later", "Talks"]
    );
    assert_eq!(
        listed("/v1/meetings?country=CUB&sort=date").await,
        ["Talks", "Later"]
    );
    assert_eq!(
        listed("/v1/meetings?country=VNM&country=CUB&country=RUS").await,
        ["Later"]
    );
    assert_eq!(
        listed("/v1/meetings?country=VNM&kind=bilateral&to=2021-12-31").await,
        ["Later"]
    );

    // A participant from a third country joins; the date moves past the others.
    app.post(
        &format!("/v1/meetings/{id}/participants"),
        &json!({"name": "Pham Minh Chinh", "country": "VNM"}),
    )
    .await
    .ok(201);
    app.patch(
        &format!("/v1/meetings/{id}"),
        &json!({"date": "2023-05-05"}),
    )
    .await
    .ok(200);
    assert_eq!(
        listed("/v1/meetings?country=VNM").await,
        ["Talks", "Elsewhere", "Later"]
    );
    assert_eq!(
        listed("/v1/meetings?country=CUB&country=VNM").await,
        ["Talks", "Later"]
    );
    assert_eq!(app.walk("/v1/meetings?country=VNM", 1).await.len(), 3);

    // Deleted, it is gone from every list, and so are its pairs.
    app.delete(&format!("/v1/meetings/{id}")).await.ok(204);
    assert_eq!(
        listed("/v1/meetings?country=CUB&country=RUS").await,
        ["Later"]
    );
    let pairs: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM meeting_country_pairs WHERE meeting_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(pairs, 0);
    // Every meeting has a row for each of its countries' pairs, nothing else.
    assert_eq!(derived_drift(&app.db).await, (0, 0, 0, 0, 0));
}

/// Summaries show participants from `meeting_participant_summaries`, which triggers
/// rebuild on every write to participants and every change of a person's name.
#[tokio::test]
async fn summaries_follow_participants_and_the_names_of_their_people() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let id = doc["id"].as_str().unwrap().to_owned();
    let other = app
        .create_meeting(&meeting("Other talks", "2020-01-01", &["CUB", "VNM"]))
        .await;
    assert_eq!(derived_drift(&app.db).await, (0, 0, 0, 0, 0));
    let summary = |body: &Value, id: &str| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["participants"]
            .clone()
    };
    let listed = app.get("/v1/meetings").await;
    let before = summary(listed.ok(200), &id);
    assert_eq!(before.as_array().unwrap().len(), 4);
    assert_eq!(before[0]["name"], "Miguel Díaz-Canel");
    assert_eq!(
        before[3]["name"],
        "Russian-Cuban Intergovernmental Commission"
    );

    // Added, edited and removed participants.
    app.post(
        &format!("/v1/meetings/{id}/participants"),
        &json!({"name": "Bruno Rodríguez", "country": "CUB", "role": "Foreign Minister"}),
    )
    .await
    .ok(201);
    let second = doc["participants"][1]["id"].as_str().unwrap();
    app.patch(
        &format!("/v1/participants/{second}"),
        &json!({"role": "Deputy Prime Minister"}),
    )
    .await
    .ok(200);
    let third = doc["participants"][2]["id"].as_str().unwrap();
    app.delete(&format!("/v1/participants/{third}"))
        .await
        .ok(204);
    let listed = app.get("/v1/meetings").await;
    let after = summary(listed.ok(200), &id);
    let roles: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "President of Cuba",
            "Deputy Prime Minister",
            "members",
            "Foreign Minister"
        ]
    );

    // A person renamed is renamed in every meeting's summary.
    let person = doc["participants"][0]["person"]["id"].as_str().unwrap();
    app.patch(
        &format!("/v1/people/{person}"),
        &json!({"name": "Miguel Mario Díaz-Canel Bermúdez"}),
    )
    .await
    .ok(200);
    let listed = app.get("/v1/meetings?country=CUB").await;
    assert_eq!(
        summary(listed.ok(200), &id)[0]["name"],
        "Miguel Mario Díaz-Canel Bermúdez"
    );

    // A meeting deleted takes its summary with it; the others are untouched.
    app.delete(&format!("/v1/meetings/{id}")).await.ok(204);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM meeting_participant_summaries")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, 1);
    let listed = app.get("/v1/meetings").await;
    assert_eq!(
        summary(listed.ok(200), other["id"].as_str().unwrap())
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(derived_drift(&app.db).await, (0, 0, 0, 0, 0));
}

/// Writers adding participants to one meeting at once take turns on its summary, and
/// each sees what the one before it committed.
#[tokio::test]
async fn concurrent_participants_all_reach_the_summary() {
    let app = TestApp::spawn().await;
    let doc = app
        .create_meeting(&meeting("Crowded talks", "2024-02-02", &["CUB"]))
        .await;
    let uri = format!("/v1/meetings/{}/participants", doc["id"].as_str().unwrap());
    let writers = (0..8).map(|i| {
        let (app, uri) = (&app, uri.clone());
        async move {
            app.post(
                &uri,
                &json!({"name": format!("Delegate {i}"), "country": "VNM"}),
            )
            .await
            .status
        }
    });
    for status in futures::future::join_all(writers).await {
        assert_eq!(status, 201);
    }
    assert_eq!(derived_drift(&app.db).await, (0, 0, 0, 0, 0));
    let listed = app.get("/v1/meetings").await;
    assert_eq!(
        listed.ok(200)["items"][0]["participants"]
            .as_array()
            .unwrap()
            .len(),
        9
    );

    // Edits of different participants of one meeting lock different rows, yet the
    // summary ends with every edit.
    let seeded = app.create_meeting(&seed_meeting()).await;
    let edits = seeded["participants"].as_array().unwrap().iter().map(|p| {
        let uri = format!("/v1/participants/{}", p["id"].as_str().unwrap());
        let app = &app;
        async move { app.patch(&uri, &json!({"role": "Negotiator"})).await.status }
    });
    for status in futures::future::join_all(edits).await {
        assert_eq!(status, 200);
    }
    assert_eq!(derived_drift(&app.db).await, (0, 0, 0, 0, 0));
}

/// A rename rebuilds the summaries of the person's meetings while others write to those
/// meetings naming the same person: they take turns, and neither side deadlocks.
#[tokio::test]
async fn renames_and_writes_to_the_same_meetings_do_not_deadlock() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let meeting = doc["id"].as_str().unwrap().to_owned();
    let person = doc["participants"][0]["person"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let people_uri = format!("/v1/people/{person}");
    let participants_uri = format!("/v1/meetings/{meeting}/participants");
    let statements_uri = format!("/v1/meetings/{meeting}/statements");
    for round in 0..10 {
        let name = json!({"name": format!("Miguel Díaz-Canel {round}")});
        let joins = json!({"person_id": person, "role": format!("Round {round}")});
        let says = json!({"person_id": person, "text": format!("Said in round {round}.")});
        let rename = app.patch(&people_uri, &name);
        let join = app.post(&participants_uri, &joins);
        let say = app.post(&statements_uri, &says);
        let (renamed, joined, said) = tokio::join!(rename, join, say);
        assert_eq!(
            (
                renamed.status.as_u16(),
                joined.status.as_u16(),
                said.status.as_u16()
            ),
            (200, 201, 201),
            "round {round}: {} {} {}",
            renamed.text,
            joined.text,
            said.text
        );
    }
    assert_eq!(derived_drift(&app.db).await, (0, 0, 0, 0, 0));
}
