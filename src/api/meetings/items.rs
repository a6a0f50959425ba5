//! A meeting's participants, statements and agreements written one at a time: the
//! one pipeline every add, update and remove runs through.
//!
//! The pipeline, in one transaction: guard (an add locks the meeting, an update or a
//! remove honours `If-Match` on the item), the item's own write, touch the meeting (an
//! item write gives its meeting a new version), record the change, answer, commit.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use axum::handler::Handler;

use crate::AppState;
use crate::http::extract::{Json, Path};
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get, post};

use crate::domain::error::ApiResult;
use crate::domain::vocabulary::{Check, Checks};
use crate::http::etag;
use crate::http::idempotency::Idempotency;
use crate::http::json::created_headers;
use crate::store::aggregate;
use crate::store::history::{self, Action, Actor, Change, Resource};
use crate::store::items::Table;

/// One kind of item: where it is stored and how the history and the API name it.
#[derive(Clone, Copy)]
pub struct Item {
    /// What the history records it as.
    pub resource: Resource,
    /// Its table.
    pub table: Table,
    /// The route of one item, `…/{id}`; an added item's `Location` is this with its id.
    pub route: &'static str,
    /// The route items are added at, under their meeting.
    pub added_at: &'static str,
}

/// One kind of item and what differs between kinds when one is sent alone: how it is
/// checked and written. The handlers below serve every kind.
pub trait Kind: Send + Sync + 'static {
    const ITEM: Item;
    /// What clients send.
    type Input: DeserializeOwned + Serialize + Check + Send + Sync + 'static;

    /// Checks an input sent on its own.
    fn check(input: &Self::Input) -> ApiResult<()> {
        let mut checks = Checks::default();
        input.check("", &mut checks);
        Ok(checks.finish()?)
    }

    /// Writes it as the last of meeting `meeting_id`'s items; its id.
    fn insert(
        conn: &mut PgConnection,
        meeting_id: Uuid,
        input: &Self::Input,
    ) -> impl Future<Output = ApiResult<Uuid>> + Send;
}

/// The routes of one kind of item: add under its meeting, read, update with `update`
/// (what differs most between kinds), remove.
pub fn routes<K: Kind, H: Handler<T, AppState>, T: 'static>(update: H) -> Routes<AppState> {
    Routes::new().route(K::ITEM.added_at, post(add::<K>)).route(
        K::ITEM.route,
        get(show::<K>).patch(update).delete(remove::<K>),
    )
}

/// `POST /v1/meetings/{id}/<items>`.
pub async fn add<K: Kind>(
    State(state): State<AppState>,
    actor: Actor,
    idempotency: Idempotency,
    Path(meeting_id): Path<Uuid>,
    Json(input): Json<K::Input>,
) -> ApiResult<Response> {
    K::check(&input)?;
    K::ITEM
        .add(
            &state.db,
            &actor,
            idempotency,
            meeting_id,
            &input,
            async |conn| K::insert(conn, meeting_id, &input).await,
        )
        .await
}

/// `GET /v1/<items>/{id}`.
pub async fn show<K: Kind>(
    ReadPool(db): ReadPool,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut conn = db.acquire().await?;
    Ok(etag::respond(&headers, K::ITEM.fetch(&mut conn, id).await?))
}

/// `DELETE /v1/<items>/{id}`.
pub async fn remove<K: Kind>(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    K::ITEM.remove(&state.db, &actor, id, &headers).await
}

/// What an item write did.
enum Wrote {
    /// Item `id` of meeting `meeting_id` changed.
    Item { id: Uuid, meeting_id: Uuid },
    /// Nothing changed: no new version, so other writers' ETags stay good.
    Nothing { id: Uuid },
}

/// The request a write answers.
enum Op<'a> {
    /// `POST`: locks the meeting first; answers 201 with a `Location`, stored for the
    /// idempotency key in the same transaction.
    Add {
        meeting_id: Uuid,
        sent: serde_json::Value,
        idempotency: Idempotency,
    },
    /// `PATCH`: honours `If-Match` on the item; answers it with its `ETag`.
    Update {
        id: Uuid,
        headers: &'a HeaderMap,
        patch: &'a serde_json::Value,
    },
    /// `DELETE`: honours `If-Match` on the item; answers 204.
    Remove { id: Uuid, headers: &'a HeaderMap },
}

