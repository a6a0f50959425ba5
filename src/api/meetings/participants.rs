//! Who took part in a meeting: a named person, a body without one, or both.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use crate::AppState;
use crate::api::meetings::items::Item;
use crate::domain::error::ApiResult;
use crate::domain::participant::ParticipantInput;
use crate::domain::vocabulary::Checks;
use crate::http::etag;
use crate::http::extract::{Json, MergePatch, Path};
use crate::http::idempotency::Idempotency;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get, post};
use crate::store::history::{Actor, Resource};
use crate::store::items::Table;
use crate::store::participants::{self, NewParticipant};

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/meetings/{id}/participants", post(add))
        .route(
            "/v1/participants/{id}",
            get(show).patch(update).delete(remove),
        )
}

/// How one participant is stored, read and written.
const ITEM: Item = Item {
    resource: Resource::Participant,
    table: Table::Participants,
    path: "/v1/participants",
};

async fn add(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(meeting_id): Path<Uuid>,
    Json(input): Json<ParticipantInput>,
) -> ApiResult<Response> {
    let mut checks = Checks::default();
    input.check("", &mut checks);
    checks.finish()?;
    ITEM.add(
        &state.db,
        &actor,
        idempotency,
        meeting_id,
        &input,
        async |conn| {
            let new = NewParticipant {
                meeting_id,
                input: &input,
                field: String::new(),
            };
            let written = participants::insert_all(conn, std::slice::from_ref(&new)).await?;
            Ok(written[0].id)
        },
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
        let (meeting_id, mut value) = participants::for_update(conn, id).await?;
        // Naming a person by name replaces the person given by id.
        if patch.get("name").is_some_and(|name| !name.is_null()) {
            value["person_id"] = serde_json::Value::Null;
        }
        crate::http::extract::merge_patch(&mut value, &patch)?;
        let input: ParticipantInput = crate::http::extract::deserialize(value)?;
        let mut checks = Checks::default();
        input.check("", &mut checks);
        checks.finish()?;
        participants::update(conn, id, meeting_id, &input).await?;
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
