//! Input that looks harmless but is not: NUL characters that Postgres cannot store,
//! invisible and look-alike characters that would make a second "Ramón Díaz", bidi
//! overrides and control characters, duplicate JSON keys, doubled `Authorization`
//! headers, cursors carried to another list, and source URLs that are not web pages.
//! Each is refused in our own words before SQL sees it.

use crate::common::{TestApp, TestResponse, meeting};
use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// What only Postgres, sqlx or Rust would say; none of it may reach a client.
const LEAKS: [&str; 6] = [
    "invalid byte sequence",
    "UTF8",
    "0x00",
    "sqlx",
    "error returned from database",
    "panicked",
];

#[track_caller]
fn assert_no_leak(response: &TestResponse) {
    for leak in LEAKS {
        assert!(
            !response.text.contains(leak),
            "`{leak}` reached the client: {}",
            response.text
        );
    }
}

/// A 422 naming `field`, whose message contains `says`.
#[track_caller]
fn assert_refused_field(response: &TestResponse, field: &str, says: &str) {
    response.problem(422);
    assert_no_leak(response);
    let errors = response.json["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["message"].as_str().unwrap().contains(says)),
        "expected `{field}` refused with `{says}`: {}",
        response.text
    );
}

/// A 400 whose detail contains every one of `says`.
#[track_caller]
fn assert_bad_request(response: &TestResponse, says: &[&str]) {
    let detail = response.problem(400)["detail"].as_str().unwrap();
    assert_no_leak(response);
    for part in says {
        assert!(detail.contains(part), "`{part}` not in: {detail}");
    }
}

async fn import(app: &TestApp, lines: &[String]) -> TestResponse {
    let auth = format!("Bearer {}", app.write_key);
    app.send(
        Method::POST,
        "/v1/import",
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/x-ndjson"),
        ],
        lines.join("\n").into_bytes(),
    )
    .await
}

/// Sends a JSON body exactly as written, duplicate keys and all.
async fn send_raw(app: &TestApp, method: Method, uri: &str, body: &str) -> TestResponse {
    app.write_raw(method, uri, body).await
}

/// A meeting with one participant named `name` from Cuba.
fn meeting_with(title: &str, name: &str) -> Value {
    json!({
        "title": title,
        "date": "2021-10-12",
        "participants": [{"name": name, "country": "CUB"}],
    })
}

fn uri_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

// Finding 8: NUL characters.

#[tokio::test]
async fn a_nul_in_any_query_parameter_is_a_400_naming_it() {
    let app = TestApp::spawn().await;
    app.create_meeting(&meeting("Talks", "2021-10-12", &["CUB", "RUS"]))
        .await;
    for (path, base, name) in [
        ("/v1/meetings", "", "city"),
        ("/v1/meetings", "", "person"),
        ("/v1/meetings", "", "q"),
        ("/v1/statements", "", "speaker"),
        ("/v1/people", "", "q"),
        ("/v1/export", "", "city"),
        ("/v1/stats/meetings", "group_by=year&", "city"),
    ] {
        for value in ["%00", "Havana%00", "%00%00x"] {
            let uri = format!("{path}?{base}{name}={value}");
            let response = app.get(&uri).await;
            assert_bad_request(&response, &[&format!("`{name}`"), "NUL"]);
        }
    }
}

#[tokio::test]
async fn a_forged_cursor_holding_nul_or_an_impossible_date_is_a_400_in_our_words() {
    let app = TestApp::spawn().await;
    app.create_meeting(&meeting("Talks", "2021-10-12", &["CUB", "RUS", "VNM"]))
        .await;
    let page = app.get("/v1/people?limit=1").await;
    let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    let mut envelope: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
    envelope["k"][0] = json!("Leader\u{0}");
    let forged = URL_SAFE_NO_PAD.encode(envelope.to_string());
    let response = app
        .get(&format!("/v1/people?limit=1&cursor={forged}"))
        .await;
    assert_bad_request(&response, &["`cursor`"]);

    // A date no stored row has, which Postgres cannot hold.
    app.create_meeting(&meeting("More talks", "2022-10-12", &["CUB"]))
        .await;
    let page = app.get("/v1/meetings?limit=1").await;
    let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    let mut envelope: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
    for date in ["-100000-01-01", "+200000-01-01"] {
        envelope["k"][0] = json!(date);
        let forged = URL_SAFE_NO_PAD.encode(envelope.to_string());
        let response = app
            .get(&format!("/v1/meetings?limit=1&cursor={forged}"))
            .await;
        assert_bad_request(&response, &["`cursor`"]);
    }
}

