//! Read replicas: reads go to a streaming replica when one is configured and writes to
//! the primary; a client that has just written sends back the write's consistency
//! token to be sure of reading it.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, request::Parts};
use axum::middleware::Next;
use axum::response::Response;
use sqlx::PgPool;

use crate::AppState;
use crate::domain::error::ApiError;
use crate::store::db;

/// The consistency token: on a write's response, the primary's WAL position once the
/// write has committed; on a read, served by the replica only once it has replayed that far.
pub static CONSISTENCY: HeaderName = HeaderName::from_static("chancery-consistency");

/// How long a replica that could not be reached is passed over before it is tried again.
const REST: Duration = Duration::from_secs(5);

/// A position in the write-ahead log, written as PostgreSQL writes it (`16/B374D848`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(u64);

impl FromStr for Lsn {
    type Err = ();

    fn from_str(text: &str) -> Result<Lsn, ()> {
        let (high, low) = text.split_once('/').ok_or(())?;
        let half = |part: &str| {
            if (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit()) {
                u32::from_str_radix(part, 16).map_err(|_| ())
            } else {
                Err(())
            }
        };
        Ok(Lsn(u64::from(half(high)?) << 32 | u64::from(half(low)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// A streaming replica's pool, and when it last failed to answer.
#[derive(Clone)]
pub struct Replica {
    pool: PgPool,
    failed_at: Arc<Mutex<Option<Instant>>>,
}

impl Replica {
    pub fn new(pool: PgPool) -> Self {
        Replica {
            pool,
            failed_at: Arc::default(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool a read runs on: this replica when it answers and has replayed `token`,
    /// else the primary. An unreachable replica is passed over for a few seconds.
    async fn choose(&self, primary: &PgPool, token: Option<Lsn>) -> PgPool {
        if self.resting() {
            return primary.clone();
        }
        let answer = match token {
            None => self.pool.acquire().await.map(|_| true),
            Some(lsn) => db::replayed_past(&self.pool, &lsn.to_string()).await,
        };
        match answer {
            Ok(caught_up) => {
                self.answered();
                if caught_up {
                    self.pool.clone()
                } else {
                    primary.clone()
                }
            }
            Err(error) => {
                tracing::warn!(%error, "the read replica cannot be reached; reading from the primary");
                *self
                    .failed_at
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                primary.clone()
            }
        }
    }

    fn resting(&self) -> bool {
        self.failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < REST)
    }

    fn answered(&self) {
        let mut failed_at = self
            .failed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if failed_at.take().is_some() {
            tracing::info!("the read replica answers again");
        }
    }
}

/// The pool a read handler queries: the replica, unless there is none, it cannot be
/// reached, or it has not yet replayed the write named by the request's consistency
/// token; then the primary.
pub struct ReadPool(pub PgPool);

/// Marks a request whose reads must run on the primary (see `http::cache`).
#[derive(Clone, Copy)]
pub struct PrimaryOnly;

impl FromRequestParts<AppState> for ReadPool {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token(&parts.headers)?;
        if parts.extensions.get::<PrimaryOnly>().is_some() {
            return Ok(ReadPool(state.db.clone()));
        }
        Ok(ReadPool(match &state.replica {
            Some(replica) => replica.choose(&state.db, token).await,
            None => state.db.clone(),
        }))
    }
}

/// The request's consistency token, if it sent one; a malformed one is a 400.
fn token(headers: &HeaderMap) -> Result<Option<Lsn>, ApiError> {
    let Some(value) = headers.get(&CONSISTENCY) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::BadRequest(
                "the `Chancery-Consistency` header must be a token from a write's response, \
                 such as `0/1A2B3C4D`"
                    .into(),
            )
        })
}

/// Stamps every successful write's response with its consistency token.
pub async fn stamp_writes(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let writing = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let mut response = next.run(request).await;
    if writing && response.status().is_success() {
        // The write has committed, so the WAL written so far holds it.
        let position = db::wal_position(&state.db).await;
        match position.map(|lsn| HeaderValue::from_str(&lsn)) {
            Ok(Ok(value)) => {
                response.headers_mut().insert(CONSISTENCY.clone(), value);
            }
            Ok(Err(_)) => {}
            Err(error) => {
                tracing::warn!(%error, "no consistency token: the primary's WAL position is unknown")
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::Lsn;

    #[test]
    fn tokens_read_and_write_as_postgres_writes_them() {
        let lsn: Lsn = "16/B374D848".parse().unwrap();
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert_eq!("0/0".parse::<Lsn>().unwrap().to_string(), "0/0");
        assert!("0/1A2B3C4E".parse::<Lsn>().unwrap() > "0/1A2B3C4D".parse().unwrap());
        assert!("1/0".parse::<Lsn>().unwrap() > "0/FFFFFFFF".parse().unwrap());
        for bad in [
            "",
            "16",
            "/1",
            "1/",
            "+1/2",
            "1/2/3",
            "G/1",
            "123456789/0",
            " 1/2",
        ] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?}");
        }
    }
}
