//! People's roles: written, edited, replaced by an import, and listed by who held
//! which office on a day, with how certain the dates make that.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::role::{RoleInput, RoleKind};
use crate::domain::vocabulary::FilterDate;
use crate::store::pagination::{self, Limit};
use crate::store::people::PersonRef;
use crate::store::representation;

/// Writes `roles` as the last of person `person_id`'s roles, in order; their ids.
pub async fn insert_all(
    conn: &mut PgConnection,
    person_id: Uuid,
    roles: &[RoleInput],
) -> ApiResult<Vec<Uuid>> {
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        idx: usize,
        #[serde(flatten)]
        role: &'a RoleInput,
    }
    let rows: Vec<Row> = roles
        .iter()
        .enumerate()
        .map(|(idx, role)| Row {
            id: Uuid::now_v7(),
            idx,
            role,
        })
        .collect();
    sqlx::query(
        "INSERT INTO roles (id, person_id, title, kind, serves, posted_to, organization, appointed_on,
                            started_on, ended_on, end_note, source, position)
         SELECT r.id, $2, btrim(r.title), r.kind, r.serves, r.posted_to, btrim(r.organization), r.appointed_on,
                r.started_on, r.ended_on, btrim(r.end_note), btrim(r.source),
                r.idx + coalesce((SELECT max(x.position) + 1 FROM roles x WHERE x.person_id = $2), 0)
         FROM jsonb_to_recordset($1) AS r(id uuid, idx int, title text, kind text, serves text, posted_to text,
                                          organization text, appointed_on text, started_on text, ended_on text,
                                          end_note text, source text)",
    )
    .bind(sqlx::types::Json(&rows))
    .bind(person_id)
    .execute(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Role `id`'s person, and the role as an input (what a merge patch applies to),
/// locked for the update; 404 when there is none.
pub async fn for_update(conn: &mut PgConnection, id: Uuid) -> ApiResult<(Uuid, serde_json::Value)> {
    let current: Option<(Uuid, serde_json::Value)> =
        sqlx::query_as(representation::ROLE_FOR_UPDATE)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    current.ok_or(ApiError::NotFound("role"))
}

/// Writes `role` over role `id`.
pub async fn update(conn: &mut PgConnection, id: Uuid, role: &RoleInput) -> ApiResult<()> {
    let text = |t: &Option<String>| t.as_deref().map(str::trim).map(str::to_owned);
    sqlx::query(
        "UPDATE roles SET title = $2, kind = $3, serves = $4, posted_to = $5, organization = $6,
                appointed_on = $7, started_on = $8, ended_on = $9, end_note = $10, source = $11,
                updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(role.title.trim())
    .bind(role.kind.as_str())
    .bind(role.serves.map(|c| c.as_str()))
    .bind(role.posted_to.map(|c| c.as_str()))
    .bind(text(&role.organization))
    .bind(role.appointed_on.map(|d| d.to_string()))
    .bind(role.started_on.map(|d| d.to_string()))
    .bind(role.ended_on.map(|d| d.to_string()))
    .bind(text(&role.end_note))
    .bind(text(&role.source))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces every role of person `person_id` with `roles`: the ids removed, and the
/// ids written.
pub async fn replace_all(
    conn: &mut PgConnection,
    person_id: Uuid,
    roles: &[RoleInput],
) -> ApiResult<(Vec<Uuid>, Vec<Uuid>)> {
    let removed: Vec<Uuid> =
        sqlx::query_scalar("DELETE FROM roles WHERE person_id = $1 RETURNING id")
            .bind(person_id)
            .fetch_all(&mut *conn)
            .await?;
    let written = insert_all(conn, person_id, roles).await?;
    Ok((removed, written))
}

/// Filters of `GET /v1/roles`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleFilters {
    /// Roles that may have been held on this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<FilterDate>,
    /// Roles that may have been held on some day from `from` to `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted_to: Option<CountryCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serves: Option<CountryCode>,
    /// The whole title, in any case and accents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RoleKind>,
    /// The whole name of the body, in any case and accents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonRef>,
    #[serde(default, skip_serializing)]
    pub limit: Limit,
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
}

impl pagination::Listed for RoleFilters {
    const LIST: &'static str = "roles";
}

/// A filter text compared whole (`title`, `organization`, a meeting's `role`): 1 to 500
/// characters as sent, not only white space, or a 400 naming `parameter`; trimmed.
pub fn whole_text(parameter: &str, text: &str) -> ApiResult<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || text.chars().count() > 500 {
        return Err(ApiError::BadRequest(format!(
            "invalid query parameter `{parameter}`: give 1 to 500 characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// The days a roles filter asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Days {
    Any,
    Span(Option<NaiveDate>, Option<NaiveDate>),
    Nothing,
}

/// The key a role is listed by: the first day it may have started (the first day there
/// is, when nothing says), then its id. `roles_sort` indexes it.
const SORT_KEY: &str = "coalesce(lower(r.held), DATE '0001-01-01')";

impl RoleFilters {
    /// Which days the filters ask about: any day, the days from the first to the
    /// last (either open), or none (`on` outside `from`..`to`, or `from` after `to`).
    fn days(&self) -> Days {
        let first = self.on.max(self.from).map(|d| d.0);
        let last = match (self.on, self.to) {
            (Some(on), Some(to)) => Some(on.min(to).0),
            (on, to) => on.or(to).map(|d| d.0),
        };
        match (first, last) {
            (None, None) => Days::Any,
            (Some(first), Some(last)) if first > last => Days::Nothing,
            (first, last) => Days::Span(first, last),
        }
    }

    /// Pushes the query for one page of `GET /v1/roles`, after the cursor if any: rows
    /// of (item JSON, sort key, id), one more than the page size.
    pub fn push_page(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        let days = self.days();
        let after: Option<(NaiveDate, Uuid)> = self
            .cursor
            .as_deref()
            .map(|cursor| pagination::decode(cursor, self))
            .transpose()?;
        sql.push("SELECT ")
            .push(representation::ROLE_ITEM_OPEN)
            .push(", 'certain', ");
        match days {
            // One day: the role was certainly held on it.
            Days::Span(Some(from), Some(to)) if from == to => {
                sql.push("r.surely_held @> ").push_bind(from).push("::date");
            }
            // A span: the role was certainly held on some day of it.
            Days::Span(from, to) => {
                sql.push("r.surely_held && daterange(")
                    .push_bind(from)
                    .push("::date, ")
                    .push_bind(to)
                    .push("::date, '[]')");
            }
            Days::Any | Days::Nothing => {
                sql.push("true");
            }
        }
        sql.push("))::text, ")
            .push(SORT_KEY)
            .push(", r.id FROM roles r JOIN people pe ON pe.id = r.person_id WHERE true");
        match days {
            Days::Span(Some(from), Some(to)) if from == to => {
                sql.push(" AND r.held @> ").push_bind(from).push("::date");
            }
            Days::Span(from, to) => {
                sql.push(" AND r.held && daterange(")
                    .push_bind(from)
                    .push("::date, ")
                    .push_bind(to)
                    .push("::date, '[]')");
            }
            Days::Nothing => {
                sql.push(" AND false");
            }
            Days::Any => {}
        }
        if let Some(country) = self.posted_to {
            sql.push(" AND r.posted_to = ").push_bind(country.as_str());
        }
        if let Some(country) = self.serves {
            sql.push(" AND r.serves = ").push_bind(country.as_str());
        }
        if let Some(title) = &self.title {
            sql.push(" AND fold(r.title) = fold(")
                .push_bind(whole_text("title", title)?)
                .push(")");
        }
        if let Some(kind) = self.kind {
            sql.push(" AND r.kind = ").push_bind(kind.as_str());
        }
        if let Some(organization) = &self.organization {
            sql.push(" AND fold(r.organization) = fold(")
                .push_bind(whole_text("organization", organization)?)
                .push(")");
        }
        if let Some(person) = &self.person {
            sql.push(" AND r.person_id IN (");
            person.push_people(sql);
            sql.push(")");
        }
        if let Some((key, id)) = after {
            sql.push(format!(" AND ({SORT_KEY}, r.id) > ("))
                .push_bind(key)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        sql.push(format!(" ORDER BY {SORT_KEY}, r.id LIMIT "))
            .push_bind(self.limit.get() + 1);
        Ok(())
    }
}

/// One page of `GET /v1/roles`, as its JSON.
pub async fn page(db: &PgPool, filters: &RoleFilters) -> ApiResult<String> {
    let mut sql = QueryBuilder::new("");
    filters.push_page(&mut sql)?;
    // Planned for its values every time: a plan made once for any country (which
    // PostgreSQL settles on after five runs of a prepared statement) reads every role
    // the GiST index finds for a country and day, thousands for the United States,
    // where the plan for the values walks that country's roles in order and stops.
    let rows: Vec<(String, NaiveDate, Uuid)> =
        sql.build_query_as().persistent(false).fetch_all(db).await?;
    let (rows, more) = pagination::split_page(rows, filters.limit);
    let next = match rows.last() {
        Some((_, key, id)) if more => Some(pagination::encode(&(key, id), filters)),
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, None))
}
