//! The HTTP listener: an accept loop that bounds what clients' connections may cost.
//!
//! `axum::serve` accepts every connection and keeps it for as long as the client
//! likes, so idle and slow-header (slowloris) connections pile up until the process
//! runs out of file descriptors and stops answering even its health probes. This loop
//! serves the same application over HTTP/1.1, with three bounds:
//!
//! - **Header-read timeout.** A client must send a complete request head within
//!   [`ConnectionLimits::header_read_timeout`], counted from when the connection is
//!   accepted, or, on a kept-alive connection, from the first byte of the next
//!   request. Trickling bytes does not extend it.
//! - **Idle timeout.** A kept-alive connection that sends nothing for
//!   [`ConnectionLimits::idle_timeout`] after its last response is closed.
//! - **Send timeout.** A client that takes none of an answer's bytes for
//!   [`ConnectionLimits::send_timeout`] while it is being sent (the socket's buffers
//!   full) is cut off, so a client that stops reading cannot hold an export, a change
//!   stream and their connection for ever.
//! - **Connection cap.** At most [`ConnectionLimits::max_connections`] connections are
//!   open at once, kept below the open-file limit (see [`connection_cap`]).
//!
//! hyper 1's own `header_read_timeout` is not used: its timer starts whenever the
//! connection waits for a request head, including the wait on an idle kept-alive
//! connection, so it is one budget for both and an idle timeout longer than the
//! header-read timeout could not be expressed. A watchdog per connection
//! ([`Activity`]) tracks which phase the connection is in and closes it when that
//! phase's deadline passes; while a request is being served neither timeout applies
//! (the application's own request timeout does).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// File descriptors kept free for everything but client connections: standard
/// streams, the runtime's epoll and wake-up descriptors, signal handling, DNS
/// look-ups, a private PostgreSQL cluster's pipes, and files opened on the way.
/// Database pools are reserved on top of this by the caller.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// How long the loop pauses after an accept fails for want of resources (EMFILE,
/// ENFILE, ENOBUFS, ENOMEM): long enough not to spin on a connection it cannot take,
/// short enough that a freed descriptor is used promptly.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accept failures are logged at most this often, so a burst cannot flood the logs.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// How long connections may take and how many may be open; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time allowed to send a complete request head.
    pub header_read_timeout: Duration,
    /// Time a kept-alive connection may stay silent between requests.
    pub idle_timeout: Duration,
    /// Connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client may take none of the bytes of an answer being sent.
    pub send_timeout: Duration,
}

/// Raises the soft open-file limit to the hard limit, so the process can hold as
/// many connections as the system lets it, and returns the soft limit now in force
/// (`None` when it is unlimited).
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return limit.maximum,
            Err(error) => tracing::warn!(
                %error,
                soft = ?limit.current,
                hard = ?limit.maximum,
                "could not raise the open-file limit to its hard limit"
            ),
        }
    }
    limit.current
}

