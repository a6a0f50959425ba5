//! A private PostgreSQL server for a test that must stop, start or replicate one: its
//! own directory and port, run as the `postgres` user when the tests run as root (the
//! server refuses to run as root). Dropping it stops the server and removes its files,
//! whether the test passed or not, and shows the server's log if it failed.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{free_port, running_as_root};

/// A server of the test's own.
pub struct Cluster {
    bin: PathBuf,
    /// Holds the data directory `data`, the socket and `server.log`.
    pub dir: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// A new, empty cluster (not started) named after `purpose`.
    pub fn init(purpose: &str) -> Cluster {
        let cluster = Cluster::empty(purpose);
        chancery_cluster::initdb(&cluster.bin, &cluster.data()).unwrap();
        cluster
    }

    /// A streaming replica of `primary` (which must run with `wal_level=replica`), not
    /// started: `-R` makes it start as a hot standby following the primary's WAL.
    pub fn replica_of(primary: &Cluster, purpose: &str) -> Cluster {
        let replica = Cluster::empty(purpose);
        let primary_port = primary.port.to_string();
        replica.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary_port,
                "-U",
                "postgres",
                "-D",
                &replica.data(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        );
        replica
    }

    fn empty(purpose: &str) -> Cluster {
        let bin = chancery_cluster::postgres_binaries()
            .expect("PostgreSQL's programs (initdb, pg_ctl, pg_basebackup) for this test");
        let dir = std::env::temp_dir().join(format!(
            "chancery-{purpose}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "handing {} to postgres", dir.display());
        }
        Cluster {
            bin,
            dir,
            port: free_port(),
        }
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts the server on its port, with `extra` server options (`-c name=value`).
    pub fn start(&self, extra: &str) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='{}' -c fsync=off {extra}",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server: `fast` terminates sessions mid-transaction, as in a failover;
    /// `immediate` is a crash.
    pub fn stop(&self, mode: &str) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]);
    }

    /// Runs a PostgreSQL program, and panics with its output when it fails.
    fn run(&self, name: &str, args: &[&str]) {
        if let Err(error) = chancery_cluster::run_tool(&self.bin, name, args) {
            panic!("{name} {args:?}: {error:#}");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if Path::new(&self.data()).join("postmaster.pid").exists() {
            let data = self.data();
            let stop = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
            let _ = chancery_cluster::run_tool(&self.bin, "pg_ctl", &stop);
        }
        if std::thread::panicking()
            && let Ok(log) = std::fs::read_to_string(self.dir.join("server.log"))
        {
            eprintln!("--- PostgreSQL log ({}) ---\n{log}", self.dir.display());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
