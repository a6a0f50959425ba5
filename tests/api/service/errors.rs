//! Everything a client can get wrong gets a clear 4xx problem+json, and a refused
//! write leaves nothing behind.

use crate::common::{TestApp, meeting, seed_meeting};
use axum::http::Method;
use serde_json::json;

fn json_headers(key: &str) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("Bearer {key}")),
        ("content-type", "application/json".into()),
    ]
}

async fn post_raw(
    app: &TestApp,
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::common::TestResponse {
    let auth = format!("Bearer {}", app.write_key);
    app.send(
        Method::POST,
        uri,
        &[("authorization", &auth), ("content-type", content_type)],
        body,
    )
    .await
}

#[tokio::test]
async fn malformed_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;

    let broken = post_raw(
        &app,
        "/v1/meetings",
        "application/json",
        b"{\"title\": ".to_vec(),
    )
    .await;
    assert!(
        broken.problem(400)["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let not_utf8 = post_raw(
        &app,
        "/v1/meetings",
        "application/json",
        vec![b'"', 0xff, 0xfe, b'"'],
    )
    .await;
    not_utf8.problem(400);

    let wrong_type = post_raw(
        &app,
        "/v1/meetings",
        "text/plain",
        seed_meeting().to_string().into_bytes(),
    )
    .await;
    assert!(
        wrong_type.problem(415)["detail"]
            .as_str()
            .unwrap()
            .contains("text/plain")
    );

    let auth = format!("Bearer {}", app.write_key);
    let no_type = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[("authorization", &auth)],
            b"{}".to_vec(),
        )
        .await;
    no_type.problem(415);

    let not_object = app.post("/v1/meetings", &json!([1, 2])).await;
    not_object.problem(422);

    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn invalid_fields_are_named() {
    let app = TestApp::spawn().await;
    let before = app.snapshot().await;
    let cases = [
        (json!({"date": "2021-10-12"}), "title"),
        (json!({"title": "t"}), "date"),
        (json!({"title": "t", "date": "2021-13-45"}), "date"),
        (
            json!({"title": "t", "date": "2021-10-12", "titel": "typo"}),
            "titel",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "countries": ["CUB"]}),
            "countries",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "host_country": "XX"}),
            "host_country",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "kind": "picnic"}),
            "kind",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "end_date": "2021-10-11"}),
            "end_date",
        ),
        (json!({"title": "   ", "date": "2021-10-12"}), "title"),
        (
            json!({"title": "t", "date": "2021-10-12", "topics": ["a/b"]}),
            "topics[0]",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "location": {"lat": 91}}),
            "location.lat",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "participants": [{"role": "nobody"}]}),
            "participants[0]",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "participants": [{"name": "A", "country": "Narnia"}]}),
            "participants[0].country",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "participants": [{"person_id": "0192f3c4-0000-7000-8000-000000000000"}]}),
            "participants[0].person_id",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "statements": [{"text": "hi", "speaker_participant": 3}]}),
            "statements[0].speaker_participant",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "statements": [{"text": ""}]}),
            "statements[0].text",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "statements": [{"text": "hi", "language": "not a tag"}]}),
            "statements[0].language",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "agreements": [{"title": "x", "status": "maybe"}]}),
            "agreements[0].status",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "agreements": [{"title": "x", "parties": ["ZZZ"]}]}),
            "agreements[0].parties[0]",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "identifiers": [{"scheme": "a", "value": "1"}, {"scheme": "a", "value": "1"}]}),
            "identifiers[1]",
        ),
        (json!({"title": "t\u{0}", "date": "2021-10-12"}), "title"),
        (
            json!({"title": "t", "date": "2021-10-12", "statements": [{"text": "a\u{0}b"}]}),
            "statements[0].text",
        ),
        (
            json!({"title": "x".repeat(1_000_000), "date": "2021-10-12"}),
            "title",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "statements": [{"text": "word ".repeat(200_000)}]}),
            "statements[0].text",
        ),
        (
            json!({"title": "t", "date": "2021-10-12", "participants": [{"name": "n".repeat(1_000_000)}]}),
            "participants[0].name",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/v1/meetings", &body).await;
        let shown = body.to_string().chars().take(120).collect::<String>();
        assert_eq!(
            response.status,
            422,
            "{shown}: {}",
            response.text.chars().take(400).collect::<String>()
        );
        response.problem(422);
        assert!(
            response.error_fields().contains(&field.to_owned()),
            "{shown}: expected field `{field}`, got {:?}",
            response.json["errors"]
        );
    }
    let unknown = app
        .post(
            "/v1/meetings",
            &json!({"title": "t", "date": "2021-10-12", "host_country": "XX"}),
        )
        .await;
    assert!(
        unknown.json["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("XX"),
        "the bad value is named"
    );
    assert_eq!(
        app.snapshot().await,
        before,
        "refused documents leave nothing behind"
    );
}