#[tokio::test]
async fn a_nul_in_any_json_body_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let stored = app
        .create_meeting(&meeting("Talks", "2021-10-12", &["CUB", "RUS"]))
        .await;
    let id = stored["id"].as_str().unwrap();
    let participant = stored["participants"][0]["id"].as_str().unwrap();
    let person = stored["participants"][0]["person"]["id"].as_str().unwrap();
    let before = app.snapshot().await;

    let mut doc = meeting("Talks", "2021-10-12", &["CUB"]);
    doc["location"] = json!({"city": "Havana\u{0}"});
    assert_refused_field(
        &app.post("/v1/meetings", &doc).await,
        "location.city",
        "NUL",
    );
    let patched = app
        .patch(
            &format!("/v1/meetings/{id}"),
            &json!({"location": {"city": "\u{0}"}}),
        )
        .await;
    assert_refused_field(&patched, "location.city", "NUL");
    let added = app
        .post(
            &format!("/v1/meetings/{id}/participants"),
            &json!({"name": "Ana\u{0}"}),
        )
        .await;
    assert_refused_field(&added, "name", "NUL");
    let renamed = app
        .patch(
            &format!("/v1/participants/{participant}"),
            &json!({"organization": "\u{0}"}),
        )
        .await;
    assert_refused_field(&renamed, "organization", "NUL");
    let statement = app
        .post(
            &format!("/v1/meetings/{id}/statements"),
            &json!({"text": "We\u{0}agree"}),
        )
        .await;
    assert_refused_field(&statement, "text", "NUL");
    let agreement = app
        .post(
            &format!("/v1/meetings/{id}/agreements"),
            &json!({"title": "Plan\u{0}"}),
        )
        .await;
    assert_refused_field(&agreement, "title", "NUL");
    let person_patch = app
        .patch(
            &format!("/v1/people/{person}"),
            &json!({"aliases": ["\u{0}"]}),
        )
        .await;
    assert_refused_field(&person_patch, "aliases[0]", "NUL");

    let result = import(&app, &[doc.to_string()]).await;
    let line = &result.ok(200)["items"][0];
    assert!(
        line["error"].as_str().unwrap().contains("location.city"),
        "{line}"
    );
    assert_no_leak(&result);
    assert_eq!(app.snapshot().await, before, "nothing was written");
}

// Finding 9: invisible and look-alike characters.

#[tokio::test]
async fn invisible_characters_and_spacing_do_not_make_a_second_person() {
    let app = TestApp::spawn().await;
    app.create_meeting(&meeting_with("First", "Ramón Díaz"))
        .await;
    let variants = [
        "Ram\u{200B}ón Díaz",         // zero-width space
        "Ramón\u{200D} Díaz",         // zero-width joiner
        "Ramón Dí\u{200C}az",         // zero-width non-joiner
        "Ra\u{00AD}món Díaz",         // soft hyphen
        "Ramón\u{2060} Díaz",         // word joiner
        "\u{FEFF}Ramón Díaz",         // byte order mark
        "Ramón\u{00A0}Díaz",          // no-break space
        "Ramón\u{2003}Díaz",          // em space
        "Ramón  Díaz",                // two spaces
        " Ramón\tDíaz ",              // tab, and spaces around
        "Ramo\u{0301}n Di\u{0301}az", // decomposed accents
        "RAMÓN DÍAZ",                 // case, as before
        "Ramon Diaz",                 // accents, as before
    ];
    for (index, name) in variants.iter().enumerate() {
        let stored = app
            .create_meeting(&meeting_with(&format!("Meeting {index}"), name))
            .await;
        assert_eq!(
            stored["participants"][0]["person"]["name"], "Ramón Díaz",
            "{name:?} names the first person"
        );
    }
    let people = app.get("/v1/people").await;
    let items = people.ok(200)["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", people.text);
    assert_eq!(items[0]["meeting_count"], variants.len() + 1);

    // A name stored with an invisible character is stored clean, and found again.
    let mut doc = meeting_with("Later", "Ana\u{200B} María\u{00A0}Pérez");
    doc["statements"] = json!([{"speaker_name": "Ana María  Pérez", "text": "Yes."}]);
    let stored = app.create_meeting(&doc).await;
    assert_eq!(
        stored["participants"][0]["person"]["name"],
        "Ana María Pérez"
    );
    assert_eq!(
        stored["statements"][0]["speaker"]["person_id"], stored["participants"][0]["person"]["id"],
        "the speaker named with two spaces is the participant"
    );
    let found = app
        .get(&format!(
            "/v1/meetings?person={}",
            uri_encode("ana\u{200B} maría")
        ))
        .await;
    assert_eq!(found.ok(200)["items"][0]["title"], "Later");
}

