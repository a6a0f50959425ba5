//! Settings, from command-line flags or `CHANCERY_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum_client_ip::ClientIpSource;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::access::Scope;

/// Chancery: an HTTP API for structured records of diplomatic meetings.
#[derive(Debug, Parser)]
#[command(name = "chancery", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the database is.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL. Unset: the local server on 127.0.0.1:5432, or a private cluster
    /// started under the data directory when none answers.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// PostgreSQL URL of a streaming replica for reads. Unset: reads go to the primary.
    #[arg(long, env = "DATABASE_READ_URL", global = true, hide_env_values = true)]
    pub database_read_url: Option<String>,
    /// Where a private PostgreSQL cluster lives when one is needed.
    #[arg(long, env = "CHANCERY_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Most database connections this process opens.
    #[arg(
        long,
        env = "CHANCERY_DB_POOL_SIZE",
        default_value_t = 16,
        global = true
    )]
    pub pool_size: u32,
    /// Statements running longer than this many milliseconds are logged at WARN.
    #[arg(
        long,
        env = "CHANCERY_SLOW_STATEMENT_MS",
        default_value_t = 500,
        global = true
    )]
    pub slow_statement_ms: u64,
}

impl DatabaseArgs {
    /// How long a statement may run before it is logged as slow.
    pub fn slow_statement(&self) -> Duration {
        Duration::from_millis(self.slow_statement_ms)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Import NDJSON meeting documents, one per line.
    Import(ImportArgs),
    /// Fill an empty database with a synthetic corpus, for benchmarks.
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Parser)]
#[command(name = "serve")]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CHANCERY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Load the sample meeting into an empty database.
    #[arg(long, env = "CHANCERY_SEED", default_value_t = true, action = clap::ArgAction::Set)]
    pub seed: bool,
    /// Require a `read` key for reads too.
    #[arg(long, env = "CHANCERY_REQUIRE_READ_KEY", default_value_t = false, action = clap::ArgAction::Set)]
    pub require_read_key: bool,
    /// Seconds a request may take before it is answered with 503.
    #[arg(long, env = "CHANCERY_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Requests served at once; more are answered 503 at once rather than queued.
    #[arg(long, env = "CHANCERY_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,
    /// Requests per second allowed to each API key (with an equal burst); 0 for no limit.
    #[arg(long, env = "CHANCERY_RATE_LIMIT_PER_KEY", default_value_t = DEFAULT_RATE_LIMIT_PER_KEY)]
    pub rate_limit_per_key: u32,
    /// Requests per second allowed to each client address sending no key; 0 for no limit.
    #[arg(long, env = "CHANCERY_RATE_LIMIT_PER_IP", default_value_t = DEFAULT_RATE_LIMIT_PER_IP)]
    pub rate_limit_per_ip: u32,
    /// Where a client's address comes from: `ConnectInfo` (the socket) when clients
    /// connect directly, or the header a trusted proxy sets, e.g. `RightmostXForwardedFor`
    /// or `XRealIp`.
    #[arg(long, env = "CHANCERY_CLIENT_IP_SOURCE", default_value = "ConnectInfo")]
    pub client_ip_source: ClientIpSource,
    /// Log format.
    #[arg(long, env = "CHANCERY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Default for ServeArgs {
    /// Settings from the environment alone, for `chancery` with no subcommand.
    fn default() -> Self {
        ServeArgs::parse_from(["serve"])
    }
}

impl ServeArgs {
    /// The settings the HTTP application runs with.
    pub fn settings(&self) -> Settings {
        Settings {
            require_read_key: self.require_read_key,
            request_timeout: Duration::from_secs(self.request_timeout.max(1)),
            max_concurrent_requests: self.max_concurrent_requests.max(1),
            rate_limit_per_key: self.rate_limit_per_key,
            rate_limit_per_ip: self.rate_limit_per_ip,
            client_ip_source: self.client_ip_source.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its secret is printed once, as the last line.
    Create {
        #[arg(long, value_enum)]
        scope: Scope,
        #[arg(long)]
        name: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: uuid::Uuid },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// NDJSON file of meeting documents; `-` reads standard input.
    pub file: PathBuf,
    /// `insert` refuses documents whose identifier is stored; `upsert` replaces them.
    #[arg(long, value_enum, default_value_t = crate::import::Mode::Insert)]
    pub mode: crate::import::Mode,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many meetings to write.
    #[arg(long, default_value_t = 100_000)]
    pub meetings: u64,
    /// The same seed gives the same corpus.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Connections writing at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
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
        }
    }
}

/// Requests per second for one API key: plenty for a feed or a dashboard.
pub const DEFAULT_RATE_LIMIT_PER_KEY: u32 = 100;
/// Requests per second for one address without a key.
pub const DEFAULT_RATE_LIMIT_PER_IP: u32 = 50;
