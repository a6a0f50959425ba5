//! `GET /v1/changes`: the change feed, every committed change exactly once, for
//! clients that keep a copy in sync; and `GET /v1/changes/stream`, the same changes
//! pushed live as Server-Sent Events.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::AppState;
use crate::domain::error::ApiResult;
use crate::http::etag;
use crate::http::extract::Query;
use crate::http::live::Bounds;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::feed::{self, FeedFilters, Start};

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .route("/v1/changes", get(list))
        .route("/v1/changes/stream", get(stream))
}

/// One page of the feed after `after`. Never kept by the cache of answers: a page
/// moves on when a transaction ends, which need not be a write anyone announces.
async fn list(
    ReadPool(db): ReadPool,
    headers: HeaderMap,
    Query(filters): Query<FeedFilters>,
) -> ApiResult<Response> {
    Ok(etag::respond(&headers, feed::page(&db, &filters).await?))
}

/// The changes after `Last-Event-ID` (a reconnecting client's), else after `after`,
/// then each change as it commits.
async fn stream(
    State(state): State<AppState>,
    ReadPool(db): ReadPool,
    headers: HeaderMap,
    Query(filters): Query<FeedFilters>,
) -> ApiResult<Response> {
    let last_event_id = headers
        .get("last-event-id")
        .map(|id| id.to_str().unwrap_or("\u{fffd}"));
    let start = filters.resume(last_event_id)?;
    let subscription = state.live.subscribe()?;
    let after = match start {
        Start::After(position) => position,
        Start::Now => feed::now(&db).await?,
    };
    let bounds = Bounds {
        send_timeout: state.settings.send_timeout,
        lifetime: state.settings.stream_lifetime,
    };
    Ok(subscription.respond(db, filters, after, bounds))
}
