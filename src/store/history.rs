//! The change history: every write records which key made it, in which request and
//! when, in the transaction that makes it.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::vocabulary;
use crate::store::meetings;
use crate::store::pagination::{self, Limit};

/// Who makes a write: the API key, and the request it came in. Both are empty for
/// the `chancery` command run on the server itself.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub key_id: Option<Uuid>,
    pub request_id: Option<String>,
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

/// A meeting's history is paged by the meeting's id alone, so a cursor cannot be carried
/// to another meeting.
impl pagination::Listed for Uuid {
    const LIST: &'static str = "history";
}

/// One page of meeting `meeting_id`'s changes after `cursor`, oldest first, as its JSON;
/// 404 when there is no such meeting.
pub async fn page(
    db: &PgPool,
    meeting_id: Uuid,
    cursor: Option<&str>,
    limit: Limit,
) -> ApiResult<String> {
    let after: Option<i64> = cursor
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
    .bind(limit.get() + 1)
    .fetch_all(db)
    .await?;
    if rows.is_empty()
        && after.is_none()
        && meetings::version(&mut *db.acquire().await?, meeting_id)
            .await?
            .is_none()
    {
        return Err(ApiError::NotFound("meeting"));
    }
    let (rows, more) = pagination::split_page(rows, limit);
    let next = match rows.last() {
        Some((_, id)) if more => Some(pagination::encode(id, &meeting_id)),
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, None))
}
