//! The command line: subcommands, flags and `CHANCERY_*` environment variables, turned
//! into the library's settings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum_client_ip::ClientIpSource;
use chancery::config::{
    DEFAULT_CACHE_BYTES, DEFAULT_MAX_EXPENSIVE_PER_CLIENT, DEFAULT_MAX_EXPENSIVE_REQUESTS,
    DEFAULT_RATE_LIMIT_PER_IP, DEFAULT_RATE_LIMIT_PER_KEY, DEFAULT_SEND_TIMEOUT,
    DEFAULT_STREAM_LIFETIME, DEFAULT_STREAM_SUBSCRIBERS, DEFAULT_WRITE_BATCH, ImportLimits,
    Settings,
};
use chancery::domain::vocabulary::{Collection, Mode, Scope};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Import NDJSON, one meeting document (or, with `--type people`, one person) per line.
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
    /// Seconds a client has to send a complete request head (request line and
    /// headers), counted from when the connection is accepted or, on a kept-alive
    /// connection, from the first byte of the next request; a slower client
    /// (slowloris) is disconnected.
    #[arg(long, env = "CHANCERY_HEADER_READ_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Seconds a kept-alive connection may sit idle between requests before it is closed.
    #[arg(long, env = "CHANCERY_IDLE_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: u64,
    /// Client connections open at once; more wait in the listen backlog until one
    /// closes. Lowered at start to what the open-file limit allows.
    #[arg(long, env = "CHANCERY_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Requests per second allowed to each API key (with an equal burst); 0 for no limit.
    #[arg(long, env = "CHANCERY_RATE_LIMIT_PER_KEY", default_value_t = DEFAULT_RATE_LIMIT_PER_KEY)]
    pub rate_limit_per_key: u32,
    /// Requests per second allowed to each client address sending no key; 0 for no limit.
    #[arg(long, env = "CHANCERY_RATE_LIMIT_PER_IP", default_value_t = DEFAULT_RATE_LIMIT_PER_IP)]
    pub rate_limit_per_ip: u32,
    /// Seconds one SQL statement may run before PostgreSQL cancels it; unset, nine
    /// tenths of the request timeout, so no statement outlives the answer its request got.
    #[arg(long, env = "CHANCERY_STATEMENT_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..))]
    pub statement_timeout: Option<u64>,
    /// Expensive reads (a search `q`, `include_total=true`, stats, export) running at
    /// once on this instance; more are answered 503. Keep it below the pool size, so
    /// cheap reads and writes always find a connection.
    #[arg(long, env = "CHANCERY_MAX_EXPENSIVE_REQUESTS", default_value_t = DEFAULT_MAX_EXPENSIVE_REQUESTS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_expensive_requests: u64,
    /// Expensive reads one client (an API key, or an address sending none) may have
    /// running at once; more are answered 429.
    #[arg(long, env = "CHANCERY_MAX_EXPENSIVE_PER_CLIENT", default_value_t = DEFAULT_MAX_EXPENSIVE_PER_CLIENT as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_expensive_per_client: u64,
    /// Memory for rendered answers kept between requests, in MiB; 0 turns the cache off.
    #[arg(long, env = "CHANCERY_CACHE_MIB", default_value_t = DEFAULT_CACHE_BYTES / (1024 * 1024))]
    pub cache_mib: u64,
    /// The most meetings posted at the same moment (`POST /v1/meetings`) written in one
    /// transaction; 1 writes each alone.
    #[arg(long, env = "CHANCERY_WRITE_BATCH", default_value_t = DEFAULT_WRITE_BATCH as u64, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub write_batch: u64,
    /// Subscribers to the change stream (`GET /v1/changes/stream`) at once on this
    /// instance; more are answered 503 with `Retry-After`.
    #[arg(long, env = "CHANCERY_STREAM_SUBSCRIBERS", default_value_t = DEFAULT_STREAM_SUBSCRIBERS as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_subscribers: u64,
    /// Seconds one change stream runs before it ends, so that long-lived subscribers
    /// spread over instances as they come and go; clients resume with `Last-Event-ID`.
    #[arg(long, env = "CHANCERY_STREAM_LIFETIME", default_value_t = DEFAULT_STREAM_LIFETIME.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub stream_lifetime: u64,
    /// Seconds a client may take no bytes of an answer being sent (an export, a change
    /// stream) before its connection is closed.
    #[arg(long, env = "CHANCERY_SEND_TIMEOUT", default_value_t = DEFAULT_SEND_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub send_timeout: u64,
    /// Imports (`POST /v1/import`) running at once on this instance; more are answered 503.
    #[arg(long, env = "CHANCERY_MAX_CONCURRENT_IMPORTS", default_value_t = ImportLimits::DEFAULT.concurrent as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_concurrent_imports: u64,
    /// Non-blank lines one import may hold; the import stops at the next and says so.
    #[arg(long, env = "CHANCERY_IMPORT_MAX_LINES", default_value_t = ImportLimits::DEFAULT.max_lines as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub import_max_lines: u64,
    /// Bytes one import body may hold; the import stops there and says so.
    #[arg(long, env = "CHANCERY_IMPORT_MAX_BYTES", default_value_t = ImportLimits::DEFAULT.max_bytes, value_parser = clap::value_parser!(u64).range(1..))]
    pub import_max_bytes: u64,
    /// Seconds an import body may send nothing before the import stops.
    #[arg(long, env = "CHANCERY_IMPORT_IDLE_TIMEOUT", default_value_t = ImportLimits::DEFAULT.idle_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub import_idle_timeout: u64,
    /// The slowest average an import body may arrive at, in bytes per second, judged
    /// after the idle timeout's first span; a slower body ends the import.
    #[arg(long, env = "CHANCERY_IMPORT_MIN_BYTES_PER_SECOND", default_value_t = ImportLimits::DEFAULT.min_bytes_per_second)]
    pub import_min_bytes_per_second: u64,
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
            max_expensive_requests: usize_setting(self.max_expensive_requests),
            max_expensive_per_client: usize_setting(self.max_expensive_per_client),
            imports: ImportLimits {
                concurrent: usize_setting(self.max_concurrent_imports),
                max_lines: usize_setting(self.import_max_lines),
                max_bytes: self.import_max_bytes,
                idle_timeout: Duration::from_secs(self.import_idle_timeout),
                min_bytes_per_second: self.import_min_bytes_per_second,
            },
            cache_bytes: self.cache_mib.saturating_mul(1024 * 1024),
            write_batch: usize_setting(self.write_batch),
            stream_subscribers: usize::try_from(self.stream_subscribers).unwrap_or(usize::MAX),
            send_timeout: Duration::from_secs(self.send_timeout),
            stream_lifetime: Duration::from_secs(self.stream_lifetime),
        }
    }

    /// How long a statement may run: the setting, or nine tenths of the request
    /// timeout, so that a statement running long is stopped just before its request
    /// would be, and the client hears what to narrow rather than a bare timeout.
    pub fn statement_timeout(&self) -> Duration {
        match self.statement_timeout {
            Some(seconds) => Duration::from_secs(seconds.max(1)),
            None => Duration::from_secs(self.request_timeout.max(1)) * 9 / 10,
        }
    }
}

