//! The last word on every error response: problem+json with the request's id and path.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::REQUEST_ID;
use crate::domain::error::ApiError;
use crate::http::error::{PROBLEM_JSON, Problem};

/// Completes problems made by handlers and turns any other error response (from
/// axum or a layer) into one, so clients see a single error shape.
pub async fn finish(request: Request, next: Next) -> Response {
    let instance = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let mut problem = match parts.extensions.remove::<Problem>() {
        Some(problem) => problem,
        None => {
            let already = parts
                .headers
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v == PROBLEM_JSON);
            if already {
                return Response::from_parts(parts, body);
            }
            Problem::new(status, default_detail(status))
        }
    };
    problem.instance = Some(instance);
    problem.request_id = request_id;
    parts.headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(PROBLEM_JSON),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    Response::from_parts(parts, Body::from(body))
}

fn default_detail(status: StatusCode) -> String {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "the request body is larger than the limit of {} bytes",
            crate::MAX_BODY_BYTES
        ),
        StatusCode::SERVICE_UNAVAILABLE => {
            "the service is busy or timed out; try again shortly".into()
        }
        StatusCode::REQUEST_TIMEOUT => "the request took too long".into(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    }
}

pub async fn not_found(request: Request) -> Response {
    let detail = format!("no resource at `{}`", request.uri().path());
    Problem::new(StatusCode::NOT_FOUND, detail).into_response_with(StatusCode::NOT_FOUND)
}

pub async fn method_not_allowed(request: Request) -> Response {
    let detail = format!(
        "`{}` is not allowed on `{}`",
        request.method(),
        request.uri().path()
    );
    Problem::new(StatusCode::METHOD_NOT_ALLOWED, detail)
        .into_response_with(StatusCode::METHOD_NOT_ALLOWED)
}

/// The answer to a request shed because the service is at capacity.
pub async fn overloaded(_: tower::BoxError) -> Response {
    ApiError::Overloaded.into_response()
}

/// A handler panic is logged and answered with a plain 500, never a dropped connection.
pub fn panic(error: Box<dyn Any + Send + 'static>) -> Response {
    let message = error
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| error.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = message, "handler panicked");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the server failed to handle this request; it has been logged",
    )
    .into_response_with(StatusCode::INTERNAL_SERVER_ERROR)
}
