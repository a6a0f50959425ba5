//! What the HTTP application needs to know at run time, and its defaults. The binary
//! fills it from command-line flags and `CHANCERY_*` environment variables
//! (`src/cli.rs`).

use std::time::Duration;

use axum_client_ip::ClientIpSource;

/// What bounds one import over HTTP.
#[derive(Debug, Clone)]
pub struct ImportLimits {
    /// Imports running at once.
    pub concurrent: usize,
    /// Non-blank lines per import.
    pub max_lines: usize,
    /// Bytes per import body.
    pub max_bytes: u64,
    /// How long a body may send nothing.
    pub idle_timeout: Duration,
    /// The slowest average rate a body may arrive at, after `idle_timeout`.
    pub min_bytes_per_second: u64,
}

impl ImportLimits {
    pub const DEFAULT: ImportLimits = ImportLimits {
        concurrent: 2,
        max_lines: 100_000,
        max_bytes: 512 * 1024 * 1024,
        idle_timeout: Duration::from_secs(30),
        min_bytes_per_second: 1024,
    };
}

/// What the HTTP application needs to know at run time.
#[derive(Debug, Clone)]
pub struct Settings {
    pub require_read_key: bool,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub rate_limit_per_key: u32,
    pub rate_limit_per_ip: u32,
    pub client_ip_source: ClientIpSource,
    pub max_expensive_requests: usize,
    pub max_expensive_per_client: usize,
    pub imports: ImportLimits,
    /// Memory for rendered answers (`http::cache`), in bytes; 0 turns the cache off.
    pub cache_bytes: u64,
    /// The most posted meetings written in one transaction (`api::meetings::writer`);
    /// 1 writes each alone.
    pub write_batch: usize,
    /// Subscribers to `GET /v1/changes/stream` at once on one instance.
    pub stream_subscribers: usize,
    /// How long one change stream runs before it ends; the client reconnects with
    /// `Last-Event-ID`, possibly to another instance.
    pub stream_lifetime: Duration,
    /// How long a client may take no bytes of an answer being sent before it is cut
    /// off (a change stream's subscriber included).
    pub send_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            require_read_key: false,
            request_timeout: crate::DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_requests: 512,
            rate_limit_per_key: DEFAULT_RATE_LIMIT_PER_KEY,
            rate_limit_per_ip: DEFAULT_RATE_LIMIT_PER_IP,
            client_ip_source: ClientIpSource::ConnectInfo,
            max_expensive_requests: DEFAULT_MAX_EXPENSIVE_REQUESTS,
            max_expensive_per_client: DEFAULT_MAX_EXPENSIVE_PER_CLIENT,
            imports: ImportLimits::DEFAULT,
            cache_bytes: DEFAULT_CACHE_BYTES,
            write_batch: DEFAULT_WRITE_BATCH,
            stream_subscribers: DEFAULT_STREAM_SUBSCRIBERS,
            stream_lifetime: DEFAULT_STREAM_LIFETIME,
            send_timeout: DEFAULT_SEND_TIMEOUT,
        }
    }
}

/// The most posted meetings written in one transaction, by default: past a few dozen a
/// batch saves little more, and every document in it waits for the slowest.
pub const DEFAULT_WRITE_BATCH: usize = 32;

/// Subscribers to the change stream at once on one instance, by default.
pub const DEFAULT_STREAM_SUBSCRIBERS: usize = 256;

/// How long one change stream runs, by default: half an hour.
pub const DEFAULT_STREAM_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// How long a client may take no bytes of an answer, by default.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Memory for rendered answers, by default: 48 MiB. The process holds about 1.4 times
/// the cache's weight in it (allocator size classes, the cache's own bookkeeping) on top
/// of some 30 MiB of its own; at 64 MiB its peak over `bench/run` at 1,000,000 meetings
/// was 159 MiB, past issue 12's 150.
pub const DEFAULT_CACHE_BYTES: u64 = 48 * 1024 * 1024;

/// Expensive reads running at once on one instance, by default.
pub const DEFAULT_MAX_EXPENSIVE_REQUESTS: usize = 6;
/// Expensive reads one client may have running at once, by default.
pub const DEFAULT_MAX_EXPENSIVE_PER_CLIENT: usize = 2;

/// Requests per second for one API key: plenty for a feed or a dashboard.
pub const DEFAULT_RATE_LIMIT_PER_KEY: u32 = 100;
/// Requests per second for one address without a key.
pub const DEFAULT_RATE_LIMIT_PER_IP: u32 = 50;
