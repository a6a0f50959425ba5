//! Rows that stand alone under their meeting (participants, statements, agreements)
//! and people and their roles: each read, locked and deleted by id, and items inserted
//! in place.

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