#[tokio::test]
async fn a_document_failing_late_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    app.create_meeting(&seed_meeting()).await;
    let before = app.snapshot().await;
    // New people, statements and agreements, but an identifier that already exists:
    // the conflict is found after the people were created, and all of it rolls back.
    let mut doc = meeting("Duplicate", "2022-02-02", &["FRA", "DEU"]);
    doc["agreements"] = json!([{"title": "Something"}]);
    doc["identifiers"] = json!([{"scheme": "chancery-sample", "value": "cub-rus-2021-10-12"}]);
    let conflict = app.post("/v1/meetings", &doc).await;
    conflict.problem(409);
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = TestApp::spawn().await;
    let huge = vec![b' '; 20 * 1024 * 1024];
    let response = post_raw(&app, "/v1/meetings", "application/json", huge).await;
    response.problem(413);
    assert_eq!(app.count("meetings").await, 0);
}

#[tokio::test]
async fn bad_paths_and_queries_are_400_or_404() {
    let app = TestApp::spawn().await;
    app.get("/v1/meetings/not-a-uuid").await.problem(400);
    app.get("/v1/meetings/0192f3c4-0000-7000-8000-000000000000")
        .await
        .problem(404);
    app.get("/v1/participants/123").await.problem(400);
    app.get("/v1/people/0192f3c4-0000-7000-8000-000000000000")
        .await
        .problem(404);
    app.get("/v1/nowhere").await.problem(404);
    app.get("/v1/countries/ZZZ").await.problem(404);
    let auth = format!("Bearer {}", app.write_key);
    let response = app
        .send(
            Method::PUT,
            "/v1/meetings",
            &[("authorization", &auth)],
            Vec::new(),
        )
        .await;
    response.problem(405);

    for query in [
        "limit=0",
        "limit=100000",
        "limit=abc",
        "limit=-1",
        "country=XX",
        "from=yesterday",
        "sort=sideways",
        "kind=picnic",
        "include_total=maybe",
        "colour=red",
        "cursor=forged",
        "cursor=eyJmIjoiMDAwMDAwMDAwMDAwMDAwMCIsImsiOlsiMjAyMS0xMC0xMiIsIjAxOTJmM2M0LTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMCJdfQ",
        "q=",
    ] {
        let response = app.get(&format!("/v1/meetings?{query}")).await;
        response.problem(400);
    }
    for uri in [
        "/v1/statements?limit=0",
        "/v1/statements?cursor=%00%ff",
        "/v1/statements?language=%%%",
        "/v1/agreements?status=pending",
        "/v1/agreements?due_before=soon",
        "/v1/people?limit=501",
        "/v1/people?q=",
        "/v1/countries/CUB/partners?from=x",
    ] {
        app.get(uri).await.problem(400);
    }
}

