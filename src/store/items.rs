//! Rows that stand alone under their meeting (participants, statements, agreements)
//! and people and their roles: each read, locked and deleted by id, and items inserted
//! in place.

use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::store::representation;

/// The tables whose rows are resources of their own.
#[derive(Clone, Copy)]
pub enum Table {
    Participants,
    Statements,
    Agreements,
    People,
    Roles,
}

impl Table {
    /// What one row is called in messages.
    pub fn what(self) -> &'static str {
        match self {
            Table::Participants => "participant",
            Table::Statements => "statement",
            Table::Agreements => "agreement",
            Table::People => "person",
            Table::Roles => "role",
        }
    }

    /// Row `id`'s JSON, as its `GET` answers it, or 404.
    pub async fn fetch(self, conn: &mut PgConnection, id: Uuid) -> ApiResult<String> {
        let sql = match self {
            Table::Participants => representation::PARTICIPANT_BY_ID,
            Table::Statements => representation::STATEMENT_BY_ID,
            Table::Agreements => representation::AGREEMENT_BY_ID,
            Table::People => representation::PERSON_BY_ID,
            Table::Roles => representation::ROLE_BY_ID,
        };
        let json: Option<String> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        json.ok_or(ApiError::NotFound(self.what()))
    }

    /// Locks row `id` (`FOR NO KEY UPDATE`: nobody changes it until the transaction
    /// ends, while rows referring to it can still be written).
    pub async fn lock(self, conn: &mut PgConnection, id: Uuid) -> ApiResult<()> {
        let sql = match self {
            Table::Participants => "SELECT 1 FROM participants WHERE id = $1 FOR NO KEY UPDATE",
            Table::Statements => "SELECT 1 FROM statements WHERE id = $1 FOR NO KEY UPDATE",
            Table::Agreements => "SELECT 1 FROM agreements WHERE id = $1 FOR NO KEY UPDATE",
            Table::People => "SELECT 1 FROM people WHERE id = $1 FOR NO KEY UPDATE",
            Table::Roles => "SELECT 1 FROM roles WHERE id = $1 FOR NO KEY UPDATE",
        };
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
        Ok(())
    }

    /// Deletes item `id`: what it belonged to (its meeting, or a role's person), or 404.
    pub async fn delete(self, conn: &mut PgConnection, id: Uuid) -> ApiResult<Uuid> {
        let sql = match self {
            Table::Participants => "DELETE FROM participants WHERE id = $1 RETURNING meeting_id",
            Table::Statements => "DELETE FROM statements WHERE id = $1 RETURNING meeting_id",
            Table::Agreements => "DELETE FROM agreements WHERE id = $1 RETURNING meeting_id",
            Table::Roles => "DELETE FROM roles WHERE id = $1 RETURNING person_id",
            Table::People => return Err(ApiError::NotFound(self.what())),
        };
        let meeting_id: Option<Uuid> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        meeting_id.ok_or(ApiError::NotFound(self.what()))
    }
}

/// Who changes are recorded as made by: the API key and the request (both empty for the
/// `chancery` command).
#[derive(Debug, Clone, Copy, Default)]
pub struct Author<'a> {
    pub key_id: Option<Uuid>,
    pub request_id: Option<&'a str>,
}

/// Rows to write in one call of `write_items` (migration 0017): whole meetings, or the
/// items one endpoint adds to a meeting. Each module stages its own rows; one round
/// trip writes them all, each table's rows in one statement.
#[derive(Default, Serialize)]
pub struct Batch {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub meetings: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<serde_json::Value>,
    /// The names whose people `resolve_people` finds or creates; participants point at
    /// them by `named`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agreements: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub created_events: Vec<serde_json::Value>,
    /// Changes to record for whole meetings, each with its key and request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<serde_json::Value>,
}

impl Batch {
    /// Adds `row` to `rows`, as the JSON object `write_items` reads.
    pub fn stage(rows: &mut Vec<serde_json::Value>, row: impl Serialize) -> ApiResult<()> {
        rows.push(serde_json::to_value(row).map_err(anyhow::Error::from)?);
        Ok(())
    }

    /// Writes every row staged, in the caller's transaction.
    pub async fn write(&self, conn: &mut PgConnection) -> ApiResult<()> {
        sqlx::query("SELECT write_items($1)")
            .bind(sqlx::types::Json(self))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
