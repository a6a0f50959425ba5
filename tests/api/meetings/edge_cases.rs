//! Edges found in review: keys checked before bodies, dates and times the database
//! cannot hold, conditional requests, and speakers following their participant.

use crate::common::{TestApp, TestResponse, seed_meeting};
use axum::http::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_key_is_checked_before_the_body_is_read() {
    let app = TestApp::spawn().await;
    let unread = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[("content-type", "text/plain")],
            b"{".to_vec(),
        )
        .await;
    unread.problem(401);
    let empty = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[("content-type", "application/json")],
            b"{}".to_vec(),
        )
        .await;
    empty.problem(401);
    let shouting = format!("BEARER {}", app.write_key);
    let any_case = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", &shouting),
                ("content-type", "application/json"),
            ],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        any_case.problem(422)["errors"][0]["field"],
        "title",
        "the scheme is case-insensitive"
    );
}

#[tokio::test]
async fn dates_and_times_outside_what_can_be_stored_are_refused() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let cases = [
        (
            json!({"title": "Ides of March", "date": "-0044-03-15"}),
            "date",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "end_date": "+10000-01-01"}),
            "end_date",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "start_time": "23:59:60"}),
            "start_time",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "agreements": [{"title": "x", "due_by": "-0001-01-01"}]}),
            "agreements[0].due_by",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "sources": [{"published_on": "0000-01-01"}]}),
            "sources[0].published_on",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/v1/meetings", &body).await;
        response.problem(422);
        assert_eq!(response.error_fields(), [field], "{body}");
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn if_none_match_takes_weak_tags_lists_and_star_and_if_match_only_strong() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());
    for tag in ["\"1\"", "W/\"1\"", "\"7\", W/\"1\"", "*"] {
        let response = app
            .send(Method::GET, &uri, &[("if-none-match", tag)], Vec::new())
            .await;
        assert_eq!(response.status, 304, "{tag}");
        assert_eq!(response.headers["etag"], "\"1\"");
    }
    let stale = app
        .send(Method::GET, &uri, &[("if-none-match", "\"0\"")], Vec::new())
        .await;
    assert_eq!(stale.ok(200)["id"], doc["id"]);
    let auth = format!("Bearer {}", app.write_key);
    let weak = app
        .send(
            Method::DELETE,
            &uri,
            &[("authorization", &auth), ("if-match", "W/\"0\"")],
            Vec::new(),
        )
        .await;
    weak.problem(412);
    // If-Match compares strongly (RFC 9110 13.1.1): even the current tag, made weak,
    // does not match.
    for tag in ["W/\"1\"", "\"0\", \"1\""] {
        let expected = if tag.starts_with('W') { 412 } else { 204 };
        let answer = app
            .send(
                Method::DELETE,
                &uri,
                &[("authorization", &auth), ("if-match", tag)],
                Vec::new(),
            )
            .await;
        assert_eq!(answer.status, expected, "{tag}");
    }
}

#[tokio::test]
async fn renaming_a_participant_reattributes_what_it_said() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let participant = &doc["participants"][1];
    let uri = format!("/v1/participants/{}", participant["id"].as_str().unwrap());
    let renamed = app
        .patch(&uri, &json!({"name": "Dmitry Chernyshenko"}))
        .await
        .ok(200)
        .clone();
    assert_ne!(renamed["person"]["id"], participant["person"]["id"]);
    let said = app
        .get(&format!(
            "/v1/statements?speaker={}",
            renamed["person"]["id"].as_str().unwrap()
        ))
        .await;
    let items = said.ok(200)["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|s| s["speaker"]["name"] == "Dmitry Chernyshenko")
    );
    let old = app.get("/v1/statements?speaker=yuri%20borisov").await;
    assert_eq!(old.ok(200)["items"], json!([]));
}

#[tokio::test]
async fn objects_written_as_lists_are_refused() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!(["t", "s", "summit", "2000-01-01"]), ""),
        (
            json!({"title": "t", "date": "2000-01-01", "location": ["Havana", "CU"]}),
            "location",
        ),
        (
            json!({"title": "t", "date": "2000-01-01", "sources": [["https://example.org", "A"]]}),
            "sources[0]",
        ),
        (
            json!({"title": "t", "date": "2000-01-01", "identifiers": [["wikidata", "Q1"]]}),
            "identifiers[0]",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/v1/meetings", &body).await;
        response.problem(422);
        assert!(
            response.error_fields().contains(&field.to_owned()),
            "{body}: {:?}",
            response.json["errors"]
        );
    }
    assert_eq!(app.count("meetings").await, 0);
}

#[tokio::test]
async fn merge_patches_refuse_unknown_fields_and_change_nothing_when_empty() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let uri = format!("/v1/meetings/{}", doc["id"].as_str().unwrap());
    for patch in [json!({"bogus": null}), json!({"location": {"bogus": null}})] {
        let refused = app.patch(&uri, &patch).await;
        refused.problem(422);
    }
    let person = format!(
        "/v1/people/{}",
        doc["participants"][0]["person"]["id"].as_str().unwrap()
    );
    app.patch(&person, &json!({"bogus": null}))
        .await
        .problem(422);
    let unchanged = app.patch(&uri, &json!({})).await;
    assert_eq!(unchanged.ok(200)["version"], 1);
    assert_eq!(unchanged.headers["etag"], "\"1\"");
    let same = app.patch(&uri, &json!({"title": doc["title"]})).await;
    assert_eq!(
        same.ok(200)["version"],
        1,
        "setting a field to its value is no change"
    );
    assert_eq!(
        app.patch(&uri, &json!({"title": "New"})).await.ok(200)["version"],
        2
    );
    let participant = format!(
        "/v1/participants/{}",
        doc["participants"][0]["id"].as_str().unwrap()
    );
    let both = app
        .patch(
            &participant,
            &json!({"person_id": doc["participants"][1]["person"]["id"], "name": "X"}),
        )
        .await;
    assert_eq!(
        both.problem(422)["errors"][0]["field"],
        "name",
        "no stray dot in field paths"
    );
}