#[tokio::test]
async fn a_name_mixing_scripts_is_refused() {
    let app = TestApp::spawn().await;
    let stored = app
        .create_meeting(&meeting_with("First", "Ramón Díaz"))
        .await;
    let id = stored["id"].as_str().unwrap();
    let person = stored["participants"][0]["person"]["id"].as_str().unwrap();
    let before = app.snapshot().await;
    // A Cyrillic "а" (U+0430) and a Greek "ο" (U+03BF) among Latin letters.
    let cyrillic = app
        .post("/v1/meetings", &meeting_with("Second", "R\u{0430}món Díaz"))
        .await;
    assert_refused_field(&cyrillic, "participants[0].name", "mixes scripts");
    let greek = app
        .post(
            &format!("/v1/meetings/{id}/participants"),
            &json!({"name": "Ramón Dí\u{03BF}z"}),
        )
        .await;
    assert_refused_field(&greek, "name", "mixes scripts");
    let renamed = app
        .patch(
            &format!("/v1/people/{person}"),
            &json!({"name": "R\u{0430}món Díaz"}),
        )
        .await;
    assert_refused_field(&renamed, "name", "mixes scripts");
    let speaker = app
        .post(
            &format!("/v1/meetings/{id}/statements"),
            &json!({"speaker_name": "R\u{0430}món", "text": "Yes."}),
        )
        .await;
    assert_refused_field(&speaker, "speaker_name", "mixes scripts");
    assert_eq!(app.snapshot().await, before, "nothing was written");

    // Names wholly in one script, or with words in different scripts, are fine.
    let mut doc = meeting_with("Third", "Сергей Лавров");
    doc["participants"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Ξένια Papadopoulou", "country": "GRC"}));
    app.create_meeting(&doc).await;
}

#[tokio::test]
async fn names_and_titles_with_controls_bidi_overrides_or_nothing_visible_are_refused() {
    let app = TestApp::spawn().await;
    let stored = app
        .create_meeting(&meeting_with("First", "Ramón Díaz"))
        .await;
    let id = stored["id"].as_str().unwrap();
    let before = app.snapshot().await;
    for (name, says) in [
        ("\u{200B}\u{200B}\u{200B}", "visible"),
        ("\u{00A0}\u{FEFF}", "visible"),
        ("Ramón\u{202E}zaíD", "bidi"),
        ("\u{2066}Ramón Díaz\u{2069}", "bidi"),
        ("Ramón\u{0007}Díaz", "control"),
        ("Ramón\u{009B}Díaz", "control"),
    ] {
        let response = app.post("/v1/meetings", &meeting_with("Talks", name)).await;
        assert_refused_field(&response, "participants[0].name", says);
        let organization = app
            .post(
                &format!("/v1/meetings/{id}/participants"),
                &json!({"organization": name}),
            )
            .await;
        assert_refused_field(&organization, "organization", says);
    }
    for (title, says) in [
        ("\u{200B}", "visible"),
        ("Talks \u{202E}erom", "bidi"),
        ("Talks\u{0008}", "control"),
        ("Talks\non two lines", "control"),
    ] {
        let mut doc = meeting("x", "2021-10-12", &["CUB"]);
        doc["title"] = json!(title);
        assert_refused_field(&app.post("/v1/meetings", &doc).await, "title", says);
        let patched = app
            .patch(&format!("/v1/meetings/{id}"), &json!({"title": title}))
            .await;
        assert_refused_field(&patched, "title", says);
        let agreement = app
            .post(
                &format!("/v1/meetings/{id}/agreements"),
                &json!({"title": title}),
            )
            .await;
        assert_refused_field(&agreement, "title", says);
    }
    let text = app
        .post(
            &format!("/v1/meetings/{id}/statements"),
            &json!({"text": "We \u{202D}agree\u{202C}."}),
        )
        .await;
    assert_refused_field(&text, "text", "bidi");
    let summary = app
        .patch(
            &format!("/v1/meetings/{id}"),
            &json!({"summary": "Bell\u{0007}"}),
        )
        .await;
    assert_refused_field(&summary, "summary", "control");
    assert_eq!(app.snapshot().await, before, "nothing was written");

    // Long free text keeps its lines and tabs; right-to-left text needs no overrides.
    let fine = app
        .post(
            &format!("/v1/meetings/{id}/statements"),
            &json!({"text": "First line.\r\n\tSecond line: «نعم» and \u{200F}שלום.", "speaker_name": "Ramón Díaz"}),
        )
        .await;
    fine.ok(201);
    app.patch(
        &format!("/v1/meetings/{id}"),
        &json!({"summary": "One.\n\nTwo."}),
    )
    .await
    .ok(200);
}

// Finding 10: loose input.

#[tokio::test]
async fn a_duplicate_json_key_is_a_400_naming_it() {
    let app = TestApp::spawn().await;
    let stored = app
        .create_meeting(&meeting("Talks", "2021-10-12", &["CUB"]))
        .await;
    let id = stored["id"].as_str().unwrap();
    let person = stored["participants"][0]["person"]["id"].as_str().unwrap();
    let before = app.snapshot().await;

    let top = send_raw(
        &app,
        Method::POST,
        "/v1/meetings",
        r#"{"title": "Talks", "date": "2021-10-12", "title": "Other talks"}"#,
    )
    .await;
    assert_bad_request(&top, &["`title`", "more than once"]);
    let nested = send_raw(
        &app,
        Method::POST,
        "/v1/meetings",
        r#"{"title": "Talks", "date": "2021-10-12",
            "participants": [{"name": "A"}, {"name": "B", "country": "CUB", "name": "C"}]}"#,
    )
    .await;
    assert_bad_request(&nested, &["`participants[1].name`", "more than once"]);
    let patch = send_raw(
        &app,
        Method::PATCH,
        &format!("/v1/meetings/{id}"),
        r#"{"location": {"city": "Havana", "city": "Moscow"}}"#,
    )
    .await;
    assert_bad_request(&patch, &["`location.city`", "more than once"]);
    let person_patch = send_raw(
        &app,
        Method::PATCH,
        &format!("/v1/people/{person}"),
        r#"{"name": "A", "name": "B"}"#,
    )
    .await;
    assert_bad_request(&person_patch, &["`name`"]);
    let statement = send_raw(
        &app,
        Method::POST,
        &format!("/v1/meetings/{id}/statements"),
        r#"{"text": "Yes.", "source": {"url": "https://a.example", "url": "https://b.example"}}"#,
    )
    .await;
    assert_bad_request(&statement, &["`source.url`"]);
    // The same key in different objects is no duplicate.
    send_raw(
        &app,
        Method::POST,
        &format!("/v1/meetings/{id}/statements"),
        r#"{"text": "Yes.", "source": {"title": "A"}, "topics": ["title"]}"#,
    )
    .await
    .ok(201);

    let line = r#"{"title": "Talks", "date": "2021-10-12", "date": "2022-01-01"}"#;
    let result = import(&app, &[line.to_owned()]).await;
    let error = result.ok(200)["items"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("`date`") && error.contains("more than once"),
        "{error}"
    );
    let mut after = app.snapshot().await;
    // The one statement written on purpose above.
    after
        .iter_mut()
        .filter(|(table, _)| table == "statements")
        .for_each(|(_, count)| *count -= 1);
    assert_eq!(after, before, "nothing else was written");
}

