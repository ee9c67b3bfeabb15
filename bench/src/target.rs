//! The servers under test, started as real processes: the `cyberhub` binary on a fresh SQLite file,
//! nginx with the Nchan module, and the floor (`floor.rs`). Memory and CPU come from `/proc`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cyberhub_protocol::Role;
use cyberhub_server::auth::{hash_password, token_hash};
use cyberhub_server::store::{Store, now_ms};
use tokio::process::{Child, Command};

const ADMIN_PASSWORD: &str = "bench-admin-password";
/// What `serve --demo` gives the admin.
const DEMO_ADMIN_PASSWORD: &str = "admin-demo-1";

/// A server the load clients can stream from and the bench can publish to.
/// The per-client limits lifted for the bench (the attack workloads set their own).
pub const LOAD_CLIENT_LIMITS: [(&str, &str); 9] = [
    ("CYBERHUB_MAX_CONNECTIONS_PER_IP", "0"),
    ("CYBERHUB_LOGIN_RATE_IP", "off"),
    ("CYBERHUB_LOGIN_RATE_USER", "off"),
    ("CYBERHUB_STREAM_RATE_IP", "off"),
    ("CYBERHUB_STREAM_RATE_USER", "off"),
    ("CYBERHUB_POLL_RATE_IP", "off"),
    ("CYBERHUB_POLL_RATE_USER", "off"),
    ("CYBERHUB_WRITE_RATE_USER", "off"),
    ("CYBERHUB_MAX_POLL_WAITERS", "100000"),
];

