//! Errors as RFC 9457 problem+json: each error's status, its `Retry-After`, and the
//! problem document.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::error::{ApiError, FieldError};

/// The problem+json media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The HTTP side of an error: its status and when to retry.
pub trait Status {
    fn status(&self) -> StatusCode;
    fn retry_after(&self) -> Option<u64>;
}

impl Status for ApiError {
    fn status(&self) -> StatusCode {
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

    /// The `Retry-After` of this answer, in seconds: the one policy for every 429 and
    /// 503. A rate limit knows when the allowance refills. A place among the client's
    /// expensive reads, or among the requests in flight, frees as soon as one finishes,
    /// so that wait is short. A database that is down, a request that ran out of time,
    /// or an instance busy with expensive reads or imports needs longer.
    fn retry_after(&self) -> Option<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
