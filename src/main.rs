//! The `chancery` binary: settings → telemetry → database → migrate → serve.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use chancery::access;
use chancery::settings::{Cli, Command, DatabaseArgs, KeysCommand, LogFormat, ServeArgs};
use chancery::{AppState, corpus, db, import, seed};

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

async fn database(args: &DatabaseArgs) -> anyhow::Result<PgPool> {
    let options = db::locate(args).await?;
    let pool = db::connect(&options, args.pool_size, args.slow_statement()).await?;
    db::migrate(&pool).await?;
    Ok(pool)
}

async fn run(command: Command, database_args: &DatabaseArgs) -> anyhow::Result<()> {
    let pool = database(database_args).await?;
    match command {
        Command::Serve(args) => serve(pool, args, database_args).await,
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Keys(KeysCommand::Create { scope, name }) => {
            let key = access::create_key(&pool, &name, scope).await?;
            println!(
                "created {} key {} ({name}); it is shown only once:",
                scope.as_str(),
                key.id
            );
            println!("{}", key.token);
            Ok(())
        }
        Command::Keys(KeysCommand::List) => {
            for key in access::list_keys(&pool).await? {
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
            if access::revoke_key(&pool, id).await? {
                println!("revoked {id}");
                Ok(())
            } else {
                anyhow::bail!("no live key {id}")
            }
        }
        Command::Import(args) => {
            let totals = import::import_file(&pool, &args.file, args.mode, |result| {
                if let import::LineResult::Failed { line, error } = result {
                    eprintln!("line {line}: {error}");
                }
            })
            .await?;
            println!(
                "{} lines: {} created, {} updated, {} unchanged, {} failed",
                totals.lines, totals.created, totals.updated, totals.unchanged, totals.failed
            );
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
                "{} meetings, {} participants, {} statements, {} agreements, {} people: \
                 loaded in {:.1} s, vacuumed and analyzed in {:.1} s",
                totals.meetings,
                totals.participants,
                totals.statements,
                totals.agreements,
                totals.people,
                totals.loading.as_secs_f64(),
                totals.analyzing.as_secs_f64()
            );
            Ok(())
        }
    }
}

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
        )?);
        tracing::info!("reads go to the replica at DATABASE_READ_URL while it answers");
    }
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, "chancery is serving");
    tokio::spawn(sweep_idempotency_keys(pool.clone()));
    axum::serve(
        listener,
        chancery::app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Deletes expired idempotency keys every quarter of an hour.
async fn sweep_idempotency_keys(pool: PgPool) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(15 * 60));
    loop {
        every.tick().await;
        match chancery::idempotency::sweep(&pool).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "deleted expired idempotency keys"),
            Err(error) => tracing::warn!(%error, "could not delete expired idempotency keys"),
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