/// The connection cap actually used: the one asked for, lowered so that connections
/// and the `reserved` descriptors together stay within the open-file limit. Never
/// below one, so the service still answers when the limit is absurdly low.
pub fn connection_cap(requested: u64, open_file_limit: Option<u64>, reserved: u64) -> usize {
    let allowed = match open_file_limit {
        Some(limit) => requested.min(limit.saturating_sub(reserved)),
        None => requested,
    };
    usize::try_from(allowed)
        .unwrap_or(usize::MAX)
        .clamp(1, Semaphore::MAX_PERMITS)
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting (new
/// connections are refused), lets requests in flight finish, closes idle connections,
/// and returns once every connection has ended.
///
/// When [`ConnectionLimits::max_connections`] are open the loop stops accepting and
/// further clients wait in the kernel's listen backlog; each is taken as soon as a
/// connection closes, which the timeouts guarantee happens. Accepting and closing them
/// at once instead would fail a health probe that arrives while the service is full,
/// even though a slot frees within a timeout; waiting lets that probe be answered.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    // The watchdog below enforces both timeouts; hyper's own would cut idle
    // connections at the header-read timeout.
    http.header_read_timeout(None);
    let mut accept_errors = AcceptErrors::default();
    let mut shutdown = pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                // The semaphore is never closed; stop serving rather than spin if it were.
                Err(_closed) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => {
                // One client gave up before it was accepted; nothing to wait for.
                tracing::debug!(%error, "a connection was lost before it was accepted");
                continue;
            }
            Err(error) => {
                accept_errors.record(&error);
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let watcher = graceful.watcher();
        let http = http.clone();
        let app = app.clone();
        tokio::spawn(async move {
            // Held for as long as the connection is open.
            let _slot = slot;
            let activity = Arc::new(Activity::new());
            let io = TokioIo::new(ObservedStream {
                stream,
                activity: Arc::clone(&activity),
                replacement: None,
            });
            let service = {
                let activity = Arc::clone(&activity);
                service_fn(move |request| respond(app.clone(), peer, &activity, request))
            };
            let connection = watcher.watch(http.serve_connection(io, service));
            tokio::select! {
                served = connection => {
                    if let Err(error) = served {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                }
                expired = activity.expired(limits) => {
                    tracing::debug!(%peer, timeout = expired.as_str(), "closed a connection that timed out");
                    metrics::counter!("http_connections_timed_out_total", "timeout" => expired.as_str())
                        .increment(1);
                }
            }
        });
    }
    drop(listener);
    tracing::debug!(
        connections = graceful.count(),
        "stopped accepting; waiting for connections to finish"
    );
    graceful.shutdown().await;
}

/// Hands one request to the application, as a connection from `peer` (axum's
/// `ConnectInfo`, which the client-address extractor reads), and marks the connection
/// busy until the response has been sent.
fn respond(
    app: Router,
    peer: SocketAddr,
    activity: &Arc<Activity>,
    mut request: Request<Incoming>,
) -> impl Future<Output = Result<Response<ServedBody>, Infallible>> + Send + use<> {
    request.extensions_mut().insert(ConnectInfo(peer));
    let serving = ServingGuard::begin(Arc::clone(activity));
    async move {
        let response = app.oneshot(request).await?;
        Ok(response.map(|body| ServedBody {
            body,
            _serving: serving,
        }))
    }
}

/// Whether an accept error concerns only the one connection being accepted, so the
/// next accept can be tried at once.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Logs accept failures at most once per [`ACCEPT_ERROR_LOG_INTERVAL`], counting the
/// ones it kept quiet about.
#[derive(Debug, Default)]
struct AcceptErrors {
    /// When a failure was last logged.
    last_logged: Option<Instant>,
    /// Failures since then that were not logged, reported with the next one that is.
    suppressed: u64,
}

impl AcceptErrors {
    /// Notes one failure, logging it unless one was logged less than the interval ago.
    fn record(&mut self, error: &io::Error) {
        let now = Instant::now();
        if self
            .last_logged
            .is_some_and(|logged| now.duration_since(logged) < ACCEPT_ERROR_LOG_INTERVAL)
        {
            self.suppressed += 1;
            return;
        }
        tracing::error!(
            %error,
            suppressed = self.suppressed,
            "could not accept a connection; retrying shortly"
        );
        self.last_logged = Some(now);
        self.suppressed = 0;
    }
}

/// Which timeout closed a connection, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// A request head took too long to arrive.
    HeaderRead,
    /// A kept-alive connection stayed silent too long.
    Idle,
    /// The client took none of an answer's bytes for too long.
    Send,
}

impl Expiry {
    /// The name logged for this timeout.
    fn as_str(self) -> &'static str {
        match self {
            Expiry::HeaderRead => "header-read",
            Expiry::Idle => "idle",
            Expiry::Send => "send",
        }
    }
}

/// Where a connection is in its life, which decides the deadline it runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a complete request head, since `since`: the accept, or the first
    /// byte of a later request on a kept-alive connection.
    ReadingHead { since: Instant },
    /// Kept alive after a response, with nothing received since `since`.
    Idle { since: Instant },
    /// This many requests are being served: their bodies read or responses written;
    /// since `stalled`, the client has taken none of the bytes written.
    Serving {
        requests: usize,
        stalled: Option<Instant>,
    },
}

