//! The one error type: every failure becomes an RFC 9457 problem+json response.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The problem+json media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One rejected field of a request, named by its JSON path.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

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
            Self::Unavailable | Self::TimedOut | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

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
        let retry_after = match self {
            Self::TooManyRequests(seconds) => Some(seconds),
            Self::TooManyExpensive(_) => Some(1),
            _ => None,
        };
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
        match status {
            StatusCode::UNAUTHORIZED => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}

/// How long a client should wait before retrying a 503, in seconds.
const RETRY_AFTER_SECONDS: &str = "2";

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
}
