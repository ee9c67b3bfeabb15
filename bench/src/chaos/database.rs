//! The chaos run's PostgreSQL: a primary and a synchronous streaming replica from the machine's
//! binaries, on two fixed loopback ports that swap roles at each failover. Each server is run as the
//! `postgres` account when the bench runs as root (PostgreSQL refuses root).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::Connection;
use tokio::process::Command;

use crate::target::free_port;

/// One of the two servers: its data directory's name and its port.
#[derive(Clone, Copy, Debug)]
pub struct Server {
    pub name: &'static str,
    pub port: u16,
}

pub struct Pair {
    dir: PathBuf,
    bin: PathBuf,
    pub primary: Server,
    pub replica: Server,
}

impl Pair {
    /// Creates the primary (with a `cyberhub` database) and a replica streamed from it, in `dir`.
    /// Every commit waits until the replica has it (`synchronous_standby_names = '*'`, written with
    /// ALTER SYSTEM so a base backup carries it to whichever server is promoted later).
    pub async fn start(dir: &Path, bin: PathBuf) -> anyhow::Result<Pair> {
        if is_root() {
            run("chown", &["postgres:", path(dir)]).await?;
        }
        let pair = Pair {
            dir: dir.to_owned(),
            bin,
            primary: Server {
                name: "a",
                port: free_port()?,
            },
            replica: Server {
                name: "b",
                port: free_port()?,
            },
        };
        let data = pair.data(pair.primary);
        pair.as_owner(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "-E", "UTF8"],
        )
        .await?;
        pair.pg_ctl(pair.primary, "start").await?;
        let mut admin =
            sqlx::PgConnection::connect(&pair.url(pair.primary.port, "postgres")).await?;
        // One statement each: several in one string run as one transaction, which CREATE DATABASE
        // and ALTER SYSTEM refuse.
        for statement in [
            "CREATE DATABASE cyberhub",
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
            "SELECT pg_reload_conf()",
        ] {
            sqlx::raw_sql(statement).execute(&mut admin).await?;
        }
        admin.close().await?;
        pair.build_replica().await?;
        pair.wait_streaming().await?;
        Ok(pair)
    }

    pub fn url(&self, port: u16, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{database}")
    }

    /// The primary's `cyberhub` database.
    pub fn primary_url(&self) -> String {
        self.url(self.primary.port, "cyberhub")
    }

    /// The primary dies (`-m immediate`, as kill -9 of the postmaster), the replica is promoted, and
    /// the dead server's directory is rebuilt as a replica of the new primary on the same port.
    pub async fn fail_over(&mut self) -> anyhow::Result<()> {
        self.pg_ctl(self.primary, "stop").await?;
        self.pg_ctl(self.replica, "promote").await?;
        std::mem::swap(&mut self.primary, &mut self.replica);
        self.build_replica().await?;
        self.wait_streaming().await
    }

    /// The primary crashes and starts again on its own data (no failover).
    pub async fn restart_primary(&self) -> anyhow::Result<()> {
        self.pg_ctl(self.primary, "stop").await?;
        self.pg_ctl(self.primary, "start").await?;
        self.wait_streaming().await
    }

    /// Waits until the replica streams from the primary as its synchronous standby.
    pub async fn wait_streaming(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut conn) =
                sqlx::PgConnection::connect(&self.url(self.primary.port, "postgres")).await
            {
                let sync: Option<(String,)> = sqlx::query_as(
                    "SELECT sync_state FROM pg_stat_replication WHERE state = 'streaming'",
                )
                .fetch_optional(&mut conn)
                .await
                .unwrap_or(None);
                let _ = conn.close().await;
                if sync.is_some_and(|(s,)| s == "sync") {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the replica did not stream from the primary within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A fresh base backup of the primary in the replica's directory, started as its standby.
    async fn build_replica(&self) -> anyhow::Result<()> {
        let data = self.data(self.replica);
        if Path::new(&data).exists() {
            std::fs::remove_dir_all(&data).with_context(|| format!("removing {data}"))?;
        }
        let port = self.primary.port.to_string();
        self.as_owner(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
                // At once: the default spreads the checkpoint over minutes, and a new primary
                // waiting for its synchronous standby commits nothing meanwhile.
                "--checkpoint=fast",
            ],
        )
        .await?;
        self.pg_ctl(self.replica, "start").await
    }

    fn data(&self, server: Server) -> String {
        format!("{}/{}", path(&self.dir), server.name)
    }

    /// `pg_ctl ACTION` on one server. fsync is off: the faults here are processes dying, not the
    /// machine, and the page cache outlives a process.
    async fn pg_ctl(&self, server: Server, action: &str) -> anyhow::Result<()> {
        let settings = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c wal_level=replica \
             -c max_wal_senders=5 -c hot_standby=on -c fsync=off -c max_connections=200",
            server.port,
            path(&self.dir)
        );
        let log = format!("{}.log", self.data(server));
        let data = self.data(server);
        self.as_owner(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "-m",
                "immediate",
                "-o",
                &settings,
                action,
            ],
        )
        .await
    }

    fn owner_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    async fn as_owner(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = self.owner_command(program).args(args).output().await?;
        if !out.status.success() {
            bail!(
                "{program} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for Pair {
    /// Stops both servers, however the run ended (pg_ctl leaves them running on their own).
    fn drop(&mut self) {
        for server in [self.primary, self.replica] {
            let mut command = self.owner_command("pg_ctl").into_std();
            let _ = command
                .args(["-D", &self.data(server), "-m", "immediate", "stop"])
                .output();
        }
    }
}

/// The directory of PostgreSQL's binaries: `pg_ctl` on PATH through its symlinks, else Debian's
/// versioned directory.
pub fn find_binaries() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("pg_ctl"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| p.parent().map(Path::to_owned))
    {
        return Ok(dir);
    }
    let mut found = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("pg_ctl").is_file())
        .collect::<Vec<_>>();
    found.sort();
    found.pop().context(
        "PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) not found: \
         apt-get install postgresql, or pass --pg-bin",
    )
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

async fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(program).args(args).status().await?;
    if !status.success() {
        bail!("{program} {args:?} failed");
    }
    Ok(())
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}
