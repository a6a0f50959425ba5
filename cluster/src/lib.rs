//! Finding a PostgreSQL server for Chancery: the configured URL, else the local server
//! on 127.0.0.1:5432, else a private cluster started under a data directory with the
//! machine's own `initdb` and `pg_ctl`. The binary (`cargo run` with no setup) and the
//! tests use it; the service never runs a program.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

/// The database name used when none is configured.
pub const DEFAULT_DATABASE: &str = "chancery";

const NO_POSTGRES: &str = "no PostgreSQL found: nothing answers on 127.0.0.1:5432 and no PostgreSQL \
binaries (initdb, pg_ctl) are installed. Either set DATABASE_URL to a server you have, install \
PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql`) and run \
again, or start one with `docker compose up -d db`.";

/// Connection options for the configured database, or the embedded default: the local
/// server, else a private cluster under the data directory.
pub async fn locate(
    database_url: Option<&str>,
    data_dir: Option<&Path>,
) -> anyhow::Result<PgConnectOptions> {
    if let Some(url) = database_url {
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
    let data_dir = data_dir.map_or_else(default_data_dir, Path::to_path_buf);
    private_cluster(&data_dir).await
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

/// Runs a PostgreSQL tool from `bin`, as the `postgres` user when we are root (the
/// server refuses to run as root); its output in the error when it fails.
pub fn run_tool(bin: &Path, tool: &str, args: &[&str]) -> anyhow::Result<()> {
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

/// Creates an empty cluster in `data_dir`: UTF-8, trusting local connections, with
/// `postgres` as its superuser.
pub fn initdb(bin: &Path, data_dir: &str) -> anyhow::Result<()> {
    run_tool(
        bin,
        "initdb",
        &[
            "-D",
            data_dir,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )
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
        initdb(&bin, &cluster_text)?;
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
