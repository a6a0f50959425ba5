//! Bounds on expensive reads: a full-text search (`q`), a count of every match
//! (`include_total=true`), a stats page or an export can each keep PostgreSQL busy for
//! seconds. Left alone, a few clients repeating them hold every pooled connection and
//! starve cheap reads and writes. So each client (its API key, or its address when it
//! sends none) may run a few at once, and the instance a few more, always fewer than
//! its pool holds; past either, the request is refused at once, saying what to do.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::AppState;
use crate::domain::error::ApiError;
use crate::http::access::{Caller, client_ip};

/// Who an expensive read is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    Key(Uuid),
    Address(IpAddr),
    Unknown,
}

/// The instance's allowance of expensive reads, and each client's share in flight.
pub struct CostLimits {
    instance: Arc<Semaphore>,
    per_client: usize,
    running: Mutex<HashMap<Client, usize>>,
}

/// How long an expensive read may wait for the instance's allowance before it is
/// refused: long enough to ride out a burst, short beside any request timeout.
const QUEUE_WAIT: Duration = Duration::from_millis(500);

impl CostLimits {
    pub fn new(instance: usize, per_client: usize) -> Arc<CostLimits> {
        Arc::new(CostLimits {
            instance: Arc::new(Semaphore::new(instance.max(1))),
            per_client: per_client.max(1),
            running: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for one expensive read of `client`, or says why there is none.
    async fn admit(self: &Arc<Self>, client: Client) -> Result<Admitted, ApiError> {
        {
            let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
            let count = running.entry(client).or_insert(0);
            if *count >= self.per_client {
                return Err(ApiError::TooManyExpensive(self.per_client));
            }
            *count += 1;
        }
        let mut admitted = Admitted {
            limits: self.clone(),
            client,
            _permit: None,
        };
        let permit = tokio::time::timeout(QUEUE_WAIT, self.instance.clone().acquire_owned()).await;
        match permit {
            Ok(Ok(permit)) => {
                admitted._permit = Some(permit);
                Ok(admitted)
            }
            // `admitted` is dropped here, giving the client's place back.
            _ => Err(ApiError::Busy(
                "this instance is running as many searches, totals, stats and exports as it \
                 allows; retry shortly, or narrow the request"
                    .into(),
            )),
        }
    }
}

/// A place taken; dropping it gives it back.
struct Admitted {
    limits: Arc<CostLimits>,
    client: Client,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut running = self
            .limits
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.client);
            }
        }
    }
}

/// Whether a request is one of the expensive reads: an export, a stats page, or a list
/// with a search `q` or `include_total=true`.
pub fn is_expensive(method: &Method, path: &str, query: Option<&str>) -> bool {
    if *method != Method::GET && *method != Method::HEAD {
        return false;
    }
    if path == "/v1/export" || path.starts_with("/v1/stats/") {
        return true;
    }
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).any(|(key, value)| {
        (key == "q" && !value.trim().is_empty())
            || (key == "include_total" && value.eq_ignore_ascii_case("true"))
    })
}

/// Middleware: holds an expensive read to its client's and the instance's allowance,
/// for as long as its answer takes, body included (an export streams).
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !is_expensive(
        request.method(),
        request.uri().path(),
        request.uri().query(),
    ) {
        return next.run(request).await;
    }
    let client = match request.extensions().get::<Caller>().and_then(|c| c.key_id) {
        Some(key) => Client::Key(key),
        None => client_ip(&mut request)
            .await
            .map_or(Client::Unknown, Client::Address),
    };
    let place = match state.cost_limits.admit(client).await {
        Ok(place) => place,
        Err(refused) => return refused.into_response(),
    };
    let response = next.run(request).await;
    // The place is held until the body has been sent, or the client went away.
    let (parts, body) = response.into_parts();
    let body = axum::body::Body::new(HoldWhileStreaming {
        body,
        _place: place,
    });
    Response::from_parts(parts, body)
}

/// A response body that keeps its expensive-read place until it is dropped.
struct HoldWhileStreaming {
    body: axum::body::Body,
    _place: Admitted,
}

impl http_body::Body for HoldWhileStreaming {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_totals_stats_and_exports_are_expensive_and_nothing_else() {
        let get = Method::GET;
        assert!(is_expensive(&get, "/v1/meetings", Some("q=visit")));
        assert!(is_expensive(&get, "/v1/statements", Some("limit=5&q=law")));
        assert!(is_expensive(
            &get,
            "/v1/meetings",
            Some("include_total=true")
        ));
        assert!(is_expensive(
            &get,
            "/v1/stats/meetings",
            Some("group_by=year")
        ));
        assert!(is_expensive(&get, "/v1/export", None));
        assert!(!is_expensive(
            &get,
            "/v1/meetings",
            Some("q=&include_total=false")
        ));
        assert!(!is_expensive(&get, "/v1/meetings", Some("country=CUB")));
        assert!(!is_expensive(&get, "/v1/meetings/0190", None));
        assert!(!is_expensive(&Method::POST, "/v1/meetings", Some("q=x")));
    }
}
