//! People's roles: the offices they held and when, added under their person, edited,
//! removed, and listed by who held which office on a day.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::AppState;
use crate::domain::error::ApiResult;
use crate::domain::role::RoleInput;
use crate::domain::vocabulary::{Check, Checks};
use crate::http::etag;
use crate::http::extract::{Json, Patch, Path, Query};
use crate::http::idempotency::Idempotency;
use crate::http::json::{JsonText, created_headers};
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get, post};
use crate::store::history::{self, Action, Actor, Change};
use crate::store::items::Table;
use crate::store::people;
use crate::store::roles::{self, RoleFilters};

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/people/{id}/roles", post(add))
        .route("/v1/roles", get(list))
        .route("/v1/roles/{id}", get(show).patch(update).delete(remove))
}

fn check(role: &RoleInput) -> ApiResult<()> {
    let mut checks = Checks::default();
    role.check("", &mut checks);
    Ok(checks.finish()?)
}

/// `POST /v1/people/{id}/roles`: a role, as the last of the person's.
async fn add(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(person_id): Path<Uuid>,
    Json(role): Json<RoleInput>,
) -> ApiResult<Response> {
    check(&role)?;
    let role = role.trimmed();
    let sent = serde_json::to_value(&role).map_err(anyhow::Error::from)?;
    let mut tx = state.db.begin().await?;
    people::lock(&mut tx, person_id).await?;
    let id = roles::insert_all(&mut tx, person_id, std::slice::from_ref(&role)).await?[0];
    history::record(
        &mut tx,
        &actor,
        Change::role(Action::Create, id, person_id, Some(&sent)),
    )
    .await?;
    let body = Table::Roles.fetch(&mut tx, id).await?;
    let mut headers = created_headers(&format!("/v1/roles/{id}"));
    headers.insert(
        axum::http::header::ETAG,
        axum::http::HeaderValue::from_str(&etag::of(&body)).expect("a quoted hex digest"),
    );
    let response = idempotency
        .answer(&mut tx, StatusCode::CREATED, headers, body)
        .await?;
    tx.commit().await?;
    Ok(response)
}

async fn show(
    ReadPool(db): ReadPool,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let body = Table::Roles.fetch(&mut *db.acquire().await?, id).await?;
    Ok(etag::respond(&headers, body))
}

async fn update(
    State(state): State<AppState>,
    Patch(actor, id, headers, patch): Patch,
) -> ApiResult<Response> {
    let mut checks = Checks::default();
    for field in ["id", "person_id"] {
        if patch.get(field).is_some() {
            checks.fail(field, "is set by the server and cannot be changed");
        }
    }
    checks.finish()?;
    let mut tx = state.db.begin().await?;
    etag::require_current(&mut tx, &headers, Table::Roles, id).await?;
    let (person_id, mut value) = roles::for_update(&mut tx, id).await?;
    if !crate::http::extract::merge_patch(&mut value, &patch)? {
        return Ok(etag::tagged(Table::Roles.fetch(&mut tx, id).await?));
    }
    let role: RoleInput = crate::http::extract::deserialize(value)?;
    check(&role)?;
    roles::update(&mut tx, id, &role).await?;
    history::record(
        &mut tx,
        &actor,
        Change::role(Action::Update, id, person_id, Some(&patch)),
    )
    .await?;
    let body = Table::Roles.fetch(&mut tx, id).await?;
    tx.commit().await?;
    Ok(etag::tagged(body))
}

async fn remove(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut tx = state.db.begin().await?;
    etag::require_current(&mut tx, &headers, Table::Roles, id).await?;
    let person_id = Table::Roles.delete(&mut tx, id).await?;
    history::record(
        &mut tx,
        &actor,
        Change::role(Action::Delete, id, person_id, None),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/roles`: who held which office, and when.
async fn list(ReadPool(db): ReadPool, Query(filters): Query<RoleFilters>) -> ApiResult<JsonText> {
    Ok(JsonText(roles::page(&db, &filters).await?))
}
