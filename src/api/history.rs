//! `GET /v1/meetings/{id}/history`: a meeting's changes, oldest first.

use crate::http::routes::Routes;
use crate::http::routes::get;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::http::extract::{Path, Query};
use crate::http::json::JsonText;
use crate::store::pagination::{self, Limit};

/// A meeting's history is paged by the meeting's id alone.
impl pagination::Listed for Uuid {
    const LIST: &'static str = "history";
}
use crate::AppState;
use crate::http::replica::ReadPool;
use crate::store::{history, meetings};

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
    // The cursor is bound to the meeting, so it cannot be carried to another one.
    let after: Option<i64> = params
        .cursor
        .as_deref()
        .map(|cursor| pagination::decode(cursor, &meeting_id))
        .transpose()?;
    let rows = history::page(&db, meeting_id, after, params.limit.get() + 1).await?;
    if rows.is_empty() && after.is_none() {
        let exists = meetings::exists(&db, meeting_id).await?;
        if !exists {
            return Err(ApiError::NotFound("meeting"));
        }
    }
    let (rows, more) = pagination::split_page(rows, params.limit);
    let next = match rows.last() {
        Some((_, id)) if more => Some(pagination::encode(id, &meeting_id)),
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(JsonText(pagination::page_json(&items, next, None)))
}
