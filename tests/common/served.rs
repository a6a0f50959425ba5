//! The real binary: `chancery serve` on its own fresh database, for tests that need a
//! real process (timeouts, connection limits, broken bodies, memory).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;

use super::{drop_database, empty_database, free_port};

/// A `GET /health` that asks the server to close the connection after answering.
pub const HEALTH_THEN_CLOSE: &str = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// A running `chancery serve` on its own fresh database; killed when dropped.
pub struct Served {
    child: Child,
    pub port: u16,
    log: PathBuf,
    pub admin: PgConnectOptions,
    pub database: String,
}

impl Served {
    /// Starts the binary with `settings` as extra environment, under an open-file
    /// limit of `open_files` when given (soft and hard, so it cannot be raised), and
    /// waits until it answers `/health`.
    pub async fn start(settings: &[(&str, &str)], open_files: Option<u64>) -> Served {
        let (admin, database) = empty_database("chancery_served").await;
        Self::start_on(admin, database, settings, open_files)
    }

    /// Another instance on `first`'s database, as a second replica of the service
    /// would be. Stop it by dropping it: `stop` would remove the shared database.
    pub fn beside(first: &Served, settings: &[(&str, &str)]) -> Served {
        Self::start_on(first.admin.clone(), first.database.clone(), settings, None)
    }

    fn start_on(
        admin: PgConnectOptions,
        database: String,
        settings: &[(&str, &str)],
        open_files: Option<u64>,
    ) -> Served {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("chancery-served-{port}.log"));
        let mut command = match open_files {
            Some(limit) => {
                let mut shell = Command::new("sh");
                shell
                    .arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" serve"))
                    .arg(env!("CARGO_BIN_EXE_chancery"));
                shell
            }
            None => {
                let mut direct = Command::new(env!("CARGO_BIN_EXE_chancery"));
                direct.arg("serve");
                direct
            }
        };
        let url = admin.clone().database(&database).to_url_lossy().to_string();
        command
            .env("DATABASE_URL", url)
            .env("CHANCERY_LISTEN", format!("127.0.0.1:{port}"))
            .env("CHANCERY_SEED", "false")
            .env("RUST_LOG", "warn")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a log file for the server"));
        let mut served = Served {
            child: command.spawn().expect("starting chancery"),
            port,
            log,
            admin,
            database,
        };
        let started = Instant::now();
        while !served.answers_health(Duration::from_secs(2)) {
            assert!(served.alive(), "the server exited while starting");
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        served
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The server's database, for a test's own connection.
    pub fn database_options(&self) -> PgConnectOptions {
        self.admin.clone().database(&self.database)
    }

    /// Runs `chancery keys create` against the server's database; the key's secret.
    pub fn create_key(&self, scope: &str) -> String {
        let url = self.database_options().to_url_lossy().to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_chancery"))
            .args(["keys", "create", "--scope", scope, "--name", "test"])
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "error")
            .output()
            .expect("running chancery keys create");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .last()
            .expect("the key's secret")
            .to_owned()
    }

    /// A new connection to the server, whose reads give up after `patience`.
    pub fn connect(&self, patience: Duration) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connecting");
        stream
            .set_read_timeout(Some(patience))
            .expect("setting a read timeout");
        stream
    }

    /// Whether `/health` answers 200 on a new connection within `patience`.
    pub fn answers_health(&self, patience: Duration) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(patience));
        if stream.write_all(HEALTH_THEN_CLOSE.as_bytes()).is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer.starts_with(b"HTTP/1.1 200")
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id, to read its memory from /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server and removes its database and log.
    pub async fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop_database(&self.admin, &self.database).await;
    }
}

impl Drop for Served {
    /// Never leaves a server running, even when an assertion failed.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Sends a raw HTTP/1.1 exchange on a new connection and reads until the server closes
/// it or `patience` runs out; the answer as text.
pub fn exchange(port: u16, request: &[u8], patience: Duration) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting");
    stream.set_read_timeout(Some(patience)).unwrap();
    stream.write_all(request).expect("sending");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}
