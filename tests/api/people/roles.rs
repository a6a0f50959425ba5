//! Roles on people: written, read, edited and removed over HTTP, with dates as partial
//! as their sources, and every bad input a 4xx naming its field.

use serde_json::{Value, json};

use crate::common::{TestApp, meeting};

/// A person, made by a meeting naming them; their id.
async fn person(app: &TestApp, name: &str, country: &str, date: &str) -> (String, String) {
    let mut doc = meeting(&format!("{name} visits"), date, &[country]);
    doc["participants"][0]["name"] = json!(name);
    let stored = app.create_meeting(&doc).await;
    (
        stored["participants"][0]["person"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        stored["id"].as_str().unwrap().to_owned(),
    )
}

fn bonsal_in_havana() -> Value {
    json!({
        "title": "Ambassador Extraordinary and Plenipotentiary",
        "kind": "chief_of_mission",
        "serves": "USA",
        "posted_to": "cu",
        "appointed_on": "1959-02-16",
        "started_on": "1959-03",
        "ended_on": "1960-10-28",
        "end_note": "Left post on",
        "source": "https://history.state.gov/departmenthistory/people/bonsal-philip-wilson"
    })
}

#[tokio::test]
async fn roles_are_added_read_edited_and_removed() {
    let app = TestApp::spawn().await;
    let (bonsal, meeting) = person(&app, "Philip Wilson Bonsal", "USA", "1959-06-01").await;
    let meeting_uri = format!("/v1/meetings/{meeting}");
    let before = app.get(&meeting_uri).await;
    let tag = before.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(before.ok(200)["participants"][0]["roles_held"], json!([]));

    let created = app
        .post(&format!("/v1/people/{bonsal}/roles"), &bonsal_in_havana())
        .await;
    let role = created.ok(201).clone();
    let id = role["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.headers["location"].to_str().unwrap(),
        format!("/v1/roles/{id}")
    );
    // Kept as given: a month stays a month, the country is alpha-3.
    assert_eq!(role["started_on"], "1959-03");
    assert_eq!(role["posted_to"], "CUB");
    assert_eq!(role["person_id"], bonsal.as_str());

    // The meeting's document shows the role now, so its tag has changed with it.
    let after = app
        .send(
            axum::http::Method::GET,
            &meeting_uri,
            &[("if-none-match", &tag)],
            Vec::new(),
        )
        .await;
    let held = &after.ok(200)["participants"][0]["roles_held"][0];
    assert_eq!(
        held["title"],
        "Ambassador Extraordinary and Plenipotentiary"
    );
    assert_eq!(held["posted_to"], "CUB");
    assert_eq!(held["certain"], true);
    let new_tag = after.headers["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_tag, tag);
    let unchanged = app
        .send(
            axum::http::Method::GET,
            &meeting_uri,
            &[("if-none-match", &new_tag)],
            Vec::new(),
        )
        .await;
    assert_eq!(unchanged.status, 304);
    let auth = format!("Bearer {}", app.write_key);
    let stale = app
        .send(
            axum::http::Method::PATCH,
            &meeting_uri,
            &[
                ("authorization", &auth),
                ("content-type", "application/merge-patch+json"),
                ("if-match", &tag),
            ],
            br#"{"summary": "Talks."}"#.to_vec(),
        )
        .await;
    stale.problem(412);
    let current = app
        .send(
            axum::http::Method::PATCH,
            &meeting_uri,
            &[
                ("authorization", &auth),
                ("content-type", "application/merge-patch+json"),
                ("if-match", &new_tag),
            ],
            br#"{"summary": "Talks."}"#.to_vec(),
        )
        .await;
    current.ok(200);

    let shown = app.get(&format!("/v1/people/{bonsal}")).await;
    assert_eq!(shown.ok(200)["roles"], json!([role.clone()]));
    assert_eq!(app.get(&format!("/v1/roles/{id}")).await.ok(200), &role);

    let patched = app
        .patch(
            &format!("/v1/roles/{id}"),
            &json!({"started_on": "1959-03-03"}),
        )
        .await;
    assert_eq!(patched.ok(200)["started_on"], "1959-03-03");
    assert_eq!(patched.json["ended_on"], "1960-10-28");

    // Bad input: each a 4xx naming the field.
    let uri = format!("/v1/people/{bonsal}/roles");
    for (body, field) in [
        (
            json!({"title": "Envoy", "started_on": "1960", "ended_on": "1959-12"}),
            "ended_on",
        ),
        (
            json!({"title": "Envoy", "started_on": "1960-13"}),
            "started_on",
        ),
        (
            json!({"title": "Envoy", "ended_on": "1960-02-30"}),
            "ended_on",
        ),
        (
            json!({"title": "Envoy", "appointed_on": "60"}),
            "appointed_on",
        ),
        (json!({"title": "Envoy", "posted_to": "XX"}), "posted_to"),
        (json!({"title": "Envoy", "serves": "Cuba"}), "serves"),
        (json!({"title": "Envoy", "kind": "spy"}), "kind"),
        (json!({"title": ""}), "title"),
        (
            json!({"title": "Envoy", "source": "javascript:alert(1)"}),
            "source",
        ),
        (json!({"title": "Envoy", "rank": 1}), "rank"),
        (json!({"kind": "minister"}), "title"),
    ] {
        let refused = app.post(&uri, &body).await;
        refused.problem(422);
        assert!(
            refused.error_fields().iter().any(|f| f == field)
                || refused.json["detail"].as_str().unwrap().contains(field),
            "{body}: {}",
            refused.text
        );
    }
    let refused = app
        .patch(&format!("/v1/roles/{id}"), &json!({"ended_on": "1958"}))
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), ["ended_on"]);
    app.patch(&format!("/v1/roles/{id}"), &json!({"person_id": bonsal}))
        .await
        .problem(422);
    app.patch(&format!("/v1/people/{bonsal}"), &json!({"roles": []}))
        .await
        .problem(422);
    let nobody = "01900000-0000-7000-8000-000000000000";
    app.post(&format!("/v1/people/{nobody}/roles"), &bonsal_in_havana())
        .await
        .problem(404);
    app.get(&format!("/v1/roles/{nobody}")).await.problem(404);
    app.get("/v1/roles/not-a-uuid").await.problem(400);

    // The person's history holds their roles' changes.
    let history = app.get(&format!("/v1/people/{bonsal}/history")).await;
    let actions: Vec<(&str, &str)> = history.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap(),
                c["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, [("role", "create"), ("role", "update")]);

    app.delete(&format!("/v1/roles/{id}")).await.ok(204);
    app.get(&format!("/v1/roles/{id}")).await.problem(404);
    app.delete(&format!("/v1/roles/{id}")).await.problem(404);
    let history = app.get(&format!("/v1/people/{bonsal}/history")).await;
    assert_eq!(history.ok(200)["items"][2]["action"], "delete");
    app.get(&format!("/v1/people/{nobody}/history"))
        .await
        .problem(404);
}

#[tokio::test]
async fn who_held_it_on_a_day_says_how_certain_the_dates_make_it() {
    let app = TestApp::spawn().await;
    let (bonsal, _) = person(&app, "Philip Wilson Bonsal", "USA", "1959-06-01").await;
    let (vague, _) = person(&app, "Vague Envoy", "USA", "1958-06-01").await;
    let (earlier, _) = person(&app, "Earl E. Smith", "USA", "1958-06-01").await;
    app.post(&format!("/v1/people/{bonsal}/roles"), &bonsal_in_havana())
        .await
        .ok(201);
    // A year-only start in the year asked, and an unknown end.
    app.post(
        &format!("/v1/people/{vague}/roles"),
        &json!({"title": "Chargé d'Affaires", "kind": "chief_of_mission", "serves": "USA",
                "posted_to": "CUB", "started_on": "1960"}),
    )
    .await
    .ok(201);
    app.post(
        &format!("/v1/people/{earlier}/roles"),
        &json!({"title": "Ambassador Extraordinary and Plenipotentiary", "kind": "chief_of_mission",
                "serves": "USA", "posted_to": "CUB", "started_on": "1957-07-15", "ended_on": "1959-01-20"}),
    )
    .await
    .ok(201);

    let answer = app
        .get("/v1/roles?on=1960-06-01&posted_to=CUB&serves=USA")
        .await;
    let items = answer.ok(200)["items"].as_array().unwrap();
    let held: Vec<(&str, bool)> = items
        .iter()
        .map(|r| {
            (
                r["person"]["name"].as_str().unwrap(),
                r["certain"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [("Philip Wilson Bonsal", true), ("Vague Envoy", false)]
    );
    // Before its month: Bonsal's start is only known to the month.
    let march = app.get("/v1/roles?on=1959-03-02&posted_to=CUB").await;
    let held: Vec<(&str, bool)> = march.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["person"]["name"].as_str().unwrap(),
                r["certain"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(held, [("Philip Wilson Bonsal", false)]);
    let span = app
        .get("/v1/roles?from=1958-01-01&to=1959-12-31&posted_to=CUB&title=ambassador%20plenipotentiary")
        .await;
    assert_eq!(span.ok(200)["items"].as_array().unwrap().len(), 0);
    let span = app
        .get("/v1/roles?from=1958-01-01&to=1959-12-31&title=AMBASSADOR%20extraordinary%20and%20plenipotentiary")
        .await;
    assert_eq!(span.ok(200)["items"].as_array().unwrap().len(), 2);
    let by_person = app
        .get("/v1/roles?person=bonsal&kind=chief_of_mission")
        .await;
    assert_eq!(by_person.ok(200)["items"].as_array().unwrap().len(), 1);
    let paged = app.walk("/v1/roles?serves=USA", 1).await;
    assert_eq!(paged.len(), 3);

    for bad in [
        "on=1960-06",
        "posted_to=XX",
        "kind=spy",
        "title=",
        "title=%20%20",
        "person=",
        "nope=1",
        "on=99999-01-01",
    ] {
        app.get(&format!("/v1/roles?{bad}")).await.problem(400);
    }
}

/// The titles of the meetings `GET /v1/meetings?role=` lists for `title`.
async fn listed_for(app: &TestApp, title: &str) -> Vec<String> {
    let query = format!("/v1/meetings?role={}", title.replace(' ', "%20"));
    let page = app.get(&query).await;
    let mut titles: Vec<String> = page.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

#[tokio::test]
async fn the_office_filter_follows_every_write_that_changes_who_held_what_that_day() {
    let app = TestApp::spawn().await;
    let (kerry, visit) = person(&app, "John Forbes Kerry", "US", "2016-03-20").await;
    let drift = || crate::common::derived_drift(&app.db);
    let title = "Secretary of State";
    assert!(listed_for(&app, title).await.is_empty());

    // A role added: the meeting he attended that day is listed.
    let role = app
        .post(
            &format!("/v1/people/{kerry}/roles"),
            &json!({"title": title, "kind": "principal_officer", "serves": "USA",
                    "started_on": "2013-02-01", "ended_on": "2017-01-20"}),
        )
        .await;
    let role_id = role.ok(201)["id"].as_str().unwrap().to_owned();
    let visit_title = "John Forbes Kerry visits".to_owned();
    assert_eq!(listed_for(&app, title).await, vec![visit_title.clone()]);
    // Any case and accents.
    assert_eq!(
        listed_for(&app, "SECRÉTARY of state").await,
        vec![visit_title.clone()]
    );

    // The meeting moved to a day he no longer held it, and back.
    app.patch(
        &format!("/v1/meetings/{visit}"),
        &json!({"date": "2018-01-01"}),
    )
    .await
    .ok(200);
    assert!(listed_for(&app, title).await.is_empty());
    // The role's end moved past the meeting.
    app.patch(
        &format!("/v1/roles/{role_id}"),
        &json!({"ended_on": "2019"}),
    )
    .await
    .ok(200);
    assert_eq!(listed_for(&app, title).await, vec![visit_title.clone()]);

    // A second meeting he joins as a participant added to it.
    let other = app
        .create_meeting(&meeting("Talks in Geneva", "2014-05-05", &["RU"]))
        .await;
    let other_id = other["id"].as_str().unwrap();
    let joined = app
        .post(
            &format!("/v1/meetings/{other_id}/participants"),
            &json!({"person_id": kerry, "country": "US", "role": "Secretary", "side": "guest"}),
        )
        .await;
    let participant = joined.ok(201)["id"].as_str().unwrap().to_owned();
    assert_eq!(
        listed_for(&app, title).await,
        vec![visit_title.clone(), "Talks in Geneva".to_owned()]
    );
    // The participant brought the United States to the meeting in Geneva.
    assert_eq!(
        listed_for(&app, "Secretary of State&country=RU&country=US").await,
        vec!["Talks in Geneva".to_owned()]
    );
    assert_eq!(drift().await, (0, 0, 0, 0, 0));

    // The participant removed, then the role.
    assert_eq!(
        app.delete(&format!("/v1/participants/{participant}"))
            .await
            .status,
        204
    );
    assert_eq!(listed_for(&app, title).await, vec![visit_title.clone()]);
    assert_eq!(
        app.delete(&format!("/v1/roles/{role_id}")).await.status,
        204
    );
    assert!(listed_for(&app, title).await.is_empty());

    // The meeting deleted takes its offices with it.
    app.post(
        &format!("/v1/people/{kerry}/roles"),
        &json!({"title": title, "started_on": "2013", "ended_on": "2019"}),
    )
    .await
    .ok(201);
    assert_eq!(listed_for(&app, title).await, vec![visit_title]);
    assert_eq!(
        app.delete(&format!("/v1/meetings/{visit}")).await.status,
        204
    );
    assert!(listed_for(&app, title).await.is_empty());
    assert_eq!(drift().await, (0, 0, 0, 0, 0));
}
