//! Idempotency keys: a POST sent again with the same `Idempotency-Key` gets the first
//! answer again instead of making a second write.
//!
//! The middleware looks the key up before the handler runs: a stored answer to the
//! same request is replayed, and the same key on a different request is refused. A key
//! not seen yet rides to the handler, which saves its answer in the very transaction
//! that makes the write, so an answer is stored exactly when its write is.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::error::{ApiError, ApiResult};
use crate::http::access::Caller;
use crate::store::idempotency;
use crate::{AppState, MAX_BODY_BYTES};

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on an answer that replays a stored one.
pub static IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The response headers stored and replayed with the body.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// A POST carrying an idempotency key that no stored answer matches yet.
#[derive(Debug, Clone)]
pub struct Claim {
    api_key_id: Uuid,
    key: String,
    fingerprint: [u8; 32],
}

/// The request's claim, if it carries a key; handlers answer through it.
#[derive(Debug, Clone, Default)]
pub struct Idempotency(Option<Claim>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Idempotency(parts.extensions.get::<Claim>().cloned()))
    }
}

impl Idempotency {
    /// Builds the answer to a write and, when the request carries a key, stores it on
    /// `conn` — inside the write's transaction, so both commit or neither does.
    pub async fn answer(
        &self,
        conn: &mut PgConnection,
        status: StatusCode,
        headers: HeaderMap,
        body: String,
    ) -> ApiResult<Response> {
        if let Some(claim) = &self.0 {
            claim.save(conn, status, &headers, body.as_bytes()).await?;
        }
        let mut response = (status, body).into_response();
        response.headers_mut().extend(headers);
        Ok(response)
    }
}

impl Claim {
    async fn save(
        &self,
        conn: &mut PgConnection,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> ApiResult<()> {
        let kept: serde_json::Map<String, serde_json::Value> = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = headers.get(name)?.to_str().ok()?;
                Some((name.as_str().to_owned(), value.into()))
            })
            .collect();
        // A live row for this key means another request with it got there first; an
        // expired one is replaced.
        let saved = idempotency::save(
            conn,
            self.api_key_id,
            &self.key,
            &self.fingerprint,
            status.as_u16() as i16,
            kept,
            body,
        )
        .await?;
        if !saved {
            return Err(ApiError::Conflict(
                "another request with this Idempotency-Key finished first; send this one again to get its answer"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Replays stored answers, refuses a reused key, and hands new keys to the handler.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match claim(&state.db, request).await {
        Ok(Ok(request)) => next.run(request).await,
        Ok(Err(replayed)) => replayed,
        Err(error) => error.into_response(),
    }
}

/// The key as the spec's pattern `^[!-~]([ -~]*[!-~])?$` allows it: visible ASCII,
/// spaces only inside, no tabs or other controls, at most 255 characters.
fn valid_key(value: &[u8]) -> Option<String> {
    let visible = |b: &u8| (b'!'..=b'~').contains(b);
    let inner = |b: &u8| *b == b' ' || visible(b);
    let ok = (1..=255).contains(&value.len())
        && value.first().is_some_and(visible)
        && value.last().is_some_and(visible)
        && value.iter().all(inner);
    ok.then(|| String::from_utf8_lossy(value).into_owned())
}

/// Either the request to run (with its claim attached), or the stored answer.
async fn claim(db: &PgPool, request: Request) -> ApiResult<Result<Request, Response>> {
    let Some(value) = request.headers().get(&IDEMPOTENCY_KEY) else {
        return Ok(Ok(request));
    };
    if request.method() != Method::POST {
        return Ok(Ok(request));
    }
    let key = valid_key(value.as_bytes()).ok_or_else(|| {
        ApiError::BadRequest(
            "the Idempotency-Key header must be 1 to 255 visible ASCII characters (spaces only between them)".into(),
        )
    })?;
    // Writes need a key, which the access check has already made sure of.
    let Some(api_key_id) = request.extensions().get::<Caller>().and_then(|c| c.key_id) else {
        return Ok(Ok(request));
    };
    let (parts, body) = request.into_parts();
    let bytes = read_body(body).await?;
    let fingerprint = fingerprint(&parts, &bytes);

    let stored = idempotency::find(db, api_key_id, &key).await?;
    match stored {
        Some(stored) if stored.fingerprint == fingerprint => Ok(Err(replay(stored))),
        Some(_) => Err(ApiError::field(
            "Idempotency-Key",
            format!(
                "`{key}` was already used for a different request in the last 24 hours; use a new key for a new request"
            ),
        )),
        None => {
            let mut request = Request::from_parts(parts, Body::from(bytes));
            request.extensions_mut().insert(Claim {
                api_key_id,
                key,
                fingerprint,
            });
            Ok(Ok(request))
        }
    }
}

/// The whole body, which a fingerprint needs; bounded like every JSON body.
async fn read_body(body: Body) -> ApiResult<Bytes> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|error| {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if too_large {
                ApiError::PayloadTooLarge(MAX_BODY_BYTES)
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })
}

/// What makes two requests the same: method, path, query, content type and body.
fn fingerprint(parts: &Parts, body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str());
    hash.update([0]);
    hash.update(
        parts
            .uri
            .path_and_query()
            .map_or(parts.uri.path(), |p| p.as_str()),
    );
    hash.update([0]);
    if let Some(content_type) = parts.headers.get(header::CONTENT_TYPE) {
        hash.update(content_type.as_bytes());
    }
    hash.update([0]);
    hash.update(body);
    hash.finalize().into()
}

fn replay(stored: idempotency::Stored) -> Response {
    let status = u16::try_from(stored.status)
        .ok()
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    for (name, value) in stored.headers.0 {
        if let (Ok(name), Some(Ok(value))) = (
            HeaderName::try_from(name),
            value.as_str().map(HeaderValue::from_str),
        ) {
            headers.insert(name, value);
        }
    }
    headers.insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    response
}
