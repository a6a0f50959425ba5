//! People who take part in meetings, found by name or alias regardless of accents.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use crate::AppState;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::person::PersonInput;
use crate::http::etag;
use crate::http::extract::{Patch, Path, Query};
use crate::http::json::JsonText;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::history::{self, Action, Change};
use crate::store::items::Table;
use crate::store::people::{self, PeopleFilters};

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/people", get(list))
        .route("/v1/people/{id}", get(show).patch(update))
}

async fn list(ReadPool(db): ReadPool, Query(filters): Query<PeopleFilters>) -> ApiResult<JsonText> {
    Ok(JsonText(people::page(&db, &filters).await?))
}

async fn show(
    ReadPool(db): ReadPool,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let body = Table::People.fetch(&mut *db.acquire().await?, id).await?;
    Ok(etag::respond(&headers, body))
}

async fn update(
    State(state): State<AppState>,
    Patch(actor, id, headers, patch): Patch,
) -> ApiResult<Response> {
    if patch.get("roles").is_some() {
        return Err(ApiError::field(
            "roles",
            "edit roles through /v1/people/{id}/roles and /v1/roles/{id}",
        ));
    }
    let mut tx = state.db.begin().await?;
    etag::require_current(&mut tx, &headers, Table::People, id).await?;
    let mut value = people::for_update(&mut tx, id).await?;
    if !crate::http::extract::merge_patch(&mut value, &patch)? {
        return Ok(etag::tagged(Table::People.fetch(&mut tx, id).await?));
    }
    let input: PersonInput = crate::http::extract::deserialize(value)?;
    input.check()?;
    people::update(&mut tx, id, &input).await?;
    history::record(
        &mut tx,
        &actor,
        Change::person(Action::Update, id, Some(&patch)),
    )
    .await?;
    let body = Table::People.fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(etag::tagged(body))
}
