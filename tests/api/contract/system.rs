//! The service's own routes: health, readiness, metrics, the spec and its rendering, and
//! the answers every route gives to a malformed or unknown key.

use axum::http::Method;

use super::coverage::Resource;
use super::support::{Contract, load_spec, strict_yaml};
use crate::common::TestApp;

#[tokio::test]
async fn system_routes_answer_as_documented() {
    let spec = load_spec();
    let app = TestApp::spawn().await;
    let mut c = Contract::new(&app, &spec);
    let write_auth = format!("Bearer {}", app.write_key);
    let read_auth = format!("Bearer {}", app.read_key);

    // --- System ---
    assert_eq!(c.get("/health").await.status, 200);
    assert_eq!(c.get("/ready").await.status, 200);
    let served = c.get("/openapi.yaml").await;
    assert_eq!(served.status, 200);
    let served = strict_yaml(&served.text).unwrap();
    assert_eq!(served, spec, "/openapi.yaml serves the file at the root");
    let docs = c.get("/docs").await;
    assert_eq!(docs.status, 200);
    assert!(
        !docs.text.contains("//"),
        "/docs loads nothing from another host: {}",
        docs.text
    );
    let renderer = c.get("/docs/redoc-2.5.4.standalone.js").await;
    assert_eq!(renderer.status, 200);
    assert!(
        docs.text
            .contains("src=\"/docs/redoc-2.5.4.standalone.js\"")
    );
    assert!(renderer.text.contains("Redoc"));
    assert_eq!(c.get("/metrics").await.status, 200);
    let malformed = c
        .send(
            Method::GET,
            "/health",
            &[("authorization", "Basic abc")],
            vec![],
        )
        .await;
    malformed.problem(400);
    let unknown_key = c
        .send(
            Method::GET,
            "/v1/meetings",
            &[("authorization", "Bearer chy_nothing_here")],
            vec![],
        )
        .await;
    unknown_key.problem(401);
    // Two `Authorization` headers are a 400 on every route, whichever of them is good.
    for uri in ["/health", "/v1/meetings"] {
        let doubled = c
            .send(
                Method::GET,
                uri,
                &[
                    ("authorization", write_auth.as_str()),
                    ("authorization", read_auth.as_str()),
                ],
                vec![],
            )
            .await;
        assert!(
            doubled.problem(400)["detail"]
                .as_str()
                .unwrap()
                .contains("one Authorization header"),
            "{}",
            doubled.text
        );
    }

    c.assert_complete(Resource::System);
}
