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

impl Actor {
    /// Who the changes a batch records are made by.
    pub fn author(&self) -> crate::store::items::Author<'_> {
        crate::store::items::Author {
            key_id: self.key_id,
            request_id: self.request_id.as_deref(),
        }
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
        Role => "role",
    }
);

/// One write, as recorded.
pub struct Change<'a> {
    pub action: Action,
    pub resource: Resource,
    pub resource_id: Uuid,
    /// The meeting it belongs to, if any.
    pub meeting_id: Option<Uuid>,
    /// The person it is about, for a person or one of their roles.
    pub person_id: Option<Uuid>,
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
            person_id: None,
            request,
        }
    }

    /// A change to a person's own record.
    pub fn person(action: Action, id: Uuid, request: Option<&'a serde_json::Value>) -> Change<'a> {
        Change {
            action,
            resource: Resource::Person,
            resource_id: id,
            meeting_id: None,
            person_id: Some(id),
            request,
        }
    }

    /// A change to one of person `person_id`'s roles.
    pub fn role(
        action: Action,
        id: Uuid,
        person_id: Uuid,
        request: Option<&'a serde_json::Value>,
    ) -> Change<'a> {
        Change {
            action,
            resource: Resource::Role,
            resource_id: id,
            meeting_id: None,
            person_id: Some(person_id),
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
            person_id: None,
            request: None,
        }
    }
}

/// Records a change in the transaction that makes it, with the meeting's version
/// as it stands at that point.
pub async fn record(conn: &mut PgConnection, actor: &Actor, change: Change<'_>) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO changes (api_key_id, request_id, action, resource, resource_id, meeting_id, version, request,
                              person_id)
         VALUES ($1, $2, $3, $4, $5, $6, (SELECT version FROM meetings WHERE id = $6), $7, $8)",
    )
    .bind(actor.key_id)
    .bind(actor.request_id.as_deref())
    .bind(change.action.as_str())
    .bind(change.resource.as_str())
    .bind(change.resource_id)
    .bind(change.meeting_id)
    .bind(change.request.map(sqlx::types::Json))
    .bind(change.person_id)
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

/// Records changes to people and their roles written at once (imports): one row for
/// each `(resource, resource_id, person_id)`, in one statement.
pub async fn record_about_people(
    conn: &mut PgConnection,
    actor: &Actor,
    action: Action,
    changed: &[(Resource, Uuid, Uuid)],
) -> ApiResult<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let resources: Vec<&str> = changed.iter().map(|c| c.0.as_str()).collect();
    let ids: Vec<Uuid> = changed.iter().map(|c| c.1).collect();
    let people: Vec<Uuid> = changed.iter().map(|c| c.2).collect();
    sqlx::query(
        "INSERT INTO changes (api_key_id, request_id, action, resource, resource_id, person_id)
         SELECT $1, $2, $3, c.resource, c.id, c.person_id
         FROM unnest($4::text[], $5::uuid[], $6::uuid[]) AS c(resource, id, person_id)",
    )
    .bind(actor.key_id)
    .bind(actor.request_id.as_deref())
    .bind(action.as_str())
    .bind(resources)
    .bind(ids)
    .bind(people)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whose history is read: a meeting's (with its items'), or a person's (with their
/// roles').
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub enum Subject {
    Meeting(Uuid),
    Person(Uuid),
}

/// A history is paged by its subject alone, so a cursor cannot be carried to another.
impl pagination::Listed for Subject {
    const LIST: &'static str = "history";
}

/// One change as the history lists it, and its id; from `changes c` and `api_keys k`.
macro_rules! change_row {
    ($subject:literal) => {
        concat!(
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
         WHERE c.",
            $subject,
            " = $1 AND c.id > $2
         ORDER BY c.id
         LIMIT $3"
        )
    };
}

/// One page of `subject`'s changes after `cursor`, oldest first, as its JSON; 404 when
/// there is no such meeting or person.
pub async fn page(
    db: &PgPool,
    subject: Subject,
    cursor: Option<&str>,
    limit: Limit,
) -> ApiResult<String> {
    let after: Option<i64> = cursor
        .map(|cursor| pagination::decode(cursor, &subject))
        .transpose()?;
    let (sql, id) = match subject {
        Subject::Meeting(id) => (change_row!("meeting_id"), id),
        Subject::Person(id) => (change_row!("person_id"), id),
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(sql)
        .bind(id)
        .bind(after.unwrap_or(0))
        .bind(limit.get() + 1)
        .fetch_all(db)
        .await?;
    if rows.is_empty() && after.is_none() {
        let mut conn = db.acquire().await?;
        match subject {
            Subject::Meeting(id) if meetings::version(&mut conn, id).await?.is_none() => {
                return Err(ApiError::NotFound("meeting"));
            }
            Subject::Person(id) => {
                crate::store::items::Table::People
                    .fetch(&mut conn, id)
                    .await?;
            }
            Subject::Meeting(_) => {}
        }
    }
    let (rows, more) = pagination::split_page(rows, limit);
    let next = match rows.last() {
        Some((_, id)) if more => Some(pagination::encode(id, &subject)),
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, None))
}
