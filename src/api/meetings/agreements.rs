//! What a meeting agreed, pledged, planned or signed, and the filters across all of it.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use crate::AppState;
use crate::api::meetings::items::Item;
use crate::domain::agreement::AgreementInput;
use crate::domain::error::ApiResult;
use crate::domain::vocabulary::Checks;
use crate::http::etag;
use crate::http::extract::{Json, MergePatch, Path, Query};
use crate::http::idempotency::Idempotency;
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get, post};
use crate::store::agreements::{self, AgreementFilters};
use crate::store::history::{Actor, Resource};
use crate::store::items::Table;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/agreements", get(list))
        .route("/v1/meetings/{id}/agreements", post(add))
        .route(
            "/v1/agreements/{id}",
            get(show).patch(update).delete(remove),
        )
}

/// How one agreement is stored, read and written.
const ITEM: Item = Item {
    resource: Resource::Agreement,
    table: Table::Agreements,
    path: "/v1/agreements",
};

fn check_single(input: &AgreementInput) -> ApiResult<()> {
    let mut checks = Checks::default();
    input.check("", &mut checks);
    Ok(checks.finish()?)
}

async fn add(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(meeting_id): Path<Uuid>,
    Json(input): Json<AgreementInput>,
) -> ApiResult<Response> {
    check_single(&input)?;
    ITEM.add(
        &state.db,
        &actor,
        idempotency,
        meeting_id,
        &input,
        async |conn| {
            let ids = agreements::insert_all(conn, &[(meeting_id, &input)]).await?;
            Ok(ids[0])
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
        let (meeting_id, mut value) = agreements::for_update(conn, id).await?;
        if !crate::http::extract::merge_patch(&mut value, &patch)? {
            return Ok(None);
        }
        let input: AgreementInput = crate::http::extract::deserialize(value)?;
        check_single(&input)?;
        agreements::update(conn, id, &input).await?;
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
    Query(filters): Query<AgreementFilters>,
) -> ApiResult<JsonText> {
    Ok(JsonText(agreements::page(&db, &filters).await?))
}
