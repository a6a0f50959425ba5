//! Rendered answers kept in memory, so that reads that repeat cost no query.
//!
//! - **What is kept.** The `200` answers of `GET /v1/…` (every read but export,
//!   import and the change feed), body and headers, each with its `ETag` (the
//!   handler's, or the hash of the body). Their memory is bounded by [`Settings::cache_bytes`](crate::Settings):
//!   past it the least useful answers go.
//! - **Correct across instances.** Every write notifies `chancery_changes` inside its
//!   transaction (`store::notifications`). A meeting's document is dropped when its
//!   meeting changes; every other answer (lists, counts, search, items) holds for one
//!   generation, and any change starts the next. An answer being rendered while a
//!   change is heard is not kept.
//! - **A lost listener loses nothing.** While the listening connection is down the
//!   cache is passed over; when it is back, everything kept before is dropped, since
//!   notifications may have been missed in between.
//! - **Read your own writes.** A successful write through this instance returns only
//!   once this instance has heard every change committed before it (a sync notified
//!   after the write), so the writer's next read here never meets the old answer. A
//!   request carrying a `Chancery-Consistency` token, or `Cache-Control: no-cache`,
//!   passes the cache by and is answered from the database (a replica's when it may).
//! - **Kept answers come from the primary.** A replica a moment behind could hand back
//!   what a change already heard replaced; reads the cache does not keep still go to
//!   the replica.
//! - **Conditional requests.** `If-None-Match` naming an answer's tag is answered 304,
//!   from memory when the answer is kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::AppState;
use crate::http::etag;
use crate::http::listening::Follower;
use crate::http::replica::{CONSISTENCY, PrimaryOnly};
use crate::store::notifications::{self, Change};

/// The largest answer kept, in bytes (a sixteenth of the cache when that is less).
const MAX_ANSWER_BYTES: u64 = 1024 * 1024;

/// What one kept answer takes beyond its key, headers, body and tag: the cache's own
/// entry (its node in the eviction orders, its frequency) and the shared answer.
const ENTRY_BYTES: usize = 384;

/// How long a write waits to hear its own sync before it drops everything instead.
const SYNC_WAIT: Duration = Duration::from_secs(2);

/// One rendered answer: its headers as a slice of their own size (a `HeaderMap` holds
/// a table and spare room, several times what a few headers take).
struct Answer {
    headers: Box<[(HeaderName, HeaderValue)]>,
    body: Bytes,
    tag: String,
    /// The generation it holds for; `None` for a meeting's document, which is dropped
    /// by name when its meeting changes.
    generation: Option<u64>,
}

/// Which answers a request's may be kept as.
enum Kind {
    /// `GET /v1/meetings/{id}`, kept until that meeting changes.
    Document,
    /// Any other read, kept for the generation it was rendered in.
    Derived,
}

/// The cache of one instance.
pub struct Cache {
    answers: moka::sync::Cache<String, Arc<Answer>>,
    max_answer: u64,
    /// Started anew by every change.
    generation: AtomicU64,
    /// Counts the documents dropped, so that one rendered meanwhile is not kept.
    dropped: AtomicU64,
    /// Whether the listening connection is up; while it is not, the cache is passed over.
    listening: AtomicBool,
    /// How many times it has started listening.
    listens: AtomicU64,
    /// Names this instance's syncs.
    instance: String,
    syncs: AtomicU64,
    /// The latest of this instance's syncs heard.
    heard: watch::Sender<u64>,
}

impl Cache {
    /// A cache of at most `bytes`; `None` when `bytes` is 0 (no cache).
    pub fn new(bytes: u64) -> Option<Arc<Cache>> {
        if bytes == 0 {
            return None;
        }
        let answers = moka::sync::Cache::builder()
            .max_capacity(bytes)
            .weigher(|key: &String, answer: &Arc<Answer>| {
                let headers: usize = answer
                    .headers
                    .iter()
                    .map(|(name, value)| name.as_str().len() + value.len() + 64)
                    .sum();
                let size = key.len() + headers + answer.body.len() + answer.tag.len() + ENTRY_BYTES;
                u32::try_from(size).unwrap_or(u32::MAX)
            })
            .build();
        Some(Arc::new(Cache {
            answers,
            max_answer: MAX_ANSWER_BYTES.min(bytes / 16),
            generation: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            listens: AtomicU64::new(0),
            instance: Uuid::now_v7().simple().to_string(),
            syncs: AtomicU64::new(0),
            heard: watch::Sender::new(0),
        }))
    }

    /// Whether answers are served and kept now.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// How many times the cache has started listening: once, plus once for every time
    /// the connection was lost and listening began again.
    pub fn listens(&self) -> u64 {
        self.listens.load(Ordering::Acquire)
    }

    /// The memory the kept answers take, by the cache's own weighing.
    pub fn weighted_size(&self) -> u64 {
        self.answers.run_pending_tasks();
        self.answers.weighted_size()
    }

