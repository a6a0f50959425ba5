//! Metrics in Prometheus text format: requests by route, method and status, their
//! latency, requests in flight, the database pools, imports, and the cache of answers
//! (lookups by result, bytes kept, whether it listens).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

use crate::AppState;

/// How often recorded latencies are drained into their histograms' buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

/// The process-wide recorder; every app in the process reports to it.
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &buckets,
            )
            .expect("the buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a host program's); ours then
        // still renders what it was given.
        let _ = metrics::set_global_recorder(recorder);
        // A histogram keeps every value recorded until it is drained into its buckets,
        // which a scrape does, or this upkeep: with no scrape, each request's latency
        // stayed in memory (6 MiB for every 340,000 requests).
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        handle
    })
}

/// Starts recording; call once at start-up (later calls are harmless).
pub fn init() {
    recorder();
}

/// Counts and times every request under its route template, never its raw path.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let _in_flight = InFlight::start();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route)];
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    let [method, route] = labels;
    metrics::counter!("http_requests_total", &[method, route, ("status", status)]).increment(1);
    response
}

/// Counts a request in flight until it is answered or abandoned. Set against the pool's
/// connections in use, it shows requests waiting for a connection.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        metrics::gauge!("http_requests_in_flight").increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("http_requests_in_flight").decrement(1.0);
    }
}

/// `GET /metrics`: the pools are read at scrape time.
pub async fn render(State(state): State<AppState>) -> Response {
    record_pool("primary", &state.db);
    if let Some(replica) = &state.replica {
        record_pool("replica", replica.pool());
    }
    if let Some(cache) = &state.cache {
        metrics::gauge!("cache_bytes").set(cache.weighted_size() as f64);
        metrics::gauge!("cache_listening").set(if cache.is_listening() { 1.0 } else { 0.0 });
        metrics::gauge!("cache_listens").set(cache.listens() as f64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        recorder().render(),
    )
        .into_response()
}

/// A pool's connections by state, labelled with which database it reaches.
fn record_pool(name: &'static str, pool: &PgPool) {
    let size = pool.size();
    let idle = pool.num_idle() as u32;
    metrics::gauge!("db_pool_connections", "pool" => name, "state" => "idle").set(f64::from(idle));
    metrics::gauge!("db_pool_connections", "pool" => name, "state" => "in_use")
        .set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!("db_pool_max_connections", "pool" => name)
        .set(f64::from(pool.options().get_max_connections()));
}
