//! Agreements: written under their meeting, and listed across every meeting.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::domain::agreement::AgreementInput;
use crate::domain::country::CountryCode;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::{AgreementKind, AgreementStatus, FilterDate, Topic};
use crate::store::items;
use crate::store::pagination::{self, Limit};
use crate::store::representation;

/// Writes agreements, each after any its meeting already has; returns their ids.
pub async fn insert_all(
    conn: &mut PgConnection,
    new: &[(Uuid, &AgreementInput)],
) -> ApiResult<Vec<Uuid>> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        meeting_id: Uuid,
        idx: usize,
        title: &'a str,
        description: Option<&'a str>,
        kind: &'static str,
        status: &'static str,
        parties: Vec<&'static str>,
        topics: Vec<&'a str>,
        signed_on: Option<NaiveDate>,
        due_by: Option<NaiveDate>,
    }
    let rows: Vec<Row> = new
        .iter()
        .enumerate()
        .map(|(idx, (meeting_id, a))| Row {
            id: Uuid::now_v7(),
            meeting_id: *meeting_id,
            idx,
            title: a.title.trim(),
            description: a.description.as_deref(),
            kind: a.kind.unwrap_or(AgreementKind::Other).as_str(),
            status: a.status.unwrap_or(AgreementStatus::Agreed).as_str(),
            parties: a.parties(),
            topics: a.topics.iter().map(Topic::as_str).collect(),
            signed_on: a.signed_on,
            due_by: a.due_by,
        })
        .collect();
    let sql = items::positioned_insert(
        "agreements",
        "id, meeting_id, title, description, kind, status, parties, topics, signed_on, due_by",
        "id uuid, meeting_id uuid, idx int, title text, description text, kind text, status text, \
         parties text[], topics text[], signed_on date, due_by date",
        "r.id, r.meeting_id, r.title, r.description, r.kind, r.status, r.parties, r.topics, r.signed_on, r.due_by",
        "",
    );
    sqlx::query(sql)
        .bind(sqlx::types::Json(&rows))
        .execute(&mut *conn)
        .await?;
    Ok(rows.iter().map(|row| row.id).collect())
}

/// Filters of `GET /v1/agreements`. Dates are inclusive.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementFilters {
    /// Every listed country is a party.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub party: Vec<CountryCode>,
    /// Any of the listed statuses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<AgreementStatus>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kind: Vec<AgreementKind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic: Vec<Topic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_before: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_after: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<FilterDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meeting_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing)]
    pub limit: Limit,
    #[serde(default, skip_serializing)]
    pub cursor: Option<String>,
}

impl crate::store::pagination::Listed for AgreementFilters {
    const LIST: &'static str = "agreements";
}

impl AgreementFilters {
    /// Pushes ` AND ...` conditions on agreements `a` of meetings `m`.
    pub fn push_conditions(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        if !self.party.is_empty() {
            let parties: Vec<&str> = self.party.iter().map(|c| c.as_str()).collect();
            sql.push(" AND a.parties @> ").push_bind(parties);
        }
        if !self.status.is_empty() {
            let statuses: Vec<&str> = self.status.iter().map(|s| s.as_str()).collect();
            sql.push(" AND a.status = ANY(")
                .push_bind(statuses)
                .push(")");
        }
        if !self.kind.is_empty() {
            let kinds: Vec<&str> = self.kind.iter().map(|k| k.as_str()).collect();
            sql.push(" AND a.kind = ANY(").push_bind(kinds).push(")");
        }
        if !self.topic.is_empty() {
            let topics: Vec<&str> = self.topic.iter().map(Topic::as_str).collect();
            sql.push(" AND a.topics @> ").push_bind(topics);
        }
        if let Some(FilterDate(date)) = self.due_before {
            sql.push(" AND a.due_by <= ").push_bind(date);
        }
        if let Some(FilterDate(date)) = self.due_after {
            sql.push(" AND a.due_by >= ").push_bind(date);
        }
        if let Some(FilterDate(from)) = self.from {
            sql.push(" AND m.date >= ").push_bind(from);
        }
        if let Some(FilterDate(to)) = self.to {
            sql.push(" AND m.date <= ").push_bind(to);
        }
        if let Some(meeting_id) = self.meeting_id {
            sql.push(" AND a.meeting_id = ").push_bind(meeting_id);
        }
        if let Some(q) = &self.q {
            let q = crate::store::search::Query::parse(q)?;
            sql.push(" AND a.search @@ ");
            q.push_tsquery(sql);
        }
        Ok(())
    }
}