/// One connection's phase, shared by its socket (which sees bytes arrive), its
/// service (which sees requests begin and responses end) and its watchdog.
#[derive(Debug)]
struct Activity {
    /// The current phase; held only briefly, never across an await.
    phase: Mutex<Phase>,
    /// Wakes the watchdog when the phase changes, so it picks up the new deadline.
    changed: Notify,
}

impl Activity {
    /// A connection just accepted: its first request head is due.
    fn new() -> Self {
        Activity {
            phase: Mutex::new(Phase::ReadingHead {
                since: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    /// The phase, even if a thread panicked while holding it (a phase is always
    /// whole, so it is still meaningful).
    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves to `next` and wakes the watchdog. `notify_one` stores a permit when the
    /// watchdog is not waiting, so no change is missed.
    fn set(&self, phase: &mut MutexGuard<'_, Phase>, next: Phase) {
        **phase = next;
        self.changed.notify_one();
    }

    /// Bytes arrived: on an idle connection they start the next request head.
    fn received(&self) {
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            self.set(
                &mut phase,
                Phase::ReadingHead {
                    since: Instant::now(),
                },
            );
        }
    }

    /// A request head was read and handed to the application.
    fn request_started(&self) {
        let mut phase = self.phase();
        let (requests, stalled) = match *phase {
            Phase::Serving { requests, stalled } => (requests + 1, stalled),
            Phase::ReadingHead { .. } | Phase::Idle { .. } => (1, None),
        };
        self.set(&mut phase, Phase::Serving { requests, stalled });
    }

    /// A response was sent (or abandoned); with none left the connection is idle.
    fn request_finished(&self) {
        let mut phase = self.phase();
        let next = match *phase {
            Phase::Serving { requests, stalled } if requests > 1 => Phase::Serving {
                requests: requests - 1,
                stalled,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        };
        self.set(&mut phase, next);
    }

    /// When the current phase runs out, and which timeout that is; `None` while a
    /// request is being served.
    fn deadline(&self, limits: ConnectionLimits) -> Option<(Instant, Expiry)> {
        match *self.phase() {
            Phase::ReadingHead { since } => {
                Some((since + limits.header_read_timeout, Expiry::HeaderRead))
            }
            Phase::Idle { since } => Some((since + limits.idle_timeout, Expiry::Idle)),
            Phase::Serving { stalled, .. } => {
                stalled.map(|since| (since + limits.send_timeout, Expiry::Send))
            }
        }
    }

    /// The socket took no more bytes: while serving, the send timeout starts, unless
    /// it runs already.
    fn write_stalled(&self) {
        let mut phase = self.phase();
        if let Phase::Serving {
            requests,
            stalled: None,
        } = *phase
        {
            self.set(
                &mut phase,
                Phase::Serving {
                    requests,
                    stalled: Some(Instant::now()),
                },
            );
        }
    }

    /// The socket took bytes: the send timeout stops. The watchdog need not be woken,
    /// it finds the deadline gone when it wakes.
    fn wrote(&self) {
        if let Phase::Serving { stalled, .. } = &mut *self.phase() {
            *stalled = None;
        }
    }

    /// The watchdog: resolves when the connection has overstayed its current phase.
    async fn expired(&self, limits: ConnectionLimits) -> Expiry {
        loop {
            match self.deadline(limits) {
                None => self.changed.notified().await,
                Some((deadline, expiry)) => {
                    if Instant::now() >= deadline {
                        return expiry;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// Marks its connection busy from when a request reaches the application until the
/// response body is dropped, which hyper does once it has written the body, or when
/// the connection ends.
#[derive(Debug)]
struct ServingGuard {
    /// The connection the request came on.
    activity: Arc<Activity>,
}

impl ServingGuard {
    /// Notes that a request has begun.
    fn begin(activity: Arc<Activity>) -> Self {
        activity.request_started();
        ServingGuard { activity }
    }
}

impl Drop for ServingGuard {
    /// Notes that the request is over, starting the idle timeout.
    fn drop(&mut self) {
        self.activity.request_finished();
    }
}

/// A response body that keeps its connection marked busy until it is done.
struct ServedBody {
    /// What the application answered.
    body: axum::body::Body,
    /// Dropped with the body, marking the request finished.
    _serving: ServingGuard,
}

impl HttpBody for ServedBody {
    type Data = Bytes;
    type Error = axum::Error;

    /// The application's body, unchanged.
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    /// Delegated, so hyper still knows when a body is empty.
    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    /// Delegated, so hyper still sends `Content-Length` when the length is known.
    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A client's socket that tells its [`Activity`] when bytes arrive, so an idle
/// connection's next request starts the header-read timeout.
///
/// It also puts Chancery's words on the answers hyper writes by itself. A request
/// head hyper cannot take (two different `Content-Length`s, a malformed request line,
/// headers too large, a URI too long) is refused by hyper's parser before any of the
/// application runs, with a bare status line and no body. Anything written while no
/// request is being served can only be such an answer, so it is replaced by the same
/// status with a problem+json body, as every other refusal has.
struct ObservedStream {
    /// The client's socket.
    stream: TcpStream,
    /// Told when bytes arrive; says whether a request is being served.
    activity: Arc<Activity>,
    /// A problem+json answer standing in for hyper's own, and how much of it is sent.
    replacement: Option<(Vec<u8>, usize)>,
}

impl ObservedStream {
    /// Whether `written` is hyper answering on its own: no request is with the
    /// application, and the bytes are a refusal with no `Content-Type`. Every answer of
    /// the application's has one (a refusal is problem+json), so the tail of a
    /// response hyper flushes late is never taken for one of its own.
    fn hyper_answers_alone(&self, written: &[u8]) -> bool {
        const OWN: [&[u8]; 5] = [
            b"HTTP/1.1 400 ",
            b"HTTP/1.1 414 ",
            b"HTTP/1.1 431 ",
            b"HTTP/1.1 501 ",
            b"HTTP/1.1 505 ",
        ];
        if !OWN.iter().any(|status| written.starts_with(status)) {
            return false;
        }
        let head_end = written
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(written.len());
        let head = String::from_utf8_lossy(&written[..head_end]).to_ascii_lowercase();
        !head.contains("\r\ncontent-type:")
            && !matches!(*self.activity.phase(), Phase::Serving { .. })
    }

    /// Tells the connection's activity whether the client is taking bytes.
    fn note(&self, written: &Poll<io::Result<usize>>) {
        match written {
            Poll::Pending => self.activity.write_stalled(),
            Poll::Ready(Ok(n)) if *n > 0 => self.activity.wrote(),
            Poll::Ready(_) => {}
        }
    }

    /// Takes `written` (what hyper wants sent) and sends the replacement instead,
    /// reporting all of hyper's bytes as written once the replacement has gone out.
    fn poll_replace(&mut self, cx: &mut Context<'_>, written: &[u8]) -> Poll<io::Result<usize>> {
        let (answer, sent) = self
            .replacement
            .get_or_insert_with(|| (problem_for(written), 0));
        while *sent < answer.len() {
            match Pin::new(&mut self.stream).poll_write(cx, &answer[*sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *sent += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(written.len()))
    }
}

/// The problem+json answer for hyper's own answer `written` (its status line first).
fn problem_for(written: &[u8]) -> Vec<u8> {
    let status = written
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
        .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    let detail = match status.as_u16() {
        414 => "the request URI is too long",
        431 => "the request's headers are too large",
        505 => "the HTTP version is not supported: send HTTP/1.1",
        _ => {
            "the request head is malformed: check the request line and the headers (a header \
             such as Content-Length given twice with different values, or both Content-Length \
             and Transfer-Encoding, is refused)"
        }
    };
    let request_id = uuid::Uuid::now_v7().to_string();
    tracing::info!(
        status = status.as_u16(),
        request_id,
        "refused a request head hyper could not take"
    );
    let mut problem = crate::http::error::Problem::new(status, detail);
    problem.request_id = Some(request_id.clone());
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\n\
         connection: close\r\n\r\n",
        crate::http::error::PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    answer
}

impl AsyncRead for ObservedStream {
    /// Reads, noting that the client sent something.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        read
    }
}

impl AsyncWrite for ObservedStream {
    /// Writes straight to the socket, but for hyper's own answers (see the type).
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacement.is_some() || this.hyper_answers_alone(buf) {
            return this.poll_replace(cx, buf);
        }
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.note(&written);
        written
    }

    /// Delegated, so hyper keeps writing heads and bodies in one system call.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        if this.replacement.is_some() || this.hyper_answers_alone(first) {
            let written: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            return this.poll_replace(cx, &written);
        }
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.note(&written);
        written
    }

    /// Delegated: a TCP stream writes vectors natively.
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    /// Flushes the socket (a no-op for TCP).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    /// Shuts down the sending side once hyper is done with the connection.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings with distinct timeouts, so a deadline shows which one applies.
    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
        max_connections: 8,
        send_timeout: Duration::from_secs(30),
    };

    #[test]
    fn the_cap_stays_within_the_open_file_limit() {
        assert_eq!(connection_cap(4096, Some(1_048_576), 96), 4096);
        assert_eq!(connection_cap(4096, Some(1024), 96), 928);
        assert_eq!(connection_cap(4096, None, 96), 4096);
        assert_eq!(connection_cap(4096, Some(50), 96), 1, "never below one");
        assert_eq!(connection_cap(0, Some(1024), 96), 1, "never below one");
    }

    #[tokio::test]
    async fn accept_failures_are_logged_at_most_once_a_second() {
        let failure = io::Error::from_raw_os_error(24); // EMFILE
        let mut errors = AcceptErrors::default();
        errors.record(&failure);
        errors.record(&failure);
        errors.record(&failure);
        assert_eq!(errors.suppressed, 2, "only the first of a burst is logged");
    }

    #[tokio::test]
    async fn each_phase_runs_against_its_own_timeout() {
        let activity = Activity::new();
        let (_, expiry) = activity
            .deadline(LIMITS)
            .expect("a new connection has a deadline");
        assert_eq!(expiry, Expiry::HeaderRead, "the first head is due");

        activity.request_started();
        assert_eq!(activity.deadline(LIMITS), None, "no timeout while serving");
        activity.received();
        assert_eq!(
            activity.deadline(LIMITS),
            None,
            "a request body is not a head"
        );

        activity.request_finished();
        let (idle_deadline, expiry) = activity.deadline(LIMITS).expect("idle has a deadline");
        assert_eq!(expiry, Expiry::Idle);

        activity.received();
        let (head_deadline, expiry) = activity.deadline(LIMITS).expect("a head has a deadline");
        assert_eq!(expiry, Expiry::HeaderRead);
        assert!(
            head_deadline < idle_deadline,
            "the shorter header timeout took over"
        );
        activity.received();
        assert_eq!(
            activity.deadline(LIMITS),
            Some((head_deadline, Expiry::HeaderRead)),
            "trickling bytes does not extend the header timeout"
        );
    }

    #[tokio::test]
    async fn a_client_that_takes_no_bytes_runs_against_the_send_timeout() {
        let activity = Activity::new();
        activity.write_stalled();
        assert_eq!(
            activity.deadline(LIMITS).map(|(_, expiry)| expiry),
            Some(Expiry::HeaderRead),
            "no answer is being sent before a request"
        );
        activity.request_started();
        activity.write_stalled();
        let (stalled, expiry) = activity.deadline(LIMITS).expect("a stalled answer has one");
        assert_eq!(expiry, Expiry::Send);
        activity.write_stalled();
        assert_eq!(
            activity.deadline(LIMITS),
            Some((stalled, Expiry::Send)),
            "staying stalled does not extend it"
        );
        activity.wrote();
        assert_eq!(activity.deadline(LIMITS), None, "bytes taken stop it");
        activity.write_stalled();
        activity.request_finished();
        assert_eq!(
            activity.deadline(LIMITS).map(|(_, expiry)| expiry),
            Some(Expiry::Idle),
            "once answered, the connection is idle"
        );
    }
}
