//! The one error type: everything a request can fail with, in the domain's words.
//! The HTTP layer renders it as problem+json (`http::error`); the store turns what the
//! database refused into it (`store::error`).

use std::time::Duration;

pub use crate::domain::vocabulary::{FieldError, Invalid};

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

    /// A rate limit's answer: retry once `wait` has passed, in whole seconds rounded
    /// up so that a client waiting that long gets through.
    pub fn too_many_requests(wait: Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::TooManyRequests(seconds.max(1))
    }
}

impl From<Invalid> for ApiError {
    fn from(Invalid(errors): Invalid) -> Self {
        Self::Validation(errors)
    }
}

/// Handlers' result type.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

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
