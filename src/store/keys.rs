//! API keys: made, listed and revoked by the `chancery keys` command, and checked on
//! every request. Only a SHA-256 hash of a key's secret is stored, and it is compared
//! in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::Scope;

const PREFIX: &str = "chy";

/// A newly made key: its id and the secret text, shown once.
pub struct NewKey {
    pub id: Uuid,
    pub token: String,
}

/// Creates a key; the token is `chy_<id>_<secret>` and only the secret's hash is kept.
pub async fn create_key(db: &PgPool, name: &str, scope: Scope) -> anyhow::Result<NewKey> {
    let id = Uuid::now_v7();
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    sqlx::query("INSERT INTO api_keys (id, name, scope, secret_hash) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(name)
        .bind(scope.as_str())
        .bind(&Sha256::digest(secret.as_bytes())[..])
        .execute(db)
        .await?;
    Ok(NewKey {
        id,
        token: format!("{PREFIX}_{}_{secret}", id.simple()),
    })
}

/// A key as listed for admins: never its secret.
#[derive(Debug, sqlx::FromRow)]
pub struct KeyInfo {
    pub id: Uuid,
    pub name: String,
    pub scope: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every key, oldest first.
pub async fn list_keys(db: &PgPool) -> anyhow::Result<Vec<KeyInfo>> {
    let keys = sqlx::query_as(
        "SELECT id, name, scope, created_at, revoked_at FROM api_keys ORDER BY created_at",
    )
    .fetch_all(db)
    .await?;
    Ok(keys)
}

/// Revokes a key; returns whether it existed and was live.
pub async fn revoke_key(db: &PgPool, id: Uuid) -> anyhow::Result<bool> {
    let result =
        sqlx::query("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(db)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// Checks a presented token against the stored hash in constant time: the key's id
/// and scope, or 401.
pub async fn authenticate(db: &PgPool, token: &str) -> ApiResult<(Uuid, Option<Scope>)> {
    let invalid = || ApiError::Unauthorized;
    let mut parts = token.splitn(3, '_');
    let (Some(PREFIX), Some(id), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let id = Uuid::try_parse(id).map_err(|_| invalid())?;
    let stored: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT scope, secret_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let (scope, hash) = stored.ok_or_else(invalid)?;
    let presented = Sha256::digest(secret.as_bytes());
    if !bool::from(presented[..].ct_eq(&hash)) {
        return Err(invalid());
    }
    Ok((id, Scope::parse(&scope)))
}
