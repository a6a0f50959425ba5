//! The change stream's plumbing (`GET /v1/changes/stream`): its subscribers, what
//! wakes them, and the bounds on what one may cost.
//!
//! - **Woken by what the instance hears.** Every instance listens on
//!   `chancery_changes` (`http::listening`); each change heard wakes every subscriber,
//!   which reads the feed after its last event. A change held back by a transaction
//!   still running below the watermark is read again shortly after, and every
//!   subscriber also reads every [`POLL`], so nothing waits on a notification that
//!   never came (the listener down, or a change written with triggers off).
//! - **Capped.** At most `CHANCERY_STREAM_SUBSCRIBERS` at once per instance; past that
//!   the answer is 503 with `Retry-After`.
//! - **A slow reader is dropped, not buffered for.** Each subscriber has a queue of
//!   [`QUEUE`] events. When one cannot be queued within [`Bounds::send_timeout`] (the
//!   client has stopped taking bytes, and the socket and queue are full), the
//!   subscriber is cut off; it resumes with `Last-Event-ID` and misses nothing. Its
//!   connection is closed at once, not after the queue drains (`http::server` also
//!   closes any connection that takes no bytes for that long).
//! - **Ended on shutdown**, so that a graceful stop does not wait on streams forever,
//!   and after its [`Bounds::lifetime`], so that subscribers spread over instances
//!   as they come and go (the client reconnects with `Last-Event-ID`).

use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::domain::error::{ApiError, ApiResult};
use crate::http::listening::Follower;
use crate::store::feed::{self, FeedFilters, Position};
use crate::store::notifications::Change;

/// How often a subscriber reads the feed when it hears of no change.
pub const POLL: Duration = Duration::from_secs(5);

/// How often a comment is sent on a quiet stream, to keep proxies from closing it.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events queued for one subscriber.
const QUEUE: usize = 64;

/// Changes read per page.
const PAGE: u16 = 100;

/// Read again this soon after a change heard did not show in the feed (a transaction
/// below the watermark still runs), doubling up to [`SETTLE_MAX`].
const SETTLE: Duration = Duration::from_millis(50);
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// The subscribers of one instance.
pub struct Live {
    places: Arc<Semaphore>,
    cap: usize,
    /// Counts the changes heard and the times listening started; each wakes everyone.
    wake: watch::Sender<u64>,
    /// Cancelled when the instance shuts down.
    closing: CancellationToken,
}

impl Live {
    /// Room for `cap` subscribers at once.
    pub fn new(cap: usize) -> Arc<Live> {
        Arc::new(Live {
            places: Arc::new(Semaphore::new(cap)),
            cap,
            wake: watch::Sender::new(0),
            closing: CancellationToken::new(),
        })
    }

    /// Ends every stream, for a graceful stop.
    pub fn close(&self) {
        self.closing.cancel();
    }

    /// A place for one more subscriber, or 503 when all are taken.
    pub fn subscribe(self: &Arc<Self>) -> ApiResult<Subscription> {
        match Arc::clone(&self.places).try_acquire_owned() {
            Ok(place) => {
                metrics::gauge!("changes_stream_subscribers").increment(1.0);
                Ok(Subscription {
                    live: Arc::clone(self),
                    _place: place,
                })
            }
            Err(_) => {
                metrics::counter!("changes_stream_refused_total").increment(1);
                Err(ApiError::Busy(format!(
                    "this instance streams changes to {} subscribers already; retry \
                     shortly, or poll `GET /v1/changes`",
                    self.cap
                )))
            }
        }
    }

