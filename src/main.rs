//! The `chancery` binary: settings → telemetry → database → migrate → serve.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use chancery::AppState;
use chancery::api::import;
use chancery::http::server;
use chancery::store::db;
use chancery::store::keys;
use chancery::store::seed;
use chancery_corpus as corpus;

/// jemalloc: its arenas give back what a server that caches many answers of many sizes
/// frees, where glibc's per-thread arenas hold on to it.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
use cli::{Cli, Command, DatabaseArgs, KeysCommand, LogFormat, ServeArgs};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()));
    let format = match &command {
        Command::Serve(args) => args.log_format,
        _ => LogFormat::Text,
    };
    telemetry(format);
    match run(command, &cli.database).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chancery: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn telemetry(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The database, migrated. The service's connections carry its statement timeout; the
/// other commands (import, generate, keys) run as long as they need.
async fn database(args: &DatabaseArgs, command: &Command) -> anyhow::Result<PgPool> {
    let mut options =
        chancery_cluster::locate(args.database_url.as_deref(), args.data_dir.as_deref()).await?;
    if let Command::Serve(serve) = command {
        options = db::with_statement_timeout(options, serve.statement_timeout());
    }
    let pool = db::connect(&options, args.pool_size, args.slow_statement()).await?;
    db::migrate(&pool).await?;
    Ok(pool)
}

async fn run(command: Command, database_args: &DatabaseArgs) -> anyhow::Result<()> {
    let pool = database(database_args, &command).await?;
    match command {
        Command::Serve(args) => serve(pool, args, database_args).await,
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Keys(KeysCommand::Create { scope, name }) => {
            let key = keys::create_key(&pool, &name, scope).await?;
            println!(
                "created {} key {} ({name}); it is shown only once:",
                scope.as_str(),
                key.id
            );
            println!("{}", key.token);
            Ok(())
        }
        Command::Keys(KeysCommand::List) => {
            for key in keys::list_keys(&pool).await? {
                let state = key
                    .revoked_at
                    .map_or("live".to_owned(), |at| format!("revoked {at}"));
                println!(
                    "{}  {:<5}  {}  created {}  {state}",
                    key.id, key.scope, key.name, key.created_at
                );
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Revoke { id }) => {
            if keys::revoke_key(&pool, id).await? {
                println!("revoked {id}");
                Ok(())
            } else {
                anyhow::bail!("no live key {id}")
            }
        }
        Command::Import(args) => {
            let report =
                import::import_file(&pool, &args.file, args.collection, args.mode, |result| {
                    if let import::LineResult::Failed { line, error } = result {
                        eprintln!("line {line}: {error}");
                    }
                })
                .await?;
            let totals = &report.totals;
            println!(
                "{} lines: {} created, {} updated, {} unchanged, {} failed",
                totals.lines, totals.created, totals.updated, totals.unchanged, totals.failed
            );
            if let Some(stopped) = &report.stopped {
                anyhow::bail!("stopped at line {}: {}", stopped.line, stopped.reason);
            }
            if totals.failed > 0 {
                anyhow::bail!("{} lines failed", totals.failed);
            }
            Ok(())
        }
        Command::Generate(args) => {
            let plan = corpus::Plan {
                meetings: args.meetings,
                seed: args.seed,
                jobs: args.jobs,
            };
            let totals = corpus::generate(&pool, plan).await?;
            println!(
                "{} meetings, {} participants, {} statements, {} agreements, {} people, {} roles: \
                 loaded in {:.1} s, vacuumed and analyzed in {:.1} s",
                totals.meetings,
                totals.participants,
                totals.statements,
                totals.agreements,
                totals.people,
                totals.roles,
                totals.loading.as_secs_f64(),
                totals.analyzing.as_secs_f64()
            );
            Ok(())
        }
    }
}

/// Serves the API until SIGTERM or Ctrl-C, with bounded connections (see
/// `chancery::http::server`), then lets requests in flight finish.
async fn serve(pool: PgPool, args: ServeArgs, database: &DatabaseArgs) -> anyhow::Result<()> {
    if args.seed && seed::load_if_empty(&pool).await? {
        tracing::info!("loaded the sample meeting into the empty database");
    }
    let mut state = AppState::new(pool.clone(), args.settings());
    if let Some(url) = &database.database_read_url {
        state = state.with_replica(db::connect_replica(
            url,
            database.pool_size,
            database.slow_statement(),
            args.statement_timeout(),
        )?);
        tracing::info!("reads go to the replica at DATABASE_READ_URL while it answers");
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let limits = connection_limits(&args, database);
    tracing::info!(
        address = %listener.local_addr()?,
        max_connections = limits.max_connections,
        header_read_timeout_s = args.header_read_timeout,
        idle_timeout_s = args.idle_timeout,
        "chancery is serving"
    );
    tokio::spawn(sweep_idempotency_keys(pool.clone()));
    tokio::spawn(compact_meeting_counts(pool.clone()));
    let live = std::sync::Arc::clone(&state.live);
    let shutdown = async move {
        shutdown_signal().await;
        // Streams never end by themselves; they must for the requests in flight to.
        live.close();
    };
    server::serve(listener, chancery::app(state), limits, shutdown).await;
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The connection bounds from the settings, with the cap lowered to fit the
/// open-file limit (raised to its hard limit first) after the database pools and
/// the process's other descriptors are set aside.
fn connection_limits(args: &ServeArgs, database: &DatabaseArgs) -> server::ConnectionLimits {
    let open_file_limit = server::raise_open_file_limit();
    let pools: u64 = if database.database_read_url.is_some() {
        2
    } else {
        1
    };
    let reserved = server::RESERVED_DESCRIPTORS + u64::from(database.pool_size) * pools;
    let max_connections = server::connection_cap(args.max_connections, open_file_limit, reserved);
    if (max_connections as u64) < args.max_connections {
        tracing::warn!(
            requested = args.max_connections,
            max_connections,
            open_file_limit,
            "CHANCERY_MAX_CONNECTIONS lowered to fit the open-file limit"
        );
    }
    server::ConnectionLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections,
        send_timeout: Duration::from_secs(args.send_timeout),
    }
}

/// Deletes expired idempotency keys every quarter of an hour.
async fn sweep_idempotency_keys(pool: PgPool) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(15 * 60));
    loop {
        every.tick().await;
        match chancery::store::idempotency::sweep(&pool).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted expired idempotency keys"),
            Err(error) => tracing::warn!(%error, "could not delete expired idempotency keys"),
        }
    }
}

/// Folds the kept meeting counts every minute, so that a count reads few rows however
/// many meetings were written since.
async fn compact_meeting_counts(pool: PgPool) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every.tick().await;
        if let Err(error) = chancery::store::stats::compact(&pool).await {
            tracing::warn!(%error, "could not fold the kept meeting counts");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
