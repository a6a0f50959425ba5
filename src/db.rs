//! Finding, starting and migrating the database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres};

use crate::settings::DatabaseArgs;

/// The schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The database name used when none is configured.
pub const DEFAULT_DATABASE: &str = "chancery";

const NO_POSTGRES: &str = "no PostgreSQL found: nothing answers on 127.0.0.1:5432 and no PostgreSQL \
binaries (initdb, pg_ctl) are installed. Either set DATABASE_URL to a server you have, install \
PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql`) and run \
again, or start one with `docker compose up -d db`.";

/// Connection options for the configured database, or the embedded default: the local
/// server, else a private cluster under the data directory.
pub async fn locate(args: &DatabaseArgs) -> anyhow::Result<PgConnectOptions> {
    if let Some(url) = &args.database_url {
        return PgConnectOptions::from_str(url)
            .context("DATABASE_URL is not a valid PostgreSQL URL");
    }
    let local = PgConnectOptions::new()
        .host(&std::env::var("PGHOST").unwrap_or_else(|_| "127.0.0.1".into()))
        .port(
            std::env::var("PGPORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(5432),
        )
        .username(&std::env::var("PGUSER").unwrap_or_else(|_| "postgres".into()))
        .database(DEFAULT_DATABASE);
    match server_answers(&local).await {
        Ok(()) => return Ok(local),
        Err(error) if !is_unreachable(&error) => {
            bail!(
                "the PostgreSQL server on 127.0.0.1:5432 refused us ({error}); set DATABASE_URL to a server and user you may use"
            )
        }
        Err(_) => {}
    }
    let data_dir = args.data_dir.clone().unwrap_or_else(default_data_dir);
    private_cluster(&data_dir).await
}

/// How long a request waits for a database connection before it is answered 503.
/// While the server is down every request waits this long, so it is short; sqlx
/// retries refused connections within it, so a restart shorter than this goes unseen.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Statements running longer than this are logged at WARN, by default.
pub const SLOW_STATEMENT: Duration = Duration::from_millis(500);

/// Connects, creating the database when it does not exist yet. Statements slower than
/// `slow` are logged.
pub async fn connect(
    options: &PgConnectOptions,
    pool_size: u32,
    slow: Duration,
) -> anyhow::Result<PgPool> {
    let options = options
        .clone()
        .options([("TimeZone", "UTC")])
        .log_slow_statements(tracing::log::LevelFilter::Warn, slow);
    let url = options.to_url_lossy().to_string();
    if !Postgres::database_exists(&url).await.unwrap_or(true) {
        Postgres::create_database(&url)
            .await
            .context("creating the database")?;
    }
    PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // A connection left idle across a database restart is dead; a ping finds out
        // before a request uses it, and the pool opens a fresh one instead.
        .test_before_acquire(true)
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to {}", describe(&url)))
}

/// A pool to a streaming replica for reads. Lazy, and quick to give up: while the
/// replica is down the service still starts and reads fall back to the primary. A
/// replica is a copy of the primary, so it is never created or migrated here.
pub fn connect_replica(
    url: &str,
    pool_size: u32,
    slow: Duration,
    statement_timeout: Duration,
) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .map(|options| with_statement_timeout(options, statement_timeout))
        .context("DATABASE_READ_URL is not a valid PostgreSQL URL")?
        .options([("TimeZone", "UTC")])
        .log_slow_statements(tracing::log::LevelFilter::Warn, slow);
    Ok(PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy_with(options))
}

/// Applies pending migrations. sqlx holds an advisory lock meanwhile, so several
/// instances starting together migrate once.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    // A migration may rebuild an index over every meeting: the statement timeout the
    // service's connections carry is for requests, not for this.
    let mut conn = pool.acquire().await.context("applying migrations")?;
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut *conn)
        .await?;
    MIGRATOR
        .run(&mut *conn)
        .await
        .context("applying migrations")?;
    sqlx::query("RESET statement_timeout")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The options with PostgreSQL told to cancel any statement of theirs that runs longer
/// than `timeout`, and to end a session left idle inside a transaction for as long: a
/// request that was answered 503 at its timeout then stops working in the database
/// too, and its connection returns to the pool, instead of running on for minutes.
pub fn with_statement_timeout(options: PgConnectOptions, timeout: Duration) -> PgConnectOptions {
    let millis = timeout.as_millis().to_string();
    options.options([
        ("statement_timeout", millis.as_str()),
        ("idle_in_transaction_session_timeout", millis.as_str()),
    ])
}

/// The URL without its password, for messages.
fn describe(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "the database".into(),
    }
}

async fn server_answers(options: &PgConnectOptions) -> Result<(), sqlx::Error> {
    // Ask the maintenance database: ours may not exist yet.
    let probe = options.clone().database("postgres");
    let connect = probe.connect();
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(connection) => connection.map(drop),
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

fn is_unreachable(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut)
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `$CHANCERY_DATA_DIR`, else the user's data directory; root's cluster lives under
/// /var/lib because PostgreSQL refuses to run as root and cannot enter /root.
fn default_data_dir() -> PathBuf {
    if running_as_root() {
        return PathBuf::from("/var/lib/chancery");
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("chancery")
}

/// The directory holding initdb and pg_ctl, if PostgreSQL is installed.
pub fn postgres_binaries() -> Option<PathBuf> {
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root.
fn run_tool(bin: &Path, tool: &str, args: &[&str]) -> anyhow::Result<()> {
    let program = bin.join(tool);
    let mut command = if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(&program);
        command
    } else {
        Command::new(&program)
    };
    let output = command
        .args(args)
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Starts (creating first if need be) a cluster that listens only on a Unix socket in
/// its own directory, so it never collides with another server's port.
async fn private_cluster(data_dir: &Path) -> anyhow::Result<PgConnectOptions> {
    let Some(bin) = postgres_binaries() else {
        bail!(NO_POSTGRES)
    };
    let cluster = data_dir.join("postgres");
    let cluster = std::path::absolute(&cluster).unwrap_or(cluster);
    let options = PgConnectOptions::new()
        .socket(&cluster)
        .port(5432)
        .username("postgres")
        .database(DEFAULT_DATABASE);
    if server_answers(&options).await.is_ok() {
        return Ok(options);
    }
    let cluster_text = cluster.to_string_lossy().into_owned();
    if !cluster.join("PG_VERSION").exists() {
        tracing::info!(cluster = %cluster.display(), "creating a private PostgreSQL cluster");
        std::fs::create_dir_all(&cluster)
            .with_context(|| format!("creating {}", cluster.display()))?;
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres", &cluster_text])
                .status()?;
            if !status.success() {
                bail!("could not hand {} to the postgres user", cluster.display());
            }
        }
        run_tool(
            &bin,
            "initdb",
            &[
                "-D",
                &cluster_text,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
    }
    tracing::info!(cluster = %cluster.display(), "starting the private PostgreSQL cluster");
    let server_options =
        format!("-c listen_addresses='' -c unix_socket_directories='{cluster_text}' -p 5432");
    let log = cluster.join("server.log").to_string_lossy().into_owned();
    run_tool(
        &bin,
        "pg_ctl",
        &[
            "-D",
            &cluster_text,
            "-l",
            &log,
            "-o",
            &server_options,
            "-w",
            "start",
        ],
    )?;
    server_answers(&options)
        .await
        .context("the private PostgreSQL cluster started but does not answer")?;
    Ok(options)
}
