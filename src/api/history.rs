//! `GET /v1/meetings/{id}/history` and `GET /v1/people/{id}/history`: a meeting's or a
//! person's changes, oldest first.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::domain::error::ApiResult;
use crate::http::extract::{Path, Query};
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::history::{self, Subject};
use crate::store::pagination::Limit;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/meetings/{id}/history", get(list))
        .route("/v1/people/{id}/history", get(person))
}

/// Parameters of the history list.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryParams {
    #[serde(default, skip_serializing)]
    limit: Limit,
    #[serde(default, skip_serializing)]
    cursor: Option<String>,
}

async fn list(
    ReadPool(db): ReadPool,
    Path(meeting_id): Path<Uuid>,
    Query(params): Query<HistoryParams>,
) -> ApiResult<JsonText> {
    let cursor = params.cursor.as_deref();
    Ok(JsonText(
        history::page(&db, Subject::Meeting(meeting_id), cursor, params.limit).await?,
    ))
}

/// `GET /v1/people/{id}/history`: a person's changes and their roles', oldest first.
async fn person(
    ReadPool(db): ReadPool,
    Path(person_id): Path<Uuid>,
    Query(params): Query<HistoryParams>,
) -> ApiResult<JsonText> {
    let cursor = params.cursor.as_deref();
    Ok(JsonText(
        history::page(&db, Subject::Person(person_id), cursor, params.limit).await?,
    ))
}
