//! Answers kept for idempotency keys: one per caller and key for 24 hours.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::error::ApiResult;

/// A stored answer.
#[derive(sqlx::FromRow)]
pub struct Stored {
    pub fingerprint: Vec<u8>,
    pub status: i16,
    pub headers: sqlx::types::Json<serde_json::Map<String, serde_json::Value>>,
    pub body: Vec<u8>,
}

/// Keeps the answer to `key` of caller `api_key_id`, in the transaction that made it:
/// `false` when a live answer to that key is already kept (another request with it got
/// there first); an expired one is replaced.
pub async fn save(
    conn: &mut PgConnection,
    api_key_id: Uuid,
    key: &str,
    fingerprint: &[u8],
    status: i16,
    headers: serde_json::Map<String, serde_json::Value>,
    body: &[u8],
) -> ApiResult<bool> {
    let saved = sqlx::query(
        "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, status, headers, body)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (api_key_id, key) DO UPDATE
             SET fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
                 headers = EXCLUDED.headers, body = EXCLUDED.body, created_at = now()
             WHERE idempotency_keys.created_at <= now() - interval '24 hours'",
    )
    .bind(api_key_id)
    .bind(key)
    .bind(fingerprint)
    .bind(status)
    .bind(sqlx::types::Json(headers))
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(saved.rows_affected() == 1)
}

/// The live answer kept for `key` of caller `api_key_id`.
pub async fn find(db: &PgPool, api_key_id: Uuid, key: &str) -> ApiResult<Option<Stored>> {
    Ok(sqlx::query_as(
        "SELECT fingerprint, status, headers, body FROM idempotency_keys
         WHERE api_key_id = $1 AND key = $2 AND created_at > now() - interval '24 hours'",
    )
    .bind(api_key_id)
    .bind(key)
    .fetch_optional(db)
    .await?)
}

/// Deletes answers older than a day; run now and then by the server.
pub async fn sweep(db: &PgPool) -> sqlx::Result<u64> {
    let deleted =
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= now() - interval '24 hours'")
            .execute(db)
            .await?;
    Ok(deleted.rows_affected())
}