impl Item {
    /// The item's JSON, as its `GET` answers it.
    pub async fn fetch(&self, conn: &mut PgConnection, id: Uuid) -> ApiResult<String> {
        self.table.fetch(conn, id).await
    }

    /// Adds an item to meeting `meeting_id`: `insert` writes it from `sent` (the
    /// checked input, recorded in the history) and returns its id.
    pub async fn add(
        &self,
        db: &PgPool,
        actor: &Actor,
        idempotency: Idempotency,
        meeting_id: Uuid,
        sent: &impl Serialize,
        insert: impl AsyncFnOnce(&mut PgConnection) -> ApiResult<Uuid>,
    ) -> ApiResult<Response> {
        let sent = serde_json::to_value(sent).map_err(anyhow::Error::from)?;
        let op = Op::Add {
            meeting_id,
            sent,
            idempotency,
        };
        self.run(db, actor, op, async |conn| {
            let id = insert(conn).await?;
            Ok(Wrote::Item { id, meeting_id })
        })
        .await
    }

    /// Applies merge patch `patch` to item `id`: `edit` writes it and returns its
    /// meeting, or `None` when the patch changes nothing.
    pub async fn update(
        &self,
        db: &PgPool,
        actor: &Actor,
        id: Uuid,
        headers: &HeaderMap,
        patch: &serde_json::Value,
        edit: impl AsyncFnOnce(&mut PgConnection) -> ApiResult<Option<Uuid>>,
    ) -> ApiResult<Response> {
        let op = Op::Update { id, headers, patch };
        self.run(db, actor, op, async |conn| {
            Ok(match edit(conn).await? {
                Some(meeting_id) => Wrote::Item { id, meeting_id },
                None => Wrote::Nothing { id },
            })
        })
        .await
    }

    /// Removes item `id`.
    pub async fn remove(
        &self,
        db: &PgPool,
        actor: &Actor,
        id: Uuid,
        headers: &HeaderMap,
    ) -> ApiResult<Response> {
        let op = Op::Remove { id, headers };
        self.run(db, actor, op, async |conn| {
            let meeting_id = self.table.delete(conn, id).await?;
            Ok(Wrote::Item { id, meeting_id })
        })
        .await
    }

    /// The pipeline: guard, `write`, touch the meeting, record the change, answer, commit.
    async fn run(
        &self,
        db: &PgPool,
        actor: &Actor,
        op: Op<'_>,
        write: impl AsyncFnOnce(&mut PgConnection) -> ApiResult<Wrote>,
    ) -> ApiResult<Response> {
        let mut tx = db.begin().await?;
        match &op {
            Op::Add { meeting_id, .. } => {
                aggregate::lock(&mut tx, *meeting_id).await?;
            }
            Op::Update { id, headers, .. } | Op::Remove { id, headers } => {
                let id = *id;
                etag::require_current(&mut tx, headers, self.table, id).await?;
            }
        }
        let (id, meeting_id) = match write(&mut tx).await? {
            Wrote::Item { id, meeting_id } => (id, meeting_id),
            // Nothing to commit either.
            Wrote::Nothing { id } => return Ok(etag::tagged(self.fetch(&mut tx, id).await?)),
        };
        aggregate::touch(&mut tx, meeting_id).await?;
        let (action, request) = match &op {
            Op::Add { sent, .. } => (Action::Create, Some(sent)),
            Op::Update { patch, .. } => (Action::Update, Some(*patch)),
            Op::Remove { .. } => (Action::Delete, None),
        };
        let change = Change::item(action, self.resource, id, meeting_id, request);
        history::record(&mut tx, actor, change).await?;
        let response = match op {
            Op::Add { idempotency, .. } => {
                let body = self.fetch(&mut tx, id).await?;
                let location = self.route.replace("{id}", &id.to_string());
                let headers = created_headers(&location);
                idempotency
                    .answer(&mut tx, StatusCode::CREATED, headers, body)
                    .await?
            }
            Op::Update { .. } => etag::tagged(self.fetch(&mut tx, id).await?),
            Op::Remove { .. } => StatusCode::NO_CONTENT.into_response(),
        };
        tx.commit().await?;
        Ok(response)
    }
}
