//! Connecting to the database and migrating it. Finding one, or starting a private
//! cluster when none answers, is the binary's business: the `cluster/` crate.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres};

/// The schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

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
/// The latest migration applied.
pub async fn applied_migration(db: &PgPool) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(db)
        .await
}

/// Whether a replica has replayed the primary's WAL up to `lsn`.
pub async fn replayed_past(replica: &PgPool, lsn: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false)")
        .bind(lsn)
        .fetch_one(replica)
        .await
}

/// The primary's WAL position: every write committed so far lies before it.
pub async fn wal_position(primary: &PgPool) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await
}

/// Whether the server answers.
pub async fn ping(db: &PgPool) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(db).await.map(drop)
}