#[tokio::test]
async fn a_cursor_from_other_filters_is_refused() {
    let app = TestApp::spawn().await;
    for day in 1..=3 {
        app.create_meeting(&meeting(
            &format!("M{day}"),
            &format!("2020-01-0{day}"),
            &["CUB", "RUS"],
        ))
        .await;
    }
    let page = app.get("/v1/meetings?country=CUB&limit=1").await;
    let cursor = page.ok(200)["next_cursor"].as_str().unwrap().to_owned();
    app.get(&format!("/v1/meetings?country=CUB&limit=1&cursor={cursor}"))
        .await
        .ok(200);
    app.get(&format!("/v1/meetings?country=RUS&limit=1&cursor={cursor}"))
        .await
        .problem(400);
    app.get(&format!("/v1/statements?cursor={cursor}"))
        .await
        .problem(400);
}

#[tokio::test]
async fn writes_need_a_write_key() {
    let app = TestApp::spawn().await;
    let body = seed_meeting().to_string().into_bytes();
    let anonymous = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[("content-type", "application/json")],
            body.clone(),
        )
        .await;
    anonymous.problem(401);
    assert_eq!(anonymous.headers["www-authenticate"], "Bearer");

    let read = format!("Bearer {}", app.read_key);
    let reader = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", &read),
                ("content-type", "application/json"),
            ],
            body.clone(),
        )
        .await;
    reader.problem(403);

    for bogus in [
        "Bearer nonsense",
        "Bearer chy_0192f3c4000070008000000000000000_secret",
        "Basic abc",
    ] {
        let response = app
            .send(
                Method::POST,
                "/v1/meetings",
                &[
                    ("authorization", bogus),
                    ("content-type", "application/json"),
                ],
                body.clone(),
            )
            .await;
        assert!(
            matches!(response.status.as_u16(), 400 | 401),
            "{bogus}: {}",
            response.status
        );
        response.problem(response.status.as_u16());
    }
    let forged = format!("Bearer {}x", app.write_key);
    app.send(
        Method::POST,
        "/v1/meetings",
        &[
            ("authorization", &forged),
            ("content-type", "application/json"),
        ],
        body.clone(),
    )
    .await
    .problem(401);

    let admin = format!("Bearer {}", app.admin_key);
    let created = app
        .send(
            Method::POST,
            "/v1/meetings",
            &[
                ("authorization", &admin),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await;
    created.ok(201);
    app.delete(&format!(
        "/v1/meetings/{}",
        created.json["id"].as_str().unwrap()
    ))
    .await
    .ok(204);

    let headers = json_headers(&app.read_key);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.send(
        Method::DELETE,
        "/v1/meetings/0192f3c4-0000-7000-8000-000000000000",
        &headers,
        Vec::new(),
    )
    .await
    .problem(403);
    assert_eq!(app.count("meetings").await, 0);
}

#[tokio::test]
async fn reads_can_require_a_key() {
    let settings = chancery::Settings {
        require_read_key: true,
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings).await;
    app.get("/v1/meetings").await.problem(401);
    let read = format!("Bearer {}", app.read_key);
    app.send(
        Method::GET,
        "/v1/meetings",
        &[("authorization", &read)],
        Vec::new(),
    )
    .await
    .ok(200);
    app.get("/health").await.ok(200);
}

#[tokio::test]
async fn request_ids_are_echoed() {
    let app = TestApp::spawn().await;
    let response = app
        .send(
            Method::GET,
            "/v1/meetings/nope",
            &[("x-request-id", "trace-me-42")],
            Vec::new(),
        )
        .await;
    assert_eq!(response.headers["x-request-id"], "trace-me-42");
    assert_eq!(response.problem(400)["request_id"], "trace-me-42");
    assert_eq!(response.json["instance"], "/v1/meetings/nope");

    // Too long, or not plain visible ASCII: replaced by a generated id, never echoed.
    let long = "x".repeat(129);
    for unusable in [long.as_str(), "two words", "tab\there"] {
        let response = app
            .send(
                Method::GET,
                "/v1/meetings/nope",
                &[("x-request-id", unusable)],
                Vec::new(),
            )
            .await;
        let given = response.headers["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(given, unusable);
        assert!(uuid::Uuid::parse_str(&given).is_ok(), "{given}");
        assert_eq!(response.problem(400)["request_id"], given.as_str());
    }
}
