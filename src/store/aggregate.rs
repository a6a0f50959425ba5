//! The meeting as the unit its parts change under: a write locks the meeting before it
//! changes anything and touches it after, so every change to a meeting or to one of
//! its items gives the meeting a new version.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};

/// Fails with 404 unless meeting `id` exists; locks it against concurrent edits and
/// returns its version.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> ApiResult<i32> {
    let version: Option<i32> =
        sqlx::query_scalar("SELECT version FROM meetings WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    version.ok_or(ApiError::NotFound("meeting"))
}

/// Records that something under meeting `id` changed: new version, new countries.
pub async fn touch(conn: &mut PgConnection, id: Uuid) -> ApiResult<()> {
    sqlx::query("SELECT refresh_meeting_countries($1)")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE meetings SET version = version + 1, updated_at = now(), document_hash = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
