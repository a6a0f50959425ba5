//! API keys: who may read and who may write. Keys are shown once and stored hashed.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_client_ip::ClientIp;
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::vocabulary::Scope;
use crate::store::history::Actor;
use crate::store::keys;
use crate::{AppState, REQUEST_ID};

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

/// Checks a presented token: the caller it names, or 401.
async fn authenticate(db: &sqlx::PgPool, token: &str) -> ApiResult<Caller> {
    let (id, scope) = keys::authenticate(db, token).await?;
    Ok(Caller {
        key_id: Some(id),
        scope,
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

/// Who makes a write: the caller's key and the request's id.
impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Actor {
            key_id: parts.extensions.get::<Caller>().and_then(|c| c.key_id),
            request_id: parts
                .headers
                .get(&REQUEST_ID)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        })
    }
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