    fn lookup(&self, key: &str) -> Option<Arc<Answer>> {
        let answer = self.answers.get(key)?;
        match answer.generation {
            Some(generation) if generation != self.generation.load(Ordering::Acquire) => None,
            _ => Some(answer),
        }
    }

    /// What must not have moved between starting to render an answer and keeping it.
    fn marker(&self, kind: &Kind) -> u64 {
        match kind {
            Kind::Document => self.dropped.load(Ordering::Acquire),
            Kind::Derived => self.generation.load(Ordering::Acquire),
        }
    }

    /// Keeps `answer`, unless what it was rendered from moved meanwhile. With no lock:
    /// checked (a change counted while it rendered: not kept), put, and checked again. A
    /// change counted before the second check makes it take the answer out again; one
    /// counted after drops it itself, since every change counts first and drops after
    /// (`apply`, `flush`).
    fn keep(&self, key: String, kind: &Kind, marker: u64, answer: Answer) {
        let moved = || !self.is_listening() || self.marker(kind) != marker;
        if moved() {
            return;
        }
        self.answers.insert(key.clone(), Arc::new(answer));
        if moved() {
            self.answers.invalidate(&key);
        }
    }

    fn apply(&self, change: &Change) {
        match change {
            Change::Meeting(id) => {
                self.dropped.fetch_add(1, Ordering::AcqRel);
                self.generation.fetch_add(1, Ordering::AcqRel);
                self.answers.invalidate(&document_key(*id));
            }
            Change::PeopleAdded => {
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
            Change::PeopleChanged | Change::Unknown => self.flush(),
            Change::Sync(token) => {
                let heard = token
                    .strip_prefix(&self.instance)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .and_then(|n| n.parse::<u64>().ok());
                if let Some(n) = heard {
                    self.heard.send_if_modified(|latest| {
                        let newer = n > *latest;
                        if newer {
                            *latest = n;
                        }
                        newer
                    });
                }
            }
        }
    }

    /// Drops every answer kept.
    fn flush(&self) {
        self.dropped.fetch_add(1, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.answers.invalidate_all();
    }

    /// After a write through this instance committed: returns once every change
    /// committed before now has been heard, or, failing that, with everything dropped.
    async fn written(&self, db: &PgPool) {
        if !self.is_listening() {
            return;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        let n = self.syncs.fetch_add(1, Ordering::AcqRel) + 1;
        let mut heard = self.heard.subscribe();
        let token = format!("{}:{n}", self.instance);
        let synced = match notifications::announce_sync(db, &token).await {
            Ok(()) => tokio::time::timeout(SYNC_WAIT, heard.wait_for(|&latest| latest >= n))
                .await
                .is_ok_and(|waited| waited.is_ok()),
            Err(error) => {
                tracing::warn!(%error, "could not announce a sync; dropping the cache");
                false
            }
        };
        if !synced {
            self.flush();
        }
    }
}

/// Until it listens the cache is passed over; whenever listening (re)starts,
/// everything kept before is dropped, since notifications may have been missed.
impl Follower for Cache {
    fn listening(&self) {
        self.flush();
        self.listens.fetch_add(1, Ordering::AcqRel);
        self.listening.store(true, Ordering::Release);
    }

    fn heard(&self, change: &Change) {
        self.apply(change);
    }

    fn lost(&self) {
        self.listening.store(false, Ordering::Release);
        self.flush();
    }
}

/// The key of a meeting's document.
fn document_key(id: Uuid) -> String {
    format!("/v1/meetings/{id}")
}

/// Whether the answer to `GET uri` is read as of today, with no `as_of`: it changes at
/// midnight (UTC) with no write to announce it, so it is kept under the day's date.
fn as_of_today(uri: &Uri) -> bool {
    let query = uri.query().unwrap_or("");
    (uri.path().ends_with("/commitments") || query.contains("overdue="))
        && !query.contains("as_of=")
}

/// Whether, and as what, the answer to `GET uri` may be kept.
fn kind_of(uri: &Uri) -> Option<Kind> {
    let path = uri.path();
    let rest = path.strip_prefix("/v1/")?;
    // The change feed moves on when any transaction ends, which no notice announces.
    if rest.starts_with("export") || rest.starts_with("import") || rest.starts_with("changes") {
        return None;
    }
    if uri.query().is_none()
        && let Some(id) = rest.strip_prefix("meetings/")
        && let Ok(id) = id.parse::<Uuid>()
        && document_key(id) == path
    {
        return Some(Kind::Document);
    }
    Some(Kind::Derived)
}

/// Whether the client asked for an answer from the database rather than memory.
fn wants_fresh(headers: &HeaderMap) -> bool {
    headers.contains_key(&CONSISTENCY)
        || headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .any(|value| value.to_str().unwrap_or_default().contains("no-cache"))
}

/// The middleware: answers reads from memory when it can, keeps what it renders, and
/// makes a write wait until this instance has heard it.
pub async fn answer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if method != Method::GET {
        let writing = !matches!(method, Method::HEAD | Method::OPTIONS);
        let response = next.run(request).await;
        if writing
            && response.status().is_success()
            && let Some(cache) = &state.cache
        {
            cache.written(&state.db).await;
        }
        return response;
    }
    let Some(kind) = kind_of(request.uri()) else {
        return next.run(request).await;
    };
    // A request asking for the database is answered from it, and not kept.
    let cache = state
        .cache
        .as_ref()
        .filter(|cache| cache.is_listening() && !wants_fresh(request.headers()));
    let mut key = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    if as_of_today(request.uri()) {
        key.push_str(&format!(" @{}", chrono::Utc::now().date_naive()));
    }
    if let Some(cache) = cache
        && let Some(answer) = cache.lookup(&key)
    {
        metrics::counter!("cache_lookups_total", "result" => "hit").increment(1);
        return respond(request.headers(), &answer);
    }
    metrics::counter!("cache_lookups_total", "result" => if cache.is_some() { "miss" } else { "bypass" })
        .increment(1);
    let marker = cache.map(|cache| cache.marker(&kind));
    let condition = request.headers().get(header::IF_NONE_MATCH).cloned();
    let (mut parts, body) = request.into_parts();
    if cache.is_some() {
        // The answer is rendered whole, to be kept, and the condition applied after.
        parts.headers.remove(header::IF_NONE_MATCH);
        // Kept answers come from the primary: a lagging replica could hand back what
        // a change already heard replaced.
        parts.extensions.insert(PrimaryOnly);
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() != StatusCode::OK
        || (cache.is_none() && response.headers().contains_key(header::ETAG))
    {
        // Not kept; and a tagged answer has had its condition applied by its handler.
        return response;
    }
    let limit = cache.map_or(MAX_ANSWER_BYTES, |cache| cache.max_answer);
    let (parts, body) = response.into_parts();
    if body.size_hint().exact().is_none_or(|size| size > limit) {
        return Response::from_parts(parts, body);
    }
    let Ok(body) = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX)).await
    else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut headers = parts.headers;
    let tag = match headers.get(header::ETAG).and_then(|tag| tag.to_str().ok()) {
        Some(tag) => tag.to_owned(),
        None => {
            let tag = etag::of_bytes(&body);
            if let Ok(value) = HeaderValue::from_str(&tag) {
                headers.insert(header::ETAG, value);
            }
            tag
        }
    };
    // Kept in an allocation of its own size: the rendered body's may be up to twice as
    // large (a buffer grown by doubling), and the cache weighs what the answer holds.
    let body = if cache.is_some() {
        Bytes::copy_from_slice(&body)
    } else {
        body
    };
    let answer = Answer {
        headers: headers
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
        body,
        tag,
        generation: match kind {
            Kind::Document => None,
            Kind::Derived => marker,
        },
    };
    let mut conditions = HeaderMap::new();
    if let Some(condition) = condition {
        conditions.insert(header::IF_NONE_MATCH, condition);
    }
    let response = respond(&conditions, &answer);
    if let (Some(cache), Some(marker)) = (cache, marker) {
        cache.keep(key, &kind, marker, answer);
    }
    response
}

/// A kept answer, or 304 when the request's `If-None-Match` names its tag.
fn respond(request: &HeaderMap, answer: &Answer) -> Response {
    if let Some(unchanged) = etag::not_modified(request, &answer.tag) {
        return unchanged;
    }
    let mut response = Response::new(Body::from(answer.body.clone()));
    let headers = response.headers_mut();
    headers.reserve(answer.headers.len());
    for (name, value) in &answer.headers {
        headers.append(name.clone(), value.clone());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::{Kind, kind_of};

    #[test]
    fn what_may_be_kept() {
        let id = uuid::Uuid::now_v7();
        let kind = |uri: &str| kind_of(&uri.parse().unwrap());
        assert!(matches!(
            kind(&format!("/v1/meetings/{id}")),
            Some(Kind::Document)
        ));
        assert!(matches!(
            kind(&format!("/v1/meetings/{id}?x=1")),
            Some(Kind::Derived)
        ));
        assert!(matches!(
            kind(&format!("/v1/meetings/{id}/history")),
            Some(Kind::Derived)
        ));
        assert!(matches!(
            kind("/v1/meetings?country=CUB"),
            Some(Kind::Derived)
        ));
        assert!(matches!(
            kind("/v1/stats/meetings?group_by=year"),
            Some(Kind::Derived)
        ));
        assert!(kind("/v1/export").is_none());
        assert!(kind("/v1/import").is_none());
        assert!(kind("/v1/changes?after=now").is_none());
        assert!(kind("/health").is_none());
        assert!(kind("/metrics").is_none());
    }
}
