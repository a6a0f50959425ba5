//! The one error type: every failure becomes an RFC 9457 problem+json response.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The problem+json media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

pub use crate::vocabulary::{FieldError, Invalid};

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("this request needs an API key: send `Authorization: Bearer <key>`")]
    Unauthorized,
    #[error("this API key lacks the `{0}` scope")]
    Forbidden(&'static str),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests: retry in {0} s")]
    TooManyRequests(u64),
    #[error(
        "this client already has {0} searches, totals, stats or exports running; wait for one \
         to finish"
    )]
    TooManyExpensive(usize),
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    #[error(
        "the request ran past the time limit and was stopped; narrow it (more specific search \
         words, a date range with `from` and `to`, a country) or leave out `include_total`"
    )]
    TimedOut,
    #[error("{0}")]
    Busy(String),
    #[error("the service is at capacity; retry shortly")]
    Overloaded,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// One invalid field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) | Self::TooManyExpensive(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::TimedOut | Self::Busy(_) | Self::Overloaded => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A rate limit's answer: retry once `wait` has passed, in whole seconds rounded
    /// up so that a client waiting that long gets through.
    pub fn too_many_requests(wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::TooManyRequests(seconds.max(1))
    }

    /// The `Retry-After` of this answer, in seconds: the one policy for every 429 and
    /// 503. A rate limit knows when the allowance refills. A place among the client's
    /// expensive reads, or among the requests in flight, frees as soon as one finishes,
    /// so that wait is short. A database that is down, a request that ran out of time,
    /// or an instance busy with expensive reads or imports needs longer.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests(seconds) => Some(*seconds),
            Self::TooManyExpensive(_) | Self::Overloaded => Some(RETRY_SOON_SECONDS),
            Self::Unavailable | Self::TimedOut | Self::Busy(_) => Some(RETRY_LATER_SECONDS),
            _ => None,
        }
    }
}

/// How long a client should wait when a place frees as soon as a request finishes.
const RETRY_SOON_SECONDS: u64 = 1;
/// How long a client should wait on a database that is down, or an instance running
/// slow work.
const RETRY_LATER_SECONDS: u64 = 2;

/// An RFC 9457 problem document. `instance` and `request_id` are filled in by the
/// problem middleware, which knows the request.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            instance: None,
            request_id: None,
            errors: Vec::new(),
        }
    }

    /// Renders the problem as a response. The problem also rides along as an
    /// extension so the middleware can add the request's id and path.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response.extensions_mut().insert(self);
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after();
        let mut problem = Problem::new(status, self.to_string());
        match self {
            Self::Validation(errors) => {
                problem.detail = match errors.as_slice() {
                    [one] if one.field.is_empty() => one.message.clone(),
                    [one] => format!("`{}`: {}", one.field, one.message),
                    many => format!("{} fields are invalid", many.len()),
                };
                problem.errors = errors;
            }
            Self::Internal(error) => {
                tracing::error!(error = ?error, "request failed");
                problem.detail =
                    "the server failed to handle this request; it has been logged".into();
            }
            _ => {}
        }
        let mut response = problem.into_response_with(status);
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::Error;
        let mapped = match &error {
            // No connection could be had in time, or the one in use broke: the server
            // is down, restarting or unreachable.
            Error::PoolTimedOut | Error::PoolClosed | Error::Io(_) | Error::WorkerCrashed => {
                Some(Self::Unavailable)
            }
            Error::Database(db) => from_database_error(db.code().as_deref(), db.constraint()),
            _ => None,
        };
        match mapped {
            Some(Self::Unavailable) => {
                // The client hears only that the database is unavailable; the log says why.
                tracing::warn!(%error, "database unavailable");
                Self::Unavailable
            }
            Some(mapped) => mapped,
            None => Self::Internal(error.into()),
        }
    }
}

