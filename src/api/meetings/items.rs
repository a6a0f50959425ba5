//! A meeting's participants, statements and agreements written one at a time: the
//! one pipeline every add, update and remove runs through, and the positioned insert
//! that single items and whole documents share.
//!
//! The pipeline, in one transaction: guard (an add locks the meeting, an update or a
//! remove honours `If-Match` on the item), the item's own write, touch the meeting (an
//! item write gives its meeting a new version), record the change, answer, commit.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::api::history::{self, Action, Actor, Change, Resource};
use crate::domain::error::{ApiError, ApiResult};
use crate::http::etag::{self, Table};
use crate::http::idempotency::Idempotency;
use crate::http::json::created_headers;
use crate::store::aggregate;

/// One kind of item: where it is stored, how it is named, read and deleted.
#[derive(Clone, Copy)]
pub struct Item {
    /// What the history records it as.
    pub resource: Resource,
    /// Its table, for the row lock of `If-Match`.
    pub table: Table,
    /// What one is called in a 404.
    pub what: &'static str,
    /// The path one item lives under: its `Location` is this, `/`, its id.
    pub path: &'static str,
    /// SQL answering the JSON text of item `$1`.
    pub fetch: &'static str,
    /// SQL deleting item `$1`, returning its meeting.
    pub delete: &'static str,
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
        let json: Option<String> = sqlx::query_scalar(self.fetch)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        json.ok_or(ApiError::NotFound(self.what))
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
            let meeting_id: Option<Uuid> = sqlx::query_scalar(self.delete)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            let meeting_id = meeting_id.ok_or(ApiError::NotFound(self.what))?;
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
                etag::require_current(&mut tx, headers, self.table, id, async |conn| {
                    self.fetch(conn, id).await
                })
                .await?;
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
                let headers = created_headers(&format!("{}/{id}", self.path));
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

/// SQL that inserts the rows of `$1`, a JSON array read by `jsonb_to_recordset` as
/// `record` (which has `meeting_id` and `idx`), into an item table: `columns` are set
/// from `values` and `position` places each row after its meeting's stored items, in
/// the order of `idx`. `joins` may join more tables to `r`.
///
/// Each meeting's last stored position is looked up once, in a materialised step that
/// runs before the first row is written. Looked up row by row, it walked the index
/// entries the statement itself had just added, and a document of n items cost n².
///
/// Every part is a `'static` string written in this crate, never client text.
pub fn positioned_insert(
    table: &'static str,
    columns: &'static str,
    record: &'static str,
    values: &'static str,
    joins: &'static str,
) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!(
        "WITH r AS MATERIALIZED (SELECT * FROM jsonb_to_recordset($1) AS r({record})),
              next AS MATERIALIZED (
                SELECT m.meeting_id,
                       coalesce((SELECT max(x.position) + 1 FROM {table} x WHERE x.meeting_id = m.meeting_id), 0)
                         AS position
                  FROM (SELECT DISTINCT meeting_id FROM r) m)
         INSERT INTO {table} ({columns}, position)
         SELECT {values},
                (row_number() OVER (PARTITION BY r.meeting_id ORDER BY r.idx))::int - 1 + next.position
           FROM r JOIN next ON next.meeting_id = r.meeting_id {joins}"
    ))
}
