//! Liveness, readiness and the API's own description.

use std::time::Duration;

use crate::http::routes::Routes;
use crate::http::routes::get;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;
use crate::domain::error::ApiError;
use crate::http::error::Problem;
use crate::store::db;

/// The OpenAPI description, as served.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/openapi.yaml", get(openapi))
        .route("/docs", get(docs))
        .route(REDOC_PATH, get(redoc))
}

/// Metrics in Prometheus' text format: outside the request timeout, which a scrape
/// never needs.
pub fn metrics() -> Routes<AppState> {
    Routes::new().route("/metrics", get(crate::http::telemetry::render))
}

/// Redoc's standalone bundle from the npm package `redoc`, pinned and served by the
/// binary itself, so `/docs` renders with no network (see `assets/redoc/README.md`).
const REDOC_JS: &[u8] = include_bytes!("../../assets/redoc/redoc-2.5.4.standalone.js");
const REDOC_PATH: &str = "/docs/redoc-2.5.4.standalone.js";

async fn health() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// How long readiness waits for the database: a probe must hear "not ready" well
/// before it gives up on the service.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Ready when the primary answers and every migration this build knows is applied;
/// says too whether the read replica, if there is one, answers.
async fn ready(State(state): State<AppState>) -> Result<Response, ApiError> {
    let latest = crate::store::db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    let query = db::applied_migration(&state.db);
    let applied: Option<i64> = match tokio::time::timeout(READY_TIMEOUT, query).await {
        Ok(Ok(applied)) => applied,
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the database did not answer");
            return Err(ApiError::Unavailable);
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within {READY_TIMEOUT:?}");
            return Err(ApiError::Unavailable);
        }
    };
    let applied = applied.unwrap_or(0);
    if applied < latest {
        let detail = format!(
            "the database is at migration {applied}, this build needs {latest}: run `chancery migrate`"
        );
        tracing::warn!("not ready: {detail}");
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        return Ok(Problem::new(unavailable, detail).into_response_with(unavailable));
    }
    // Reads fall back to the primary, so a replica that is down makes no one unready.
    let replica = match &state.replica {
        None => "none",
        Some(replica) => {
            let ping = db::ping(replica.pool());
            match tokio::time::timeout(READY_TIMEOUT, ping).await {
                Ok(Ok(_)) => "ready",
                _ => "unavailable",
            }
        }
    };
    Ok(axum::Json(serde_json::json!({
        "status": "ready",
        "migration": latest,
        "primary": "ready",
        "replica": replica,
    }))
    .into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML).into_response()
}

async fn docs() -> Response {
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Chancery API</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
  <redoc spec-url="/openapi.yaml"></redoc>
  <script src="{REDOC_PATH}"></script>
</body>
</html>
"#
    );
    (StatusCode::OK, Html(page)).into_response()
}

async fn redoc() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // The path names the version, so the bundle never changes under it.
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        REDOC_JS,
    )
        .into_response()
}