#[tokio::test]
async fn two_authorization_headers_are_a_400() {
    let app = TestApp::spawn().await;
    let good = format!("Bearer {}", app.write_key);
    let read = format!("Bearer {}", app.read_key);
    for headers in [
        [
            ("authorization", good.as_str()),
            ("authorization", "Bearer nonsense"),
        ],
        [
            ("authorization", "Bearer nonsense"),
            ("authorization", good.as_str()),
        ],
        [
            ("authorization", good.as_str()),
            ("authorization", good.as_str()),
        ],
        [
            ("authorization", read.as_str()),
            ("authorization", good.as_str()),
        ],
    ] {
        let mut headers = headers.to_vec();
        headers.push(("content-type", "application/json"));
        let response = app
            .send(
                Method::POST,
                "/v1/meetings",
                &headers,
                meeting("Talks", "2021-10-12", &["CUB"])
                    .to_string()
                    .into_bytes(),
            )
            .await;
        assert_bad_request(&response, &["Authorization"]);
        let read = app
            .send(Method::GET, "/v1/meetings", &headers, Vec::new())
            .await;
        assert_bad_request(&read, &["Authorization"]);
    }
    assert_eq!(app.count("meetings").await, 0);
}

#[tokio::test]
async fn a_cursor_from_one_list_is_refused_by_another() {
    let app = TestApp::spawn().await;
    for (title, date) in [("One", "2021-10-12"), ("Two", "2022-03-01")] {
        let mut doc = meeting(title, date, &["CUB", "RUS"]);
        doc["statements"] = json!([{"speaker_participant": 0, "text": "Yes."}]);
        doc["agreements"] = json!([{"title": "Plan"}]);
        app.create_meeting(&doc).await;
    }
    let mut cursors = Vec::new();
    for list in ["meetings", "statements", "agreements", "people"] {
        let page = app.get(&format!("/v1/{list}?limit=1")).await;
        let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
        // Its own list takes it.
        app.get(&format!("/v1/{list}?limit=1&cursor={cursor}"))
            .await
            .ok(200);
        cursors.push((list, cursor));
    }
    for (from, cursor) in &cursors {
        for (to, _) in &cursors {
            if from == to {
                continue;
            }
            let response = app.get(&format!("/v1/{to}?limit=1&cursor={cursor}")).await;
            assert_bad_request(&response, &["`cursor`", "another list"]);
        }
    }
}

