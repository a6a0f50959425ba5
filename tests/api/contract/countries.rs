//! Countries, current and former, and the partners they met.

use axum::http::Method;

use super::coverage::Resource;
use super::records::{Sample, more_meetings};
use super::support::{Contract, load_spec, query};
use crate::common::TestApp;

#[tokio::test]
async fn countries_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    Sample::create(&mut c).await;
    more_meetings(&mut c).await;

    // --- Countries ---
    let cuba = c.get("/v1/countries/cu").await;
    assert_eq!(cuba.ok(200)["code"], "CUB");
    assert_eq!(cuba.json["wikidata"], "Q241");
    let soviet = c.get("/v1/countries/SUN").await;
    assert_eq!(soviet.ok(200)["former"], true);
    assert_eq!(soviet.json["wikidata"], "Q15180");
    c.get("/v1/countries/ZZZ").await.problem(404);
    let partners = c
        .get("/v1/countries/CUB/partners?from=2021-01-01&to=2022-12-31&limit=10")
        .await;
    assert_eq!(partners.ok(200)["items"][0]["country"], "RUS");
    c.get("/v1/countries/cub/partners").await.ok(200);
    c.get("/v1/countries/ZZZ/partners").await.problem(404);
    for (name, value) in [("limit", "0"), ("from", "yesterday"), ("cursor", "x")] {
        assert!(
            !c.parameter_accepts("/v1/countries/{code}/partners", &Method::GET, name, value),
            "the spec should not accept {name}={value} on partners"
        );
        c.get(&format!(
            "/v1/countries/CUB/partners{}",
            query(&[(name, value)])
        ))
        .await
        .problem(400);
    }

    let record = c
        .get("/v1/countries/ru/commitments?from=2021-01-01&to=2022-12-31&as_of=2022-01-15")
        .await;
    assert_eq!(record.ok(200)["country"], "RUS");
    c.get("/v1/countries/RUS/commitments").await.ok(200);
    c.get("/v1/countries/ZZZ/commitments").await.problem(404);
    for (name, value) in [
        ("as_of", "2021-02-30"),
        ("from", "yesterday"),
        ("party", "CUB"),
    ] {
        assert!(
            !c.parameter_accepts(
                "/v1/countries/{code}/commitments",
                &Method::GET,
                name,
                value
            ),
            "the spec should not accept {name}={value} on commitments"
        );
        c.get(&format!(
            "/v1/countries/RUS/commitments{}",
            query(&[(name, value)])
        ))
        .await
        .problem(400);
    }

    c.assert_complete(Resource::Countries);
}