pub struct Target {
    pub kind: Kind,
    pub addr: SocketAddr,
    child: Option<Child>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

pub enum Kind {
    CyberHub {
        bin: PathBuf,
        db_url: String,
        admin_token: String,
        env: Vec<(String, String)>,
        /// `serve --demo` on a database the binary creates itself, with its abuse limits as they
        /// are (the attack workloads); otherwise a database the bench seeded, limits lifted.
        demo: bool,
    },
    Nchan {
        nginx: PathBuf,
    },
    /// This executable's `floor-server`.
    Floor {
        exe: PathBuf,
    },
}

/// A user the bench seeded, with a session token.
#[derive(Clone)]
pub struct BenchUser {
    pub token: String,
}

/// The PostgreSQL server the CyberHub targets run on (a fresh database each), when the bench was
/// given `--postgres`; else each gets a fresh SQLite file.
static POSTGRES: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Runs every later CyberHub target on a fresh database of this PostgreSQL server
/// (`postgres://user@host:port/postgres`).
pub fn use_postgres(server: String) {
    let _ = POSTGRES.set(server);
}

/// A fresh database for one target: a SQLite file in `dir`, or a new database on the PostgreSQL
/// server of `--postgres`.
async fn fresh_database(dir: &Path) -> anyhow::Result<String> {
    let Some(server) = POSTGRES.get() else {
        return Ok(format!("sqlite://{}", dir.join("bench.db").display()));
    };
    use sqlx::Connection;
    let name = format!("cyberhub_bench_{:016x}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(server).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let (base, _) = server
        .rsplit_once('/')
        .context("--postgres must end in /DATABASE")?;
    Ok(format!("{base}/{name}"))
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Target {
    /// Starts `cyberhub` on a fresh database with `users` members (each with a balance and a session)
    /// and one case costing 1 kopeck.
    pub async fn cyberhub(
        bin: &Path,
        users: usize,
        env: &[(&str, &str)],
    ) -> anyhow::Result<(Target, Vec<BenchUser>, i64)> {
        let dir = tempfile::tempdir()?;
        let db_url = fresh_database(dir.path()).await?;
        let store = Store::open(&db_url).await?;
        // One argon2 hash for everyone: hashing ten thousand passwords would take minutes.
        let hash = hash_password(ADMIN_PASSWORD)?;
        store.create_user("admin", &hash, Role::Admin).await?;
        let mut seeded = Vec::with_capacity(users);
        for i in 0..users {
            let user = store
                .create_user(&format!("user{i}"), &hash, Role::User)
                .await?;
            let token = format!("bench-token-{i}-{}", rand::random::<u64>());
            store
                .create_session(&token_hash(&token), user.id, now_ms() + 86_400_000)
                .await?;
            store
                .adjust_balance(user.id, 100_000_000, "bench funds")
                .await?;
            seeded.push(BenchUser { token });
        }
        let case = store
            .create_case(&serde_json::from_value(serde_json::json!({
                "name": "Bench case", "price": 1, "image_url": "",
                "items": [{"name": "Token", "rarity": "common", "value": 0, "weight": 1}]
            }))?)
            .await?;
        store.close().await;
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let kind = Kind::CyberHub {
            bin: bin.to_owned(),
            db_url,
            admin_token: String::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            demo: false,
        };
        let mut target = Target::start_new(kind, addr, dir).await?;
        target.sign_in_admin(ADMIN_PASSWORD).await?;
        Ok((target, seeded, case.id))
    }

    /// Starts `cyberhub serve --demo` on a database the binary creates and seeds itself (so any
    /// version of it can be measured, whatever its migrations), with its own limits as configured.
    pub async fn cyberhub_demo(bin: &Path, env: &[(&str, &str)]) -> anyhow::Result<Target> {
        let dir = tempfile::tempdir()?;
        let db_url = format!("sqlite://{}", dir.path().join("demo.db").display());
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let kind = Kind::CyberHub {
            bin: bin.to_owned(),
            db_url,
            admin_token: String::new(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            demo: true,
        };
        let mut target = Target::start_new(kind, addr, dir).await?;
        target.sign_in_admin(DEMO_ADMIN_PASSWORD).await?;
        Ok(target)
    }

    async fn sign_in_admin(&mut self, password: &str) -> anyhow::Result<()> {
        let res: serde_json::Value = self
            .http
            .post(format!("http://{}/v1/auth/login", self.addr))
            .json(&serde_json::json!({"username": "admin", "password": password}))
            .send()
            .await?
            .json()
            .await?;
        let token = res["token"].as_str().context("admin login")?.to_owned();
        if let Kind::CyberHub { admin_token, .. } = &mut self.kind {
            *admin_token = token;
        }
        Ok(())
    }

    /// The admin's bearer token (CyberHub only).
    pub fn admin_token(&self) -> Option<&str> {
        match &self.kind {
            Kind::CyberHub { admin_token, .. } => Some(admin_token),
            Kind::Nchan { .. } | Kind::Floor { .. } => None,
        }
    }

    /// Starts nginx with Nchan as an SSE pub/sub hub on a loopback port.
    pub async fn nchan(nginx: &Path) -> anyhow::Result<Target> {
        let dir = tempfile::tempdir()?;
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let conf = include_str!("../nchan/nginx.conf")
            .replace("{PREFIX}", &dir.path().display().to_string())
            .replace("{LISTEN}", &addr.to_string());
        std::fs::create_dir_all(dir.path().join("logs"))?;
        std::fs::write(dir.path().join("nginx.conf"), conf)?;
        Target::start_new(
            Kind::Nchan {
                nginx: nginx.to_owned(),
            },
            addr,
            dir,
        )
        .await
    }

    /// Starts the floor server on a loopback port.
    pub async fn floor() -> anyhow::Result<Target> {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let exe = std::env::current_exe()?;
        Target::start_new(Kind::Floor { exe }, addr, tempfile::tempdir()?).await
    }

    /// Starts a server of `kind` on `addr`, with `dir` as its working directory for its life.
    async fn start_new(
        kind: Kind,
        addr: SocketAddr,
        dir: tempfile::TempDir,
    ) -> anyhow::Result<Target> {
        let mut target = Target {
            kind,
            addr,
            child: None,
            http: reqwest::Client::new(),
            dir: dir.path().to_owned(),
            _dir: dir,
        };
        target.start().await?;
        Ok(target)
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::CyberHub { .. } => "cyberhub",
            Kind::Nchan { .. } => "nchan",
            Kind::Floor { .. } => "floor",
        }
    }

    /// The SSE path an anonymous client streams from.
    pub fn sse_path(&self) -> &'static str {
        match self.kind {
            Kind::CyberHub { .. } => "/v1/events",
            Kind::Nchan { .. } | Kind::Floor { .. } => "/sub",
        }
    }

    async fn start(&mut self) -> anyhow::Result<()> {
        let child = match &self.kind {
            Kind::CyberHub {
                bin,
                db_url,
                env,
                demo,
                ..
            } => Command::new(bin)
                .arg("serve")
                .args(demo.then_some("--demo"))
                // The demo members' play would add events the workloads do not count.
                .env("CYBERHUB_DEMO_ACTIVITY", "off")
                .env("CYBERHUB_LISTEN", self.addr.to_string())
                .env("DATABASE_URL", db_url)
                .env("RUST_LOG", "warn")
                // The load clients open thousands of streams from each of a few loopback
                // addresses: the per-client abuse limits would (rightly) refuse them.
                .envs(LOAD_CLIENT_LIMITS.iter().filter(|_| !demo).copied())
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()?,
            Kind::Nchan { nginx } => Command::new(nginx)
                .args([
                    "-p",
                    &self.dir.display().to_string(),
                    "-c",
                    &self.dir.join("nginx.conf").display().to_string(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()?,
            Kind::Floor { exe } => Command::new(exe)
                .args(["floor-server", "--listen", &self.addr.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()?,
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let probe = "/health";
        while Instant::now() < deadline {
            if let Ok(res) = self
                .http
                .get(format!("http://{}{probe}", self.addr))
                .send()
                .await
                && res.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{} did not come up on {}", self.name(), self.addr)
    }

    /// Stops the server: SIGTERM and wait, or SIGKILL.
    pub async fn stop(&mut self, kill: bool) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id().context("running")?;
        let signal = if kill { "-KILL" } else { "-TERM" };
        Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .await?;
        tokio::time::timeout(Duration::from_secs(30), child.wait()).await??;
        Ok(())
    }

    /// Stops (gracefully or not) and starts again on the same port and database.
    pub async fn restart(&mut self, kill: bool) -> anyhow::Result<()> {
        self.stop(kill).await?;
        self.start().await
    }

    /// Publishes one global event carrying `#seq#`.
    pub async fn publish(&self, seq: u32) -> anyhow::Result<()> {
        self.clone_client().publish(seq).await
    }

    /// Another `cyberhub` process on this target's database and settings, on a port of its own: a
    /// second node (PostgreSQL). Publishing through either reaches the streams of both.
    pub async fn another_node(&self) -> anyhow::Result<Target> {
        let Kind::CyberHub {
            bin,
            db_url,
            admin_token,
            env,
            demo,
        } = &self.kind
        else {
            bail!("only CyberHub has nodes");
        };
        let kind = Kind::CyberHub {
            bin: bin.clone(),
            db_url: db_url.clone(),
            admin_token: admin_token.clone(),
            env: env.clone(),
            demo: *demo,
        };
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        Target::start_new(kind, addr, tempfile::tempdir()?).await
    }

    /// Posts an announcement with this text (CyberHub).
    pub async fn announce(&self, text: &str) -> anyhow::Result<()> {
        let res = self
            .http
            .post(format!("http://{}/v1/admin/announcements", self.addr))
            .bearer_auth(self.admin_token().unwrap_or_default())
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("announcement failed: {}", res.status());
        }
        Ok(())
    }

    /// The open SSE streams `/health` counts (CyberHub), if it answers.
    pub async fn health_sse_clients(&self) -> Option<u64> {
        let res = self
            .http
            .get(format!("http://{}/health", self.addr))
            .send()
            .await
            .ok()?;
        res.json::<serde_json::Value>().await.ok()?["sse_clients"].as_u64()
    }

    /// A handle that publishes and opens cases, usable while the target restarts.
    pub fn clone_client(&self) -> Client {
        let admin_token = match &self.kind {
            Kind::CyberHub { admin_token, .. } => Some(admin_token.clone()),
            Kind::Nchan { .. } | Kind::Floor { .. } => None,
        };
        Client {
            http: self.http.clone(),
            addr: self.addr,
            admin_token,
        }
    }

    /// A value from `/metrics` (summed over labels); 0 when absent.
    pub async fn metric(&self, name: &str) -> f64 {
        let Ok(res) = self
            .http
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
        else {
            return 0.0;
        };
        let text = res.text().await.unwrap_or_default();
        text.lines()
            .filter(|l| {
                l.starts_with(name)
                    && (l.as_bytes().get(name.len()) == Some(&b' ')
                        || l.as_bytes().get(name.len()) == Some(&b'{'))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .fold(0.0, |sum, v| sum + v)
    }

    /// The server's processes: the one process, or nginx's master and workers.
    fn pids(&self) -> Vec<u32> {
        let Some(pid) = self.child.as_ref().and_then(|c| c.id()) else {
            return Vec::new();
        };
        let mut pids = vec![pid];
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
        pids
    }

    /// Resident memory of the server's processes, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.pids()
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<u64>()
                    .ok()
            })
            .sum()
    }

    /// CPU time used by the server's processes so far (user + system), in microseconds.
    pub fn cpu_us(&self) -> u64 {
        // Clock ticks are 100 per second on Linux.
        self.pids()
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            .filter_map(|stat| {
                let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
                Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
            })
            .sum::<u64>()
            * 10_000
    }
}
/// Publishes and opens cases over HTTP, independent of the server process's life.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    addr: SocketAddr,
    /// Set for CyberHub (announcements); `None` for Nchan and the floor (`POST /pub`).
    admin_token: Option<String>,
}

impl Client {
    /// Publishes one global event carrying `#seq#`.
    pub async fn publish(&self, seq: u32) -> anyhow::Result<()> {
        let res = match &self.admin_token {
            Some(token) => {
                self.http
                    .post(format!("http://{}/v1/admin/announcements", self.addr))
                    .bearer_auth(token)
                    .json(&serde_json::json!({"text": format!("#{seq}#")}))
                    .send()
                    .await?
            }
            None => {
                self.http
                    .post(format!("http://{}/pub", self.addr))
                    .body(format!("#{seq}#"))
                    .send()
                    .await?
            }
        };
        if !res.status().is_success() {
            bail!("publish {seq} failed: {}", res.status());
        }
        Ok(())
    }

    /// Opens a case for a user; returns whether it succeeded.
    pub async fn open_case(&self, token: &str, case_id: i64) -> anyhow::Result<bool> {
        let res = self
            .http
            .post(format!("http://{}/v1/cases/{case_id}/open", self.addr))
            .bearer_auth(token)
            .send()
            .await?;
        Ok(res.status().is_success())
    }
}