#[tokio::test]
async fn lengths_are_checked_before_trimming() {
    let app = TestApp::spawn().await;
    let padded = format!("a{}", "%20".repeat(600));
    for uri in [
        format!("/v1/people?q={padded}"),
        format!("/v1/meetings?q={padded}"),
        format!("/v1/meetings?person={padded}"),
        format!("/v1/statements?q={padded}"),
    ] {
        app.get(&uri).await.problem(400);
    }
}

#[tokio::test]
async fn a_failed_batch_never_blocks_its_own_retry() {
    let app = TestApp::spawn().await;
    let body = format!(
        "{}\n{}\n",
        json!({"title": "A", "date": "2000-01-01", "identifiers": [{"scheme": "fuzz", "value": "hang-3"}]}),
        json!({"title": "B", "date": "2000-01-02", "participants": [{"person_id": "01a21c0f-0000-7000-8000-000000000000"}]}),
    );
    let auth = format!("Bearer {}", app.write_key);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/x-ndjson"),
    ];
    let import = app.send(Method::POST, "/v1/import", &headers, body.into_bytes());
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), import)
        .await
        .expect("the import answers");
    assert_eq!(answer.ok(200)["totals"]["created"], 1);
    assert_eq!(answer.json["totals"]["failed"], 1);
}

/// Sends a write with the write key and one precondition header.
async fn write_if(
    app: &TestApp,
    method: Method,
    uri: &str,
    tag: &str,
    body: Option<&Value>,
) -> TestResponse {
    let auth = format!("Bearer {}", app.write_key);
    let mut headers = vec![("authorization", auth.as_str()), ("if-match", tag)];
    if body.is_some() {
        headers.push(("content-type", "application/merge-patch+json"));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    app.send(method, uri, &headers, body).await
}

fn etag(response: &TestResponse) -> String {
    response.headers["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn participants_statements_agreements_and_people_carry_etags_and_honour_if_match() {
    let app = TestApp::spawn().await;
    let doc = app.create_meeting(&seed_meeting()).await;
    let person = doc["participants"][0]["person"]["id"].as_str().unwrap();
    let items = [
        (
            format!(
                "/v1/participants/{}",
                doc["participants"][2]["id"].as_str().unwrap()
            ),
            json!({"role": "Ambassador"}),
            true,
        ),
        (
            format!(
                "/v1/statements/{}",
                doc["statements"][0]["id"].as_str().unwrap()
            ),
            json!({"text": "Edited words."}),
            true,
        ),
        (
            format!(
                "/v1/agreements/{}",
                doc["agreements"][0]["id"].as_str().unwrap()
            ),
            json!({"status": "fulfilled"}),
            true,
        ),
        (
            format!("/v1/people/{person}"),
            json!({"aliases": ["Díaz-Canel"]}),
            false,
        ),
    ];
    for (uri, patch, deletable) in items {
        let first = app.get(&uri).await;
        first.ok(200);
        let tag = etag(&first);
        assert!(tag.starts_with('"') && tag.len() == 34, "{uri}: {tag}");
        // Unchanged: 304, with the same tag, and the same tag on the next GET.
        let cached = app
            .send(Method::GET, &uri, &[("if-none-match", &tag)], Vec::new())
            .await;
        assert_eq!(cached.status, 304, "{uri}");
        assert_eq!(etag(&cached), tag);
        assert_eq!(etag(&app.get(&uri).await), tag);

        // A stale tag refuses the edit and changes nothing.
        let stale = write_if(
            &app,
            Method::PATCH,
            &uri,
            "\"0123456789abcdef0123456789abcdef\"",
            Some(&patch),
        )
        .await;
        assert!(
            stale.problem(412)["detail"]
                .as_str()
                .unwrap()
                .contains("changed"),
            "{uri}"
        );
        assert_eq!(app.get(&uri).await.text, first.text, "{uri}");

        // The current tag lets it through, and the answer carries the new tag.
        let edited = write_if(&app, Method::PATCH, &uri, &tag, Some(&patch)).await;
        edited.ok(200);
        let new_tag = etag(&edited);
        assert_ne!(new_tag, tag, "{uri}");
        assert_eq!(etag(&app.get(&uri).await), new_tag, "{uri}");
        let modified = app
            .send(Method::GET, &uri, &[("if-none-match", &tag)], Vec::new())
            .await;
        assert_eq!(modified.status, 200, "{uri}");

        if deletable {
            write_if(&app, Method::DELETE, &uri, &tag, None)
                .await
                .problem(412);
            app.get(&uri).await.ok(200);
            // If-Match compares strongly: a weak tag never matches.
            write_if(&app, Method::DELETE, &uri, &format!("W/{new_tag}"), None)
                .await
                .problem(412);
            let deleted = write_if(&app, Method::DELETE, &uri, &new_tag, None).await;
            assert_eq!(deleted.status, 204, "{uri}");
            app.get(&uri).await.problem(404);
        }
    }
}