/// Maps what the database refused to the client's mistake it stands for.
fn from_database_error(code: Option<&str>, constraint: Option<&str>) -> Option<ApiError> {
    let mapped = match (code?, constraint) {
        ("23505", Some("meeting_identifier_key")) => {
            ApiError::Conflict("a meeting with this identifier already exists".into())
        }
        ("23505", Some("person_identifier_key")) => {
            ApiError::Conflict("a person with this identifier already exists".into())
        }
        ("23505", _) => ApiError::Conflict("this would duplicate an existing record".into()),
        ("23503", _) => ApiError::Conflict(
            "this record is referenced by others, or references one that does not exist".into(),
        ),
        ("23514", Some(name)) => {
            ApiError::field(constraint_field(name), format!("breaks the rule `{name}`"))
        }
        // Our words only: PostgreSQL's messages name its internals, not the request.
        ("23514" | "23502", None) => {
            ApiError::field("", "a value breaks a rule of the stored data")
        }
        ("22021" | "22P05", _) => ApiError::field(
            "",
            "text must be valid UTF-8 without NUL characters (U+0000)",
        ),
        ("22001" | "54000", _) => ApiError::field(
            "",
            "a value is too large to store or index; shorten the longest texts or lists",
        ),
        ("22007" | "22008", _) => ApiError::field("", "a date or time is out of range"),
        // statement_timeout: the statement ran past the time limit and was cancelled.
        ("57014", _) => ApiError::TimedOut,
        // Serialisation failures and deadlocks: the client may retry.
        ("40001" | "40P01", _) => {
            ApiError::Conflict("a concurrent write conflicted; retry the request".into())
        }
        // The server is shutting down, starting, refusing connections or has lost
        // ours: admin_shutdown, crash_shutdown, cannot_connect_now,
        // too_many_connections and every connection exception (class 08).
        ("57P01" | "57P02" | "57P03" | "53300", _) => ApiError::Unavailable,
        (code, _) if code.starts_with("08") => ApiError::Unavailable,
        _ => return None,
    };
    Some(mapped)
}

/// The request field a named check constraint guards, e.g. `meeting_dates_ordered` → `end_date`.
fn constraint_field(constraint: &str) -> &'static str {
    match constraint {
        "meeting_dates_ordered" => "end_date",
        "meeting_title_length" | "agreement_title_length" => "title",
        "meeting_summary_length" => "summary",
        "meeting_lat_range" => "location.lat",
        "meeting_lon_range" => "location.lon",
        "participant_is_someone" => "participant",
        "statement_text_length" => "text",
        "person_name_length" => "name",
        _ => "",
    }
}

impl From<Invalid> for ApiError {
    fn from(Invalid(errors): Invalid) -> Self {
        Self::Validation(errors)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<sqlx::Error>() {
            Ok(database) => Self::from(database),
            Err(other) => Self::Internal(other),
        }
    }
}

/// Handlers' result type.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_going_away_is_unavailable_not_internal() {
        for code in [
            "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006",
        ] {
            let mapped = from_database_error(Some(code), None);
            assert!(
                matches!(mapped, Some(ApiError::Unavailable)),
                "{code}: {mapped:?}"
            );
        }
        assert!(from_database_error(Some("42601"), None).is_none());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            ApiError::from(sqlx::Error::Io(refused)),
            ApiError::Unavailable
        ));
        assert!(matches!(
            ApiError::from(sqlx::Error::PoolTimedOut),
            ApiError::Unavailable
        ));
    }

    #[test]
    fn every_429_and_503_says_when_to_retry() {
        let retry_after = |error: ApiError| {
            let response = error.into_response();
            let header = response.headers().get(header::RETRY_AFTER).cloned();
            (response.status().as_u16(), header)
        };
        for (error, status, seconds) in [
            (ApiError::TooManyRequests(3), 429, "3"),
            (ApiError::TooManyExpensive(2), 429, "1"),
            (ApiError::Overloaded, 503, "1"),
            (ApiError::Unavailable, 503, "2"),
            (ApiError::TimedOut, 503, "2"),
            (ApiError::Busy("busy".into()), 503, "2"),
        ] {
            assert_eq!(
                retry_after(error),
                (status, Some(HeaderValue::from_static(seconds)))
            );
        }
        assert_eq!(retry_after(ApiError::BadRequest("no".into())), (400, None));
        assert_eq!(retry_after(ApiError::Unauthorized).1, None);
    }

    #[test]
    fn a_rate_limit_rounds_its_wait_up_to_whole_seconds() {
        let seconds = |millis| match ApiError::too_many_requests(Duration::from_millis(millis)) {
            ApiError::TooManyRequests(seconds) => seconds,
            other => panic!("{other:?}"),
        };
        assert_eq!(seconds(0), 1);
        assert_eq!(seconds(10), 1);
        assert_eq!(seconds(1000), 1);
        assert_eq!(seconds(1001), 2);
    }
}
