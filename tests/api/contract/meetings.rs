//! Meetings: created, read, listed, filtered and paged, edited and deleted, and every way
//! a meeting document or a list's parameters are refused.

use axum::http::Method;
use serde_json::{Value, json};

use super::coverage::Resource;
use super::records::{Sample, more_meetings};
use super::support::{Contract, UNKNOWN_ID, id_of, load_spec, percent_encode, query};
use crate::common::{TestApp, meeting, seed_meeting};

#[tokio::test]
async fn meetings_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let write_auth = format!("Bearer {}", app.write_key);
    let read_auth = format!("Bearer {}", app.read_key);

    // --- Meetings: create ---
    let Sample {
        meeting_uri,
        borisov_person,
        created,
        ..
    } = Sample::create(&mut c).await;

    c.post("/v1/meetings", &seed_meeting()).await.problem(409);
    let second_id = more_meetings(&mut c).await;

    let no_key = c
        .send(
            Method::POST,
            "/v1/meetings",
            &[("content-type", "application/json")],
            seed_meeting().to_string().into_bytes(),
        )
        .await;
    no_key.problem(401);
    assert_eq!(no_key.headers["www-authenticate"], "Bearer");
    let read_only = c
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", read_auth.as_str()),
                ("content-type", "application/json"),
            ],
            meeting("Read only", "2021-01-01", &[])
                .to_string()
                .into_bytes(),
        )
        .await;
    read_only.problem(403);

    for invalid in [
        json!({"title": "No date"}),
        json!({"title": "Typo", "date": "2021-01-01", "colour": "red"}),
        json!({"title": "Bad kind", "date": "2021-01-01", "kind": "tea_party"}),
        json!({"title": "Derived", "date": "2021-01-01", "countries": ["CUB"]}),
        json!({"title": "Nobody", "date": "2021-01-01", "participants": [{"role": "observer"}]}),
        json!({"title": "", "date": "2021-01-01"}),
        json!({"title": "Far north", "date": "2021-01-01", "location": {"lat": 91.0}}),
    ] {
        assert!(
            !c.body_accepted(Method::POST, "/v1/meetings", "application/json", &invalid),
            "the MeetingInput schema should reject {invalid}"
        );
        c.post("/v1/meetings", &invalid).await.problem(422);
    }
    // Rules the schema cannot express are still answered as documented.
    let backwards = json!({"title": "Backwards", "date": "2021-01-02", "end_date": "2021-01-01"});
    c.post("/v1/meetings", &backwards).await.problem(422);
    let bad_country = json!({"title": "Atlantis", "date": "2021-01-01", "host_country": "ATL"});
    c.post("/v1/meetings", &bad_country).await.problem(422);

    // Text rules, list caps and source URLs: the schema and the server refuse alike.
    let with = |field: &str, value: Value| {
        let mut doc = meeting("Text rules", "2021-01-01", &["CUB"]);
        doc[field] = value;
        doc
    };
    let named = |name: &str| json!([{"name": name, "country": "CUB"}]);
    let refused = [
        (
            with("title", json!("Talks\non two lines")),
            "title",
            "control",
        ),
        (with("title", json!("Talks\u{0007}")), "title", "control"),
        (with("title", json!("\u{200B}\u{00A0}")), "title", "visible"),
        (with("title", json!("\u{3164}")), "title", "visible"),
        (with("title", json!("Talks \u{202E}erom")), "title", "bidi"),
        (with("summary", json!("Bell\u{0007}")), "summary", "control"),
        (
            with("location", json!({"city": "Havana\t"})),
            "location.city",
            "control",
        ),
        (
            with("participants", named("\u{2066}Ramón\u{2069}")),
            "participants[0].name",
            "bidi",
        ),
        (
            with("participants", named("Ramón\u{009B}Díaz")),
            "participants[0].name",
            "control",
        ),
        (
            with("participants", named("\u{200B}\u{FEFF}")),
            "participants[0].name",
            "visible",
        ),
        (
            with("statements", json!([{"text": "We \u{202D}agree\u{202C}."}])),
            "statements[0].text",
            "bidi",
        ),
        (
            with(
                "agreements",
                json!([{"title": "Plan", "description": "\u{0001}"}]),
            ),
            "agreements[0].description",
            "control",
        ),
        (
            with("sources", json!([{"url": "javascript:alert(1)"}])),
            "sources[0].url",
            "http",
        ),
        (
            with("sources", json!([{"url": "https://example.org/\u{202E}"}])),
            "sources[0].url",
            "bidi",
        ),
        (
            with("sources", json!([{"url": "http://a<b"}])),
            "sources[0].url",
            "http",
        ),
        (
            with("sources", json!([{"url": "http://example.1"}])),
            "sources[0].url",
            "http",
        ),
        (
            with(
                "topics",
                json!((0..21).map(|i| format!("topic {i}")).collect::<Vec<_>>()),
            ),
            "topics",
            "at most 20",
        ),
        (
            with(
                "identifiers",
                json!(
                    (0..21)
                        .map(|i| json!({"scheme": "n", "value": i.to_string()}))
                        .collect::<Vec<_>>()
                ),
            ),
            "identifiers",
            "at most 20",
        ),
        (
            with(
                "agreements",
                json!([{"title": "Plan", "parties": vec!["CUB"; 301]}]),
            ),
            "agreements[0].parties",
            "at most 300",
        ),
    ];
    for (invalid, field, says) in refused {
        assert!(
            !c.body_accepted(Method::POST, "/v1/meetings", "application/json", &invalid),
            "the MeetingInput schema should reject {invalid}"
        );
        let answer = c.post("/v1/meetings", &invalid).await;
        let errors = answer.problem(422)["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["message"].as_str().unwrap().contains(says)),
            "expected `{field}` refused with `{says}`: {}",
            answer.text
        );
    }
    // A name mixing scripts in one word is the one text rule the schema cannot state.
    let look_alike = with("participants", named("R\u{0430}món Díaz"));
    assert!(c.body_accepted(
        Method::POST,
        "/v1/meetings",
        "application/json",
        &look_alike
    ));
    let answer = c.post("/v1/meetings", &look_alike).await;
    assert!(
        answer.problem(422)["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("mixes scripts"),
        "{}",
        answer.text
    );
    // What the rules allow: names are stored cleaned, free text keeps its lines, and
    // source URLs may carry user info, a port, a query and a fragment.
    let mut fine = meeting("Text that passes", "2021-01-02", &["CUB"]);
    fine["participants"] =
        json!([{"name": "Ram\u{200B}ón\u{00A0}\u{00A0}Di\u{0301}az", "country": "CUB"}]);
    fine["summary"] = json!("One.\n\n\tTwo.");
    fine["statements"] = json!([{"speaker_participant": 0, "text": "«نعم» \u{200F}שלום\r\nYes."}]);
    fine["sources"] = json!([
        {"url": "https://example.org/a?b=c#d"},
        {"url": "HTTP://user:pw@EXAMPLE.org:8080/x"},
        {"url": "http://192.0.2.1/"},
        {"url": "https://münchen.example/"},
    ]);
    assert!(c.body_accepted(Method::POST, "/v1/meetings", "application/json", &fine));
    let stored = c.post("/v1/meetings", &fine).await;
    assert_eq!(
        stored.ok(201)["participants"][0]["person"]["name"],
        "Ramón Díaz",
        "a name is stored cleaned"
    );
    c.delete(&format!("/v1/meetings/{}", id_of(&stored))).await;
    // A key given twice is a 400 naming it, on any JSON body.
    let twice = c
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", write_auth.as_str()),
                ("content-type", "application/json"),
            ],
            br#"{"title": "Talks", "date": "2021-10-12", "title": "Other talks"}"#.to_vec(),
        )
        .await;
    assert!(
        twice.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("`title` is given more than once"),
        "{}",
        twice.text
    );

    let post_headers = [
        ("authorization", write_auth.as_str()),
        ("content-type", "application/json"),
    ];
    c.send(
        Method::POST,
        "/v1/meetings",
        &post_headers,
        b"{not json".to_vec(),
    )
    .await
    .problem(400);
    c.send(
        Method::POST,
        "/v1/meetings",
        &[
            ("authorization", write_auth.as_str()),
            ("content-type", "text/plain"),
        ],
        b"hello".to_vec(),
    )
    .await
    .problem(415);
    let huge = format!(
        r#"{{"title": "Huge", "date": "2021-01-01", "summary": "{}"}}"#,
        "x".repeat(chancery::MAX_BODY_BYTES + 1)
    );
    c.send(
        Method::POST,
        "/v1/meetings",
        &post_headers,
        huge.into_bytes(),
    )
    .await
    .problem(413);

    // --- Meetings: read ---
    let fetched = c.get(&meeting_uri).await;
    fetched.ok(200);
    let etag = fetched.headers["etag"].to_str().unwrap().to_owned();
    let unchanged = c
        .send(
            Method::GET,
            &meeting_uri,
            &[("if-none-match", etag.as_str())],
            vec![],
        )
        .await;
    assert_eq!(unchanged.status, 304);
    // A write's consistency token, sent back on a read.
    let token = created.headers["chancery-consistency"].to_str().unwrap();
    c.send(
        Method::GET,
        &meeting_uri,
        &[("chancery-consistency", token)],
        vec![],
    )
    .await
    .ok(200);
    c.send(
        Method::GET,
        &meeting_uri,
        &[("chancery-consistency", "not-a-token")],
        vec![],
    )
    .await
    .problem(400);
    c.get(&format!("/v1/meetings/{UNKNOWN_ID}"))
        .await
        .problem(404);
    c.get("/v1/meetings/not-a-uuid").await.problem(400);

    // --- Meetings: list ---
    let all = c.get("/v1/meetings").await;
    assert_eq!(all.ok(200)["items"].as_array().unwrap().len(), 3);
    let filters = query(&[
        ("country", "cu"),
        ("country", "RUS"),
        ("person", "miguel diaz-canel"),
        ("topic", "Trade"),
        ("kind", "bilateral"),
        ("from", "2021-01-01"),
        ("to", "2021-12-31"),
        ("city", "havana"),
        ("q", "oil"),
        ("sort", "date"),
        ("limit", "10"),
        ("include_total", "true"),
    ]);
    let filtered = c.get(&format!("/v1/meetings{filters}")).await;
    assert_eq!(filtered.ok(200)["total"], 1, "{}", filtered.text);
    let by_id = c
        .get(&format!("/v1/meetings?person={borisov_person}"))
        .await;
    assert_eq!(by_id.ok(200)["items"].as_array().unwrap().len(), 1);
    let first_page = c.get("/v1/meetings?limit=1&sort=-date").await;
    let cursor = first_page.ok(200)["next_cursor"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let next = c
        .get(&format!(
            "/v1/meetings?limit=1&sort=-date&cursor={}",
            percent_encode(&cursor)
        ))
        .await;
    next.ok(200);
    let foreign = c
        .get(&format!(
            "/v1/meetings?limit=1&sort=date&cursor={}",
            percent_encode(&cursor)
        ))
        .await;
    foreign.problem(400);
    let ranked = c.get("/v1/meetings?q=havana%20OR%20moscow&limit=1").await;
    let cursor = ranked.ok(200)["next_cursor"]
        .as_str()
        .expect("a next cursor for a ranked search")
        .to_owned();
    c.get(&format!(
        "/v1/meetings?q=havana%20OR%20moscow&limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .ok(200);
    c.get(&format!(
        "/v1/meetings?q=havana%20OR%20moscow&sort=-date&limit=1&cursor={}",
        percent_encode(&cursor)
    ))
    .await
    .problem(400);
    for (name, value) in [
        ("limit", "0"),
        ("limit", "501"),
        ("limit", "ten"),
        ("sort", "newest"),
        ("kind", "tea_party"),
        ("from", "2021-13-01"),
        ("include_total", "yes"),
        ("colour", "red"),
    ] {
        assert!(
            !c.parameter_accepts("/v1/meetings", &Method::GET, name, value),
            "the spec should not accept {name}={value} on GET /v1/meetings"
        );
        c.get(&format!("/v1/meetings{}", query(&[(name, value)])))
            .await
            .problem(400);
    }
    c.get("/v1/meetings?country=ZZZ").await.problem(400);
    c.get("/v1/meetings?q=%20").await.problem(400);
    // A NUL in any query parameter is a 400 naming it.
    for uri in ["/v1/meetings?city=Havana%00", "/v1/people?q=%00"] {
        let nul = c.get(uri).await;
        assert!(
            nul.problem(400)["detail"].as_str().unwrap().contains("NUL"),
            "{}",
            nul.text
        );
    }
    // A cursor is good only for the list that made it.
    let people_page = c.get("/v1/people?limit=1").await;
    let people_cursor = people_page.ok(200)["next_cursor"]
        .as_str()
        .expect("a next cursor for people")
        .to_owned();
    let foreign = c
        .get(&format!(
            "/v1/meetings?limit=1&cursor={}",
            percent_encode(&people_cursor)
        ))
        .await;
    assert!(
        foreign.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("another list"),
        "{}",
        foreign.text
    );

    // --- Meetings: patch ---
    let patched = c
        .patch(
            &meeting_uri,
            &json!({"summary": "Updated.", "start_time": "14:30", "location": {"venue": "Palace of the Revolution"}}),
        )
        .await;
    assert_eq!(patched.ok(200)["start_time"], "14:30:00");
    let as_json = c
        .send(
            Method::PATCH,
            &meeting_uri,
            &post_headers,
            json!({"kind": null, "topics": ["energy", "trade"]})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(as_json.ok(200)["kind"], "other");
    let stale = c
        .send(
            Method::PATCH,
            &meeting_uri,
            &[
                ("authorization", write_auth.as_str()),
                ("content-type", "application/merge-patch+json"),
                ("if-match", "\"1\""),
            ],
            br#"{"title": "Stale"}"#.to_vec(),
        )
        .await;
    stale.problem(412);
    for invalid in [
        json!({"participants": []}),
        json!({"version": 7}),
        json!({"title": null}),
        json!({"colour": "red"}),
    ] {
        assert!(
            !c.body_accepted(
                Method::PATCH,
                &meeting_uri,
                "application/merge-patch+json",
                &invalid
            ),
            "the MeetingPatch schema should reject {invalid}"
        );
        c.patch(&meeting_uri, &invalid).await.problem(422);
    }
    c.patch(&meeting_uri, &json!(["not", "an", "object"]))
        .await
        .problem(400);
    c.patch(
        &format!("/v1/meetings/{UNKNOWN_ID}"),
        &json!({"title": "Ghost"}),
    )
    .await
    .problem(404);
    let mut clash = meeting("Clash", "2023-01-01", &[]);
    clash["identifiers"] = json!([{"scheme": "clash", "value": "1"}]);
    c.post("/v1/meetings", &clash).await.ok(201);
    c.patch(
        &format!("/v1/meetings/{second_id}"),
        &json!({"identifiers": [{"scheme": "clash", "value": "1"}]}),
    )
    .await
    .problem(409);

    // --- Meetings: delete ---
    let stale = c
        .send(
            Method::DELETE,
            &meeting_uri,
            &[
                ("authorization", write_auth.as_str()),
                ("if-match", "\"1\""),
            ],
            Vec::new(),
        )
        .await;
    stale.problem(412);
    assert_eq!(c.delete(&meeting_uri).await.status, 204);
    c.delete(&meeting_uri).await.problem(404);

    c.assert_complete(Resource::Meetings);
}