/// A count setting as a `usize`, saturating on 32-bit targets.
fn usize_setting(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
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
        #[arg(long, value_parser = one_of(Scope::ALL, Scope::as_str, |_| None))]
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
    /// NDJSON file, one record per line; `-` reads standard input.
    pub file: PathBuf,
    /// What each line holds: a meeting document, or a person with their roles.
    #[arg(long = "type", value_parser = one_of(Collection::ALL, Collection::as_str, collection_help), default_value_t = Collection::Meetings)]
    pub collection: Collection,
    /// `insert` refuses documents whose identifier is stored; `upsert` replaces them.
    #[arg(long, value_parser = one_of(Mode::ALL, Mode::as_str, mode_help), default_value_t = Mode::Insert)]
    pub mode: Mode,
}

/// What `--help` says of each collection.
fn collection_help(collection: Collection) -> Option<&'static str> {
    Some(match collection {
        Collection::Meetings => "Meeting documents, as POST /v1/meetings takes them",
        Collection::People => "People with their roles, in the shape of the pocom data set",
    })
}

/// What `--help` says of each import mode.
fn mode_help(mode: Mode) -> Option<&'static str> {
    Some(match mode {
        Mode::Insert => "Refuse it: the line fails with a conflict",
        Mode::Upsert => "Replace the stored meeting, unless nothing changed",
    })
}

/// A flag whose value is a word of one of the domain's vocabularies, read into the
/// domain's enum: the words come from the vocabulary, the help for each from `help`.
fn one_of<T>(
    words: &'static [T],
    word: fn(T) -> &'static str,
    help: fn(T) -> Option<&'static str>,
) -> impl TypedValueParser<Value = T>
where
    T: Copy + Send + Sync + 'static,
{
    let values = words
        .iter()
        .map(|&value| PossibleValue::new(word(value)).help(help(value)));
    PossibleValuesParser::new(values).map(move |given| {
        *words
            .iter()
            .find(|&&value| word(value) == given)
            .expect("a possible value is a word of the vocabulary")
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        let args = std::iter::once("chancery").chain(args.iter().copied());
        Cli::try_parse_from(args).map(|cli| cli.command.expect("a subcommand"))
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn scopes_and_modes_are_read_as_their_words() {
        for &scope in Scope::ALL {
            let args = ["keys", "create", "--scope", scope.as_str(), "--name", "n"];
            let Ok(Command::Keys(KeysCommand::Create { scope: read, .. })) = parse(&args) else {
                panic!("{args:?}");
            };
            assert_eq!(read, scope);
        }
        for &mode in Mode::ALL {
            let Ok(Command::Import(args)) = parse(&["import", "--mode", mode.as_str(), "-"]) else {
                panic!("{mode}");
            };
            assert_eq!(args.mode, mode);
        }
        let Ok(Command::Import(args)) = parse(&["import", "-"]) else {
            panic!("no import");
        };
        assert_eq!(args.mode, Mode::Insert);
        assert_eq!(args.collection, Collection::Meetings);
        let Ok(Command::Import(args)) = parse(&["import", "--type", "people", "-"]) else {
            panic!("no people import");
        };
        assert_eq!(args.collection, Collection::People);
        for args in [
            &["keys", "create", "--scope", "Read", "--name", "n"][..],
            &["import", "--mode", "INSERT", "-"],
        ] {
            let error = parse(args).expect_err("refused");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::InvalidValue,
                "{args:?}"
            );
        }
    }
}
