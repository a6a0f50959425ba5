//! `GET /v1/meetings/{id}/history`: a meeting's changes, oldest first.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::AppState;
use crate::domain::error::ApiResult;
use crate::http::extract::{Path, Query};
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::history;
use crate::store::pagination::Limit;

pub fn routes() -> Routes<AppState> {
    Routes::new().route("/v1/meetings/{id}/history", get(list))
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
        history::page(&db, meeting_id, cursor, params.limit).await?,
    ))
}