impl AgreementFilters {
    /// Pushes the query for one page of `GET /v1/agreements`, after the cursor if any:
    /// rows of (item JSON, meeting date, position, id), one more than the page size.
    pub fn push_page(&self, sql: &mut QueryBuilder<Postgres>) -> ApiResult<()> {
        let after: Option<(NaiveDate, i32, Uuid)> = self
            .cursor
            .as_deref()
            .map(|cursor| pagination::decode(cursor, self))
            .transpose()?;
        sql.push("SELECT ")
            .push(representation::AGREEMENT_ITEM)
            .push(
                "::text, m.date, a.position, a.id
             FROM agreements a JOIN meetings m ON m.id = a.meeting_id WHERE true",
            );
        self.push_conditions(sql)?;
        if let Some((date, position, id)) = after {
            sql.push(" AND (m.date, a.position, a.id) < (")
                .push_bind(date)
                .push(", ")
                .push_bind(position);
            sql.push(", ").push_bind(id).push(")");
        }
        sql.push(" ORDER BY m.date DESC, a.position DESC, a.id DESC LIMIT ")
            .push_bind(self.limit.get() + 1);
        Ok(())
    }
}

/// One page of `GET /v1/agreements`, as its JSON.
pub async fn page(db: &PgPool, filters: &AgreementFilters) -> ApiResult<String> {
    let mut sql = QueryBuilder::new("");
    filters.push_page(&mut sql)?;
    let rows: Vec<(String, NaiveDate, i32, Uuid)> = sql.build_query_as().fetch_all(db).await?;
    let (rows, more) = pagination::split_page(rows, filters.limit);
    let next = match rows.last() {
        Some((_, date, position, id)) if more => {
            Some(pagination::encode(&(date, position, id), filters))
        }
        _ => None,
    };
    let items: Vec<String> = rows.into_iter().map(|row| row.0).collect();
    Ok(pagination::page_json(&items, next, None))
}

/// Agreement `id`'s meeting, and the agreement as an input (what a merge patch applies
/// to), locked for the update.
pub async fn for_update(conn: &mut PgConnection, id: Uuid) -> ApiResult<(Uuid, serde_json::Value)> {
    let current: Option<(Uuid, serde_json::Value)> =
        sqlx::query_as(representation::AGREEMENT_FOR_UPDATE)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    current.ok_or(ApiError::NotFound("agreement"))
}

/// Writes `input` over agreement `id`.
pub async fn update(conn: &mut PgConnection, id: Uuid, input: &AgreementInput) -> ApiResult<()> {
    sqlx::query(
        "UPDATE agreements SET title = $2, description = $3, kind = $4, status = $5, parties = $6, topics = $7,
                               signed_on = $8, due_by = $9
         WHERE id = $1",
    )
    .bind(id)
    .bind(input.title.trim())
    .bind(input.description.as_deref())
    .bind(input.kind.unwrap_or(AgreementKind::Other).as_str())
    .bind(input.status.unwrap_or(AgreementStatus::Agreed).as_str())
    .bind(input.parties())
    .bind(input.topics.iter().map(Topic::as_str).collect::<Vec<_>>())
    .bind(input.signed_on)
    .bind(input.due_by)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