#[tokio::test]
async fn source_urls_must_be_http_or_https() {
    let app = TestApp::spawn().await;
    let stored = app
        .create_meeting(&meeting("Talks", "2021-10-12", &["CUB"]))
        .await;
    let id = stored["id"].as_str().unwrap();
    let before = app.snapshot().await;
    for url in [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://example.org/a",
        "//example.org/a",
        "/relative/path",
        "example.org",
        "http://",
    ] {
        let mut doc = meeting("Talks", "2021-10-12", &["CUB"]);
        doc["sources"] = json!([{"url": "https://example.org/ok"}, {"url": url}]);
        assert_refused_field(
            &app.post("/v1/meetings", &doc).await,
            "sources[1].url",
            "http",
        );
        let patched = app
            .patch(
                &format!("/v1/meetings/{id}"),
                &json!({"sources": [{"url": url}]}),
            )
            .await;
        assert_refused_field(&patched, "sources[0].url", "http");
        let statement = app
            .post(
                &format!("/v1/meetings/{id}/statements"),
                &json!({"text": "Yes.", "source": {"url": url}}),
            )
            .await;
        assert_refused_field(&statement, "source.url", "http");
    }
    assert_eq!(app.snapshot().await, before, "nothing was written");
    for url in ["https://example.org/a?b=c#d", "HTTP://EXAMPLE.ORG/"] {
        let mut doc = meeting("Talks", "2021-10-12", &["CUB"]);
        doc["sources"] = json!([{"url": url}]);
        app.create_meeting(&doc).await;
    }
}

#[tokio::test]
async fn a_filter_date_out_of_range_is_a_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    for uri in [
        "/v1/meetings?from=-100000-01-01",
        "/v1/statements?to=%2B10000-01-01",
        "/v1/agreements?due_before=-0001-12-31",
        "/v1/countries/CUB/partners?from=0000-01-01",
        "/v1/stats/meetings?group_by=year&to=-5000-01-01",
        "/v1/agreements?overdue=true&as_of=-0001-12-31",
        "/v1/stats/agreements?group_by=status&as_of=%2B10000-01-01",
        "/v1/countries/RUS/commitments?as_of=0000-01-01",
    ] {
        let response = app.get(uri).await;
        let detail = response.problem(400)["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.contains("between 0001-01-01 and 9999-12-31"),
            "{uri}: {detail}"
        );
        let parameter = uri
            .rsplit(['?', '&'])
            .next()
            .unwrap()
            .split('=')
            .next()
            .unwrap();
        assert!(
            detail.contains(&format!("`{parameter}`")),
            "{uri}: {detail}"
        );
    }
    // Dates inside the range, and no date, are as before.
    app.get("/v1/meetings?from=0001-01-01&to=9999-12-31")
        .await
        .ok(200);
    app.get("/v1/meetings?from=").await;
}
