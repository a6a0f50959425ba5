//! Chancery: structured records of diplomatic meetings over HTTP.

pub mod api;
pub mod config;
pub mod domain;
pub mod http;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware;
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use config::Settings;
pub use http::rate_limit::RateLimits;

/// The largest request body accepted, in bytes. Large enough for any real meeting
/// document; anything bigger is refused with 413 before it is read.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The primary: every write, and every read when there is no replica.
    pub db: PgPool,
    /// A streaming replica for reads (`DATABASE_READ_URL`); handlers reach it through
    /// [`http::replica::ReadPool`].
    pub replica: Option<http::replica::Replica>,
    pub settings: Arc<Settings>,
    pub rate_limits: Arc<RateLimits>,
    pub cost_limits: Arc<http::cost::CostLimits>,
    /// Places for imports running at once.
    pub imports: Arc<tokio::sync::Semaphore>,
    /// Rendered answers, when the settings give them memory.
    pub cache: Option<Arc<http::cache::Cache>>,
    /// Subscribers to the change stream.
    pub live: Arc<http::live::Live>,
    /// Where posted meetings are written, together when they arrive together.
    pub meetings: api::meetings::writer::Writer,
}

impl AppState {
    /// One database for everything. Within a Tokio runtime, the instance starts
    /// listening for changes on `db`, for the cache and the change stream (outside one
    /// the cache stays off and streams poll).
    pub fn new(db: PgPool, settings: Settings) -> Self {
        let in_runtime = tokio::runtime::Handle::try_current().is_ok();
        let cache = http::cache::Cache::new(settings.cache_bytes).filter(|_| in_runtime);
        let live = http::live::Live::new(settings.stream_subscribers);
        if in_runtime {
            let mut followers: Vec<std::sync::Weak<dyn http::listening::Follower>> =
                vec![Arc::downgrade(&live) as _];
            if let Some(cache) = &cache {
                followers.push(Arc::downgrade(cache) as _);
            }
            http::listening::start(db.clone(), followers);
        }
        AppState {
            cache,
            live,
            meetings: api::meetings::writer::Writer::new(db.clone(), settings.write_batch),
            db,
            replica: None,
            rate_limits: RateLimits::new(settings.rate_limit_per_key, settings.rate_limit_per_ip),
            cost_limits: http::cost::CostLimits::new(
                settings.max_expensive_requests,
                settings.max_expensive_per_client,
            ),
            imports: Arc::new(tokio::sync::Semaphore::new(
                settings.imports.concurrent.max(1),
            )),
            settings: Arc::new(settings),
        }
    }

    /// Reads go to this replica when it answers.
    pub fn with_replica(mut self, pool: PgPool) -> Self {
        self.replica = Some(http::replica::Replica::new(pool));
        self
    }
}

/// The request id header, taken from the client or generated.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    http::telemetry::init();
    let timeout = state.settings.request_timeout;
    let client_ip = state.settings.client_ip_source.clone();
    // Past this many requests in flight, more are shed with 503 rather than queued
    // without bound; one semaphore is shared by every API route. It is the API's
    // outermost layer, so a request past it is shed before its key is checked or its
    // body read. Health probes and metrics stay outside it, so an instance that is
    // busy is not taken for dead.
    let capacity = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(http::problems::overloaded))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(
            state.settings.max_concurrent_requests,
        ));
    let answered_in_time =
        || TimeoutLayer::with_status_code(axum::http::StatusCode::SERVICE_UNAVAILABLE, timeout);
    // Every request but a bulk import, which streams for as long as its body lasts,
    // is answered within the timeout.
    let api = api::resources()
        .into_router()
        .layer(answered_in_time())
        .merge(api::import::routes().into_router())
        .fallback(http::problems::not_found)
        .method_not_allowed_fallback(http::problems::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::idempotency::guard,
        ))
        // Outside the idempotency guard, so a replayed answer gets a fresh token too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::replica::stamp_writes,
        ))
        // Inside `identify`, which names the caller it counts against.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::cost::guard,
        ))
        // Outside the cost guard: an answer from memory is not an expensive read.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::cache::answer,
        ));
    let api = observed(api, &state).layer(capacity);
    let probes = api::system::routes()
        .into_router()
        .layer(answered_in_time())
        .merge(api::system::metrics().into_router());
    let probes = observed(probes, &state);
    Router::new()
        .merge(probes)
        .merge(api)
        .with_state(state)
        .layer(CatchPanicLayer::custom(http::problems::panic))
        .layer(middleware::from_fn(http::problems::finish))
        .layer(client_ip.into_extension())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_unusable_request_id))
}

/// What every route has: metrics, a span, the caller identified (and rate limited on
/// `/v1/`), and the body limit.
fn observed(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    router
        .layer(middleware::from_fn(http::telemetry::track))
        .layer(trace_layer())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::access::identify,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Longest client `X-Request-Id` taken as it is.
pub const MAX_REQUEST_ID: usize = 128;

/// A client's `X-Request-Id` is kept, logged and stored only when it is 1 to 128
/// visible ASCII characters; any other is replaced by a generated one, so a client
/// cannot write what it likes into the logs and the history.
async fn drop_unusable_request_id(
    mut request: Request<axum::body::Body>,
) -> Request<axum::body::Body> {
    let usable = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        (1..=MAX_REQUEST_ID).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_graphic())
    };
    let headers = request.headers_mut();
    if headers.get_all(&REQUEST_ID).iter().count() > 1
        || headers.get(&REQUEST_ID).is_some_and(|value| !usable(value))
    {
        headers.remove(&REQUEST_ID);
    }
    request
}

/// Request spans, named by route template and carrying the request id. Applied as
/// a route layer, after routing, so the matched route is known.
fn trace_layer() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&Request<axum::body::Body>) -> tracing::Span + Clone,
> {
    TraceLayer::new_for_http().make_span_with(|request: &Request<axum::body::Body>| {
        let route = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("unmatched", |path| path.as_str());
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info_span!("request", method = %request.method(), route, request_id = id)
    })
}

/// How long a request may run before it is answered with 503.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
