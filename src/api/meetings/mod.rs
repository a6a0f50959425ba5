//! Meetings: whole documents in and out, merge-patch edits, and the filtered list.

pub mod agreements;
pub mod items;
pub mod participants;
pub mod statements;
pub mod writer;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use uuid::Uuid;

use crate::AppState;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::meeting::MeetingInput;
use crate::domain::vocabulary::Checks;
use crate::http::etag;
use crate::http::extract::{Json, Patch, Path, Query};
use crate::http::idempotency::Idempotency;
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::aggregate;
use crate::store::filters::MeetingFilters;
use crate::store::history::{self, Action, Actor, Change};
use crate::store::meetings;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/meetings", get(list).post(create))
        .route("/v1/meetings/{id}", get(show).patch(update).delete(remove))
}

async fn create(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Json(meeting): Json<MeetingInput>,
) -> ApiResult<Response> {
    meeting.check()?;
    state.meetings.create(meeting, actor, idempotency).await
}

async fn show(
    ReadPool(db): ReadPool,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut conn = db.acquire().await?;
    // A client holding a tag is answered from the stamp alone while it is current,
    // without building the document.
    if headers.contains_key(header::IF_NONE_MATCH) {
        let stamp = meetings::stamp(&mut conn, id)
            .await?
            .ok_or(ApiError::NotFound("meeting"))?;
        if let Some(unchanged) = etag::not_modified(&headers, &etag::of_meeting(stamp)) {
            return Ok(unchanged);
        }
    }
    let (body, stamp) = meetings::fetch(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("meeting"))?;
    Ok(etag::respond_as(&headers, &etag::of_meeting(stamp), body))
}

/// The fields a merge patch may change; the embedded lists have endpoints of their own.
const LIST_FIELDS: [&str; 3] = ["participants", "statements", "agreements"];
const READ_ONLY_FIELDS: [&str; 6] = [
    "id",
    "countries",
    "cameo",
    "created_at",
    "updated_at",
    "version",
];

async fn update(
    State(state): State<AppState>,
    Patch(actor, id, headers, patch): Patch,
) -> ApiResult<Response> {
    let mut checks = Checks::default();
    for field in LIST_FIELDS {
        if patch.get(field).is_some() {
            checks.fail(
                field,
                format!("edit {field} through /v1/meetings/{{id}}/{field} and /v1/{field}/{{id}}"),
            );
        }
    }
    for field in READ_ONLY_FIELDS {
        if patch.get(field).is_some() {
            checks.fail(field, "is set by the server and cannot be changed");
        }
    }
    checks.finish()?;

    let mut tx = state.db.begin().await?;
    aggregate::lock(&mut tx, id).await?;
    let (current, stamp) = meetings::fetch(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound("meeting"))?;
    etag::require_match(&headers, &etag::of_meeting(stamp), "meeting")?;
    let mut value: serde_json::Value =
        serde_json::from_str(&current).map_err(anyhow::Error::from)?;
    if let Some(fields) = value.as_object_mut() {
        for field in LIST_FIELDS.iter().chain(&READ_ONLY_FIELDS) {
            fields.remove(*field);
        }
    }
    if !crate::http::extract::merge_patch(&mut value, &patch)? {
        // Nothing changes: no new version, so other writers' ETags stay good.
        return Ok(etag::tagged_as(&etag::of_meeting(stamp), current));
    }
    let meeting: MeetingInput = crate::http::extract::deserialize(value)?;
    let mut checks = Checks::default();
    meeting.check_own_fields(&mut checks);
    checks.finish()?;

    meetings::update(&mut tx, id, &meeting).await?;
    aggregate::touch(&mut tx, id).await?;
    history::record(
        &mut tx,
        &actor,
        Change {
            request: Some(&patch),
            ..Change::meeting(Action::Update, id)
        },
    )
    .await?;
    let (body, stamp) = meetings::fetch(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound("meeting"))?;
    tx.commit().await?;
    Ok(etag::tagged_as(&etag::of_meeting(stamp), body))
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin().await?;
    aggregate::lock(&mut tx, id).await?;
    let stamp = meetings::stamp(&mut tx, id)
        .await?
        .ok_or(ApiError::NotFound("meeting"))?;
    etag::require_match(&headers, &etag::of_meeting(stamp), "meeting")?;
    history::record(&mut tx, &actor, Change::meeting(Action::Delete, id)).await?;
    meetings::delete(&mut tx, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    ReadPool(db): ReadPool,
    Query(filters): Query<MeetingFilters>,
) -> ApiResult<JsonText> {
    Ok(JsonText(meetings::page(&db, &filters).await?))
}
