//! API keys: who may read and who may write. Keys are shown once and stored hashed.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_client_ip::ClientIp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::AppState;
use crate::domain::error::{ApiError, ApiResult};
pub use crate::domain::vocabulary::Scope;

/// Who is calling: the key they presented, if any.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller {
    pub key_id: Option<Uuid>,
    pub scope: Option<Scope>,
}

impl Caller {
    pub fn require(&self, needed: Scope) -> ApiResult<()> {
        match self.scope {
            None => Err(ApiError::Unauthorized),
            Some(scope) if scope >= needed => Ok(()),
            Some(_) => Err(ApiError::Forbidden(needed.as_str())),
        }
    }
}

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

/// Checks a presented token against the stored hash in constant time.
async fn authenticate(db: &PgPool, token: &str) -> ApiResult<Caller> {
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
    Ok(Caller {
        key_id: Some(id),
        scope: Scope::parse(&scope),
    })
}

/// Identifies the caller of every request and enforces the policy before any body is
/// read: writes need the `write` scope; reads need `read` when the settings say so.
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // Proxies and libraries disagree on which of two keys counts; neither is taken.
    if request
        .headers()
        .get_all(header::AUTHORIZATION)
        .iter()
        .nth(1)
        .is_some()
    {
        return ApiError::BadRequest(
            "send one Authorization header: this request has several".into(),
        )
        .into_response();
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token)
        })
        .map(|token| token.trim().to_owned());
    let caller = match token {
        Some(token) => match authenticate(&state.db, &token).await {
            Ok(caller) => caller,
            Err(error) => {
                // Failed attempts use up the address's allowance, so keys cannot be
                // guessed at speed.
                let ip = client_ip(&mut request).await;
                return match state.rate_limits.check(&Caller::default(), ip) {
                    Ok(()) => error,
                    Err(limited) => limited,
                }
                .into_response();
            }
        },
        None if request.headers().contains_key(header::AUTHORIZATION) => {
            return ApiError::BadRequest("the Authorization header must be `Bearer <key>`".into())
                .into_response();
        }
        None => Caller::default(),
    };
    if request.uri().path().starts_with("/v1/") {
        let ip = client_ip(&mut request).await;
        if let Err(error) = state.rate_limits.check(&caller, ip) {
            return error.into_response();
        }
        let reading = matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        );
        let needed = match reading {
            false => Some(Scope::Write),
            true if state.settings.require_read_key => Some(Scope::Read),
            true => None,
        };
        if let Some(Err(error)) = needed.map(|scope| caller.require(scope)) {
            return error.into_response();
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The client's address, from the source the settings name (the socket, or a trusted
/// proxy's header); `None` when that source says nothing.
pub async fn client_ip(request: &mut Request) -> Option<std::net::IpAddr> {
    let (mut parts, body) = std::mem::take(request).into_parts();
    let ip = ClientIp::from_request_parts(&mut parts, &()).await.ok();
    *request = Request::from_parts(parts, body);
    ip.map(|ClientIp(ip)| ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_has_one_word_for_the_database_clients_and_serde() {
        for &scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
            assert_eq!(scope.to_string(), scope.as_str());
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{scope}\""));
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
        assert_eq!(Scope::parse("Read"), None);
        assert!(Scope::Read < Scope::Write && Scope::Write < Scope::Admin);
    }
}
