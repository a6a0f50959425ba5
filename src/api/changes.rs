//! `GET /v1/changes`: the change feed, every committed change exactly once, for
//! clients that keep a copy in sync.

use axum::http::HeaderMap;
use axum::response::Response;

use crate::AppState;
use crate::domain::error::ApiResult;
use crate::http::etag;
use crate::http::extract::Query;
use crate::http::replica::ReadPool;
use crate::http::routes::{Routes, get};
use crate::store::feed::{self, FeedFilters};

pub fn routes() -> Routes<AppState> {
    Routes::new().route("/v1/changes", get(list))
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
