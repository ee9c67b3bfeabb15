//! The test harness of the Rust SDK: the real server binary on loopback with a fresh SQLite file,
//! and the conformance proxy (`node conformance/proxy.mjs`), both as child processes, started exactly
//! as conformance/README.md says (the TypeScript tests do the same in `conformance/harness/`).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

/// The top-up webhook secret `--demo` configures.
pub const DEMO_TOPUP_SECRET: &str = "demo-topup-secret";

/// The demo password of a demo user.
pub fn demo_password(user: &str) -> Option<&'static str> {
    match user {
        "admin" => Some("admin-demo-1"),
        "alice" => Some("alice-demo-1"),
        "bob" => Some("bob-demo-1"),
        _ => None,
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("sdk-rs sits in the repository")
        .to_path_buf()
}

/// The server binary: `$CYBERHUB_BIN`, else `<workspace>/target/debug/cyberhub`.
pub fn server_bin() -> PathBuf {
    let bin = std::env::var_os("CYBERHUB_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug/cyberhub"));
    assert!(
        bin.is_file(),
        "no server binary at {}: build it with `cargo build -p cyberhub-server`, or set CYBERHUB_BIN",
        bin.display()
    );
    bin
}

/// Flags every test server gets: short reconnect advice, no shutdown spread, a short grace, and
/// drops in the feed at once (the reveal delay has tests of its own).
const TEST_FLAGS: [&str; 8] = [
    "--retry-ms",
    "200",
    "--shutdown-retry-spread-ms",
    "0",
    "--shutdown-grace-secs",
    "1",
    "--drop-reveal-ms",
    "0",
];

/// The abuse limits, turned off (every test connects from 127.0.0.1); only those the binary knows.
const RELAXED_LIMITS: [&str; 7] = [
    "--login-rate-ip",
    "--login-rate-user",
    "--stream-rate-ip",
    "--stream-rate-user",
    "--poll-rate-ip",
    "--poll-rate-user",
    "--write-rate-user",
];

fn relaxed_limits() -> &'static [String] {
    static FLAGS: OnceLock<Vec<String>> = OnceLock::new();
    FLAGS.get_or_init(|| {
        let help = std::process::Command::new(server_bin())
            .args(["serve", "--help"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        RELAXED_LIMITS
            .iter()
            .filter(|flag| help.contains(&format!("{flag} ")))
            .flat_map(|flag| [flag.to_string(), "off".to_string()])
            .collect()
    })
}

/// The test defaults whose flag `args` does not set itself (clap refuses a flag given twice).
fn defaults_not_in(args: &[String]) -> Vec<String> {
    let mut defaults: Vec<String> = TEST_FLAGS.iter().map(|s| s.to_string()).collect();
    defaults.extend_from_slice(relaxed_limits());
    defaults
        .chunks(2)
        .filter(|pair| !args.contains(&pair[0]))
        .flat_map(|pair| pair.to_vec())
        .collect()
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    probe.local_addr().unwrap().port()
}

/// A running `cyberhub serve --demo` with its own directory and port; stop/start keep both.
pub struct TestServer {
    pub url: String,
    pub port: u16,
    dir: tempfile::TempDir,
    args: Vec<String>,
    child: Mutex<Option<Child>>,
}

impl TestServer {
    /// Starts a server with `extra` flags and waits until `/health` answers.
    pub async fn start(extra: &[String]) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("cyberhub-sdk-rs-")
            .tempdir()
            .expect("temporary directory");
        let port = free_port();
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--demo".into(),
            "--demo-activity".into(),
            "off".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--database-url".into(),
            format!("sqlite://{}", dir.path().join("cyberhub.db").display()),
        ];
        args.extend(defaults_not_in(extra));
        args.extend_from_slice(extra);
        let server = TestServer {
            url: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            args,
            child: Mutex::new(None),
        };
        server.launch().await;
        server
    }

    /// Starts the process (again) and waits for `/health`.
    pub async fn launch(&self) {
        let mut slot = self.child.lock().await;
        assert!(slot.is_none(), "server already running");
        let log_path = self.dir.path().join("server.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("server log");
        let child = Command::new(server_bin())
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the server");
        *slot = Some(child);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(child) = slot.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "cyberhub exited with {status} before answering /health\n{}",
                    self.log()
                );
            }
            let answer = http
                .get(format!("{}/health", self.url))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cyberhub did not answer /health within 20 s\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the process with `signal` (`libc::SIGTERM`: graceful; `libc::SIGKILL`: a crash) and
    /// waits for it to exit.
    pub async fn stop(&self, signal: i32) {
        let Some(mut child) = self.child.lock().await.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            // SAFETY: the pid is our own child's, which has not been reaped yet.
            unsafe { libc::kill(pid as i32, signal) };
        }
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// Stops and starts again on the same port and database.
    pub async fn restart(&self, signal: i32) {
        self.stop(signal).await;
        self.launch().await;
    }

    /// `GET /health` as JSON.
    pub async fn health(&self) -> Value {
        reqwest::get(format!("{}/health", self.url))
            .await
            .expect("health")
            .json()
            .await
            .expect("health JSON")
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let start = text.len().saturating_sub(3000);
        text[text.floor_char_boundary(start)..].to_owned()
    }
}

/// The conformance proxy as a child process, through its documented interface.
pub struct Proxy {
    pub url: String,
    pub control: String,
    child: Child,
    http: reqwest::Client,
}

impl Proxy {
    /// Starts `node conformance/proxy.mjs --upstream <upstream>` and reads its address line.
    pub async fn start(upstream: &str) -> Proxy {
        let script = repo_root().join("conformance/proxy.mjs");
        let mut child = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
            .arg(&script)
            .args(["--upstream", upstream])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn `node conformance/proxy.mjs` (Node 20+ must be on PATH, or set NODE)");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("the proxy printed its addresses within 10 s")
            .expect("read the proxy's stdout")
            .expect("the proxy printed its addresses");
        let line: Value = serde_json::from_str(&first).expect("the proxy's JSON line");
        // Keep reading its stdout (answers to stdin commands) so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Proxy {
            url: line["proxy"].as_str().unwrap().to_owned(),
            control: line["control"].as_str().unwrap().to_owned(),
            child,
            http: reqwest::Client::new(),
        }
    }

    /// Sends `{"mode": ...}` or `{"action": "cut"}` to the control endpoint; returns its state.
    pub async fn command(&self, body: Value) -> Value {
        let answer = self
            .http
            .post(&self.control)
            .body(body.to_string())
            .send()
            .await
            .expect("proxy control");
        assert!(answer.status().is_success(), "proxy control refused {body}");
        answer.json().await.expect("proxy state")
    }

    /// SIGTERM, then waits for it.
    pub async fn close(mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: our own, unreaped child.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
