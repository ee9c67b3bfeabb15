//! The `cyberhub` binary as a child process: `serve --demo` (without the demo members' play) on a
//! free loopback port, with extra flags per test; killed when dropped.
// Shared by several test binaries through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::database::TestDatabase;

pub struct Server {
    pub addr: SocketAddr,
    /// The database URL, for commands run beside the server.
    pub db: String,
    /// What the server was started with (after `cyberhub`), to start it again.
    argv: Vec<String>,
    /// Its `RUST_LOG`.
    level: String,
    /// Extra environment of the process.
    env: Vec<(String, String)>,
    /// Every line it printed (its log), across restarts.
    log: Arc<Mutex<Vec<String>>>,
    child: Child,
    pub database: TestDatabase,
}

impl Server {
    /// Starts `cyberhub serve --demo --demo-activity off` with `args` added; returns once it
    /// listens.
    pub async fn start(args: &[&str]) -> Server {
        Server::start_command(&["serve", "--demo", "--demo-activity", "off"], args).await
    }

    /// Starts `cyberhub COMMAND...` on a free loopback port and a fresh database, with `args`
    /// added; returns once it listens.
    pub async fn start_command(command: &[&str], args: &[&str]) -> Server {
        Server::start_logging(command, args, "info").await
    }

    /// Like [`Server::start_command`], logging at `level` (a `RUST_LOG` filter).
    pub async fn start_logging(command: &[&str], args: &[&str], level: &str) -> Server {
        let database = TestDatabase::create().await;
        Server::start_on(database, command, args, level)
    }

    /// Starts `cyberhub COMMAND... ARGS...` on `database`.
    pub fn start_on(
        database: TestDatabase,
        command: &[&str],
        args: &[&str],
        level: &str,
    ) -> Server {
        Server::start_with_env(database, command, args, level, &[])
    }

    /// Like [`Server::start_on`], with `env` added to the process's environment.
    pub fn start_with_env(
        database: TestDatabase,
        command: &[&str],
        args: &[&str],
        level: &str,
        env: &[(&str, &str)],
    ) -> Server {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut argv: Vec<String> = command.iter().map(|a| a.to_string()).collect();
        argv.extend(args.iter().map(|a| a.to_string()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (child, addr) = spawn(&argv, &database.url, level, &env, &log);
        Server {
            addr,
            db: database.url.clone(),
            argv,
            level: level.to_owned(),
            env,
            log,
            child,
            database,
        }
    }

    /// Everything the server printed so far (at `RUST_LOG`, default `info`).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Kills the process (SIGKILL: no graceful anything) and starts it again on the same
    /// database, with the same arguments, on a new port.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        self.restart();
    }

    /// Kills the process (SIGKILL) and waits for it to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the (killed) server again on the same database, with the same arguments, on a new
    /// port.
    pub fn restart(&mut self) {
        let (child, addr) = spawn(&self.argv, &self.db, &self.level, &self.env, &self.log);
        self.child = child;
        self.addr = addr;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The server's resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .unwrap()
            .trim()
            .trim_end_matches(" kB")
            .trim()
            .parse()
            .unwrap();
        kb * 1024
    }

    /// An HTTP client whose connections come from `source` (127.0.0.x: another client address).
    pub fn client_from(&self, source: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(Some(source.parse().unwrap()))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub async fn login(
        &self,
        http: &reqwest::Client,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        http.post(self.url("/v1/auth/login"))
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// `GET /health`'s body (whatever its status).
    pub async fn health(&self, http: &reqwest::Client) -> serde_json::Value {
        http.get(self.url("/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Signs in (the login must succeed) and returns the bearer token.
    pub async fn token(&self, http: &reqwest::Client, user: &str, password: &str) -> String {
        let res = self.login(http, user, password).await;
        assert_eq!(res.status(), reqwest::StatusCode::OK, "login as {user}");
        let login: serde_json::Value = res.json().await.unwrap();
        login["token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cyberhub ARGV... --listen 127.0.0.1:0 --database-url DB`; returns once it listens.
fn spawn(
    argv: &[String],
    db: &str,
    level: &str,
    env: &[(String, String)],
    log: &Arc<Mutex<Vec<String>>>,
) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cyberhub"))
        .args(argv)
        .args(["--listen", "127.0.0.1:0", "--database-url", db])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", level)
        .env("CYBERHUB_LOG_FORMAT", "text")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cyberhub binary starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server prints that it listens")
            .unwrap();
        log.lock().unwrap().push(line.clone());
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    // Keep reading (and keeping) so the server never blocks on a full pipe.
    let log = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            log.lock().unwrap().push(line);
        }
    });
    (child, addr)
}
