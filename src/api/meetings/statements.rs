//! What was said at a meeting, by whom, and the search across all of it.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use crate::AppState;
use crate::api::meetings::items::Item;
use crate::domain::error::ApiResult;
use crate::domain::statement::StatementInput;
use crate::domain::vocabulary::Checks;
use crate::http::etag;
use crate::http::extract::{Json, MergePatch, Path, Query};
use crate::http::idempotency::Idempotency;
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get, post};
use crate::store::history::{Actor, Resource};
use crate::store::items::Table;
use crate::store::statements::{self, StatementFilters};

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/statements", get(list))
        .route("/v1/meetings/{id}/statements", post(add))
        .route(
            "/v1/statements/{id}",
            get(show).patch(update).delete(remove),
        )
}

/// How one statement is stored, read and written.
const ITEM: Item = Item {
    resource: Resource::Statement,
    table: Table::Statements,
    path: "/v1/statements",
};

fn check_single(input: &StatementInput) -> ApiResult<()> {
    let mut checks = Checks::default();
    if input.speaker_participant.is_some() {
        checks.fail(
            "speaker_participant",
            "only a whole meeting document can name a speaker by index; use `participant_id`",
        );
    }
    input.check("", &mut checks);
    Ok(checks.finish()?)
}

async fn add(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(meeting_id): Path<Uuid>,
    Json(input): Json<StatementInput>,
) -> ApiResult<Response> {
    check_single(&input)?;
    ITEM.add(
        &state.db,
        &actor,
        idempotency,
        meeting_id,
        &input,
        async |conn| statements::insert_one(conn, meeting_id, &input).await,
    )
    .await
}

async fn show(
    ReadPool(db): ReadPool,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut conn = db.acquire().await?;
    Ok(etag::respond(&headers, ITEM.fetch(&mut conn, id).await?))
}

async fn update(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    MergePatch(patch): MergePatch,
) -> ApiResult<Response> {
    ITEM.update(&state.db, &actor, id, &headers, &patch, async |conn| {
        let (meeting_id, position, mut value) = statements::for_update(conn, id).await?;
        // A new speaker replaces the old one, however the old one was named.
        let speaker_fields = ["participant_id", "person_id", "speaker_name"];
        if speaker_fields
            .iter()
            .any(|f| patch.get(*f).is_some_and(|v| !v.is_null()))
        {
            for field in speaker_fields {
                value[field] = serde_json::Value::Null;
            }
        } else if value["participant_id"].is_string() {
            // The person follows from the participant; keep one speaker reference.
            value["person_id"] = serde_json::Value::Null;
            value["speaker_name"] = serde_json::Value::Null;
        } else if value["person_id"].is_string() {
            value["speaker_name"] = serde_json::Value::Null;
        }
        crate::http::extract::merge_patch(&mut value, &patch)?;
        let input: StatementInput = crate::http::extract::deserialize(value)?;
        check_single(&input)?;
        statements::replace(conn, id, meeting_id, position, &input).await?;
        Ok(Some(meeting_id))
    })
    .await
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    ITEM.remove(&state.db, &actor, id, &headers).await
}

async fn list(
    ReadPool(db): ReadPool,
    Query(filters): Query<StatementFilters>,
) -> ApiResult<JsonText> {
    Ok(JsonText(statements::page(&db, &filters).await?))
}
