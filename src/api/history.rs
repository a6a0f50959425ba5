//! The change history: every write records which key made it, in which request and
//! when; `GET /v1/meetings/{id}/history` lists a meeting's changes, oldest first.

use std::convert::Infallible;

use crate::http::routes::Routes;
use crate::http::routes::get;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::http::access::Caller;
use crate::http::extract::{Path, Query};
use crate::http::json::JsonText;
use crate::store::pagination::{self, Limit};

/// A meeting's history is paged by the meeting's id alone.
impl pagination::Listed for Uuid {
    const LIST: &'static str = "history";
}
use crate::domain::vocabulary::vocabulary;
use crate::http::replica::ReadPool;
use crate::{AppState, REQUEST_ID};

pub fn routes() -> Routes<AppState> {
    Routes::new().route("/v1/meetings/{id}/history", get(list))
}

/// Who makes a write: the API key, and the request it came in. Both are empty for
/// the `chancery` command run on the server itself.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub key_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Actor {
            key_id: parts.extensions.get::<Caller>().and_then(|c| c.key_id),
            request_id: parts
                .headers
                .get(&REQUEST_ID)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        })
    }
}

vocabulary!(
    /// What a change did.
    Action { Create => "create", Update => "update", Delete => "delete" }
);

vocabulary!(
    /// What a change was made to.
    Resource {
        Meeting => "meeting",
        Participant => "participant",
        Statement => "statement",
        Agreement => "agreement",
        Person => "person",
    }
);

/// One write, as recorded.
pub struct Change<'a> {
    pub action: Action,
    pub resource: Resource,
    pub resource_id: Uuid,
    /// The meeting it belongs to, if any.
    pub meeting_id: Option<Uuid>,
    /// What the client sent, when it says more than the action does.
    pub request: Option<&'a serde_json::Value>,
}

impl<'a> Change<'a> {
    /// A change to one of a meeting's participants, statements or agreements.
    pub fn item(
        action: Action,
        resource: Resource,
        id: Uuid,
        meeting_id: Uuid,
        request: Option<&'a serde_json::Value>,
    ) -> Change<'a> {
        Change {
            action,
            resource,
            resource_id: id,
            meeting_id: Some(meeting_id),
            request,
        }
    }

    /// A change to a meeting's own record.
    pub fn meeting(action: Action, id: Uuid) -> Change<'static> {
        Change {
            action,
            resource: Resource::Meeting,
            resource_id: id,
            meeting_id: Some(id),
            request: None,
        }
    }
}

/// Records a change in the transaction that makes it, with the meeting's version
/// as it stands at that point.
pub async fn record(conn: &mut PgConnection, actor: &Actor, change: Change<'_>) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO changes (api_key_id, request_id, action, resource, resource_id, meeting_id, version, request)
         VALUES ($1, $2, $3, $4, $5, $6, (SELECT version FROM meetings WHERE id = $6), $7)",
    )
    .bind(actor.key_id)
    .bind(actor.request_id.as_deref())
    .bind(change.action.as_str())
    .bind(change.resource.as_str())
    .bind(change.resource_id)
    .bind(change.meeting_id)
    .bind(change.request.map(sqlx::types::Json))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records whole meetings written at once (imports), one row each, in one statement.
pub async fn record_meetings(
    conn: &mut PgConnection,
    actor: &Actor,
    action: Action,
    ids: &[Uuid],
) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO changes (api_key_id, request_id, action, resource, resource_id, meeting_id, version)
         SELECT $1, $2, $3, 'meeting', m.id, m.id, m.version
         FROM meetings m WHERE m.id = ANY($4)",
    )
    .bind(actor.key_id)
    .bind(actor.request_id.as_deref())
    .bind(action.as_str())
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT json_build_object(
                    'id', c.id,
                    'changed_at', c.changed_at,
                    'action', c.action,
                    'resource', c.resource,
                    'resource_id', c.resource_id,
                    'version', c.version,
                    'key', CASE WHEN k.id IS NULL THEN NULL
                                ELSE json_build_object('id', k.id, 'name', k.name) END,
                    'request_id', c.request_id,
                    'request', c.request)::text,
                c.id
         FROM changes c LEFT JOIN api_keys k ON k.id = c.api_key_id
         WHERE c.meeting_id = $1 AND c.id > $2
         ORDER BY c.id
         LIMIT $3",
    )
    .bind(meeting_id)
    .bind(after.unwrap_or(0))
    .bind(params.limit.get() + 1)
    .fetch_all(&db)
    .await?;
    if rows.is_empty() && after.is_none() {
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM meetings WHERE id = $1)")
                .bind(meeting_id)
                .fetch_one(&db)
                .await?;
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