    fn wake_all(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Follower for Live {
    fn listening(&self) {
        // Changes may have been missed while not listening: everyone reads again.
        self.wake_all();
    }

    fn heard(&self, change: &Change) {
        if !matches!(change, Change::Sync(_)) {
            self.wake_all();
        }
    }

    fn lost(&self) {}
}

/// What bounds one stream.
pub struct Bounds {
    /// How long one event may wait for room in the queue.
    pub send_timeout: Duration,
    /// How long the stream runs before it ends, for the client to reconnect.
    pub lifetime: Duration,
}

/// One subscriber's place, held while its stream runs.
pub struct Subscription {
    live: Arc<Live>,
    _place: OwnedSemaphorePermit,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        metrics::gauge!("changes_stream_subscribers").decrement(1.0);
    }
}

/// Why a stream ended early.
#[derive(Debug, thiserror::Error)]
#[error("the subscriber read too slowly and was dropped")]
struct Dropped;

impl Subscription {
    /// The stream of changes after `after` that `filters` take, as Server-Sent Events:
    /// each event's `id` is its cursor and its data the change, as `GET /v1/changes`
    /// lists it.
    pub fn respond(
        self,
        db: PgPool,
        mut filters: FeedFilters,
        after: Position,
        bounds: Bounds,
    ) -> Response {
        filters.limit = crate::store::pagination::Limit::new(PAGE);
        let (queue, events) = mpsc::channel(QUEUE);
        let (drop_it, dropped) = oneshot::channel();
        let closing = self.live.closing.clone();
        tokio::spawn(self.follow(db, filters, after, bounds, queue, drop_it));
        let stream = stream(events, dropped, closing);
        Sse::new(stream)
            .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
            .into_response()
    }

    /// Reads the feed and queues its changes until the client goes, is dropped, or the
    /// instance stops.
    async fn follow(
        self,
        db: PgPool,
        filters: FeedFilters,
        mut after: Position,
        Bounds {
            send_timeout,
            lifetime,
        }: Bounds,
        queue: mpsc::Sender<Event>,
        drop_it: oneshot::Sender<()>,
    ) {
        let ends = tokio::time::Instant::now() + lifetime;
        let mut wake = self.live.wake.subscribe();
        wake.mark_unchanged();
        // After a change was heard that the feed did not show yet: when to look again.
        let mut settle: Option<Duration> = None;
        loop {
            if tokio::time::Instant::now() >= ends {
                return;
            }
            let page = match feed::read(&db, &filters, after).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, "a change stream could not read the feed; ending it");
                    return;
                }
            };
            let listed = !page.items.is_empty();
            for (cursor, item) in page.items {
                let event = Event::default().id(cursor).data(item);
                match tokio::time::timeout(send_timeout, queue.send(event)).await {
                    Ok(Ok(())) => {
                        metrics::counter!("changes_stream_events_total").increment(1);
                    }
                    // The client went.
                    Ok(Err(_)) => return,
                    Err(_) => {
                        metrics::counter!("changes_stream_dropped_total", "reason" => "slow")
                            .increment(1);
                        let _ = drop_it.send(());
                        return;
                    }
                }
            }
            after = page.next;
            if page.more {
                continue;
            }
            if listed {
                settle = None;
            }
            let pause = settle.unwrap_or(POLL);
            tokio::select! {
                () = self.live.closing.cancelled() => return,
                () = tokio::time::sleep_until(ends) => return,
                () = queue.closed() => return,
                changed = wake.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    settle = Some(SETTLE);
                }
                () = tokio::time::sleep(pause) => {
                    settle = settle.map(|wait| wait * 2).filter(|wait| *wait <= SETTLE_MAX);
                }
            }
        }
    }
}

/// The events queued, then the end; an error at once when the subscriber is dropped,
/// which makes the server abandon the connection rather than drain the queue first.
fn stream(
    mut events: mpsc::Receiver<Event>,
    mut dropped: oneshot::Receiver<()>,
    closing: CancellationToken,
) -> impl Stream<Item = Result<Event, Dropped>> {
    async_stream::stream! {
        yield Ok(Event::default().comment("subscribed").retry(Duration::from_secs(1)));
        // Until the reader ends, it may still drop the subscriber.
        let mut watching = true;
        loop {
            tokio::select! {
                biased;
                result = &mut dropped, if watching => {
                    if result.is_ok() {
                        yield Err(Dropped);
                        break;
                    }
                    watching = false;
                }
                () = closing.cancelled() => break,
                event = events.recv() => match event {
                    Some(event) => yield Ok(event),
                    None => break,
                },
            }
        }
    }
}
