//! The SmartShell stand-in (`cyberhub-smartshell-stub`, a binary of the workspace) as a child
//! process on a free loopback port, with its control endpoints: clients, payments, refunds, shifts,
//! faults. Killed when dropped.
// Shared by several test binaries through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

/// The staff account the stand-in accepts.
pub const LOGIN: &str = "79990000000";
pub const PASSWORD: &str = "stub-password";
pub const CLUB: i64 = 7;

pub struct SmartShellStub {
    pub graphql: String,
    control: String,
    child: Child,
    http: reqwest::Client,
}

/// The stand-in's binary: `$SMARTSHELL_STUB_BIN`, else the workspace's debug build.
fn binary() -> PathBuf {
    let bin = std::env::var_os("SMARTSHELL_STUB_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/debug/cyberhub-smartshell-stub")
        });
    assert!(
        bin.is_file(),
        "no SmartShell stand-in at {}: cargo build -p cyberhub-smartshell-stub (cargo test \
         --workspace builds it), or set SMARTSHELL_STUB_BIN",
        bin.display()
    );
    bin
}

impl SmartShellStub {
    pub fn start() -> SmartShellStub {
        let mut child = Command::new(binary())
            .args(["--listen", "127.0.0.1:0", "--company-id", &CLUB.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the stand-in starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addresses: Value = serde_json::from_str(&line).expect("its address line");
        SmartShellStub {
            graphql: addresses["graphql"].as_str().unwrap().to_owned(),
            control: addresses["control"].as_str().unwrap().to_owned(),
            child,
            http: reqwest::Client::new(),
        }
    }

    /// The server flags that point a bridge at this stand-in, polling every `interval_ms`.
    pub fn bridge_flags(&self, interval_ms: u64) -> Vec<String> {
        [
            "--smartshell-url",
            &self.graphql,
            "--smartshell-club-id",
            &CLUB.to_string(),
            "--smartshell-login",
            LOGIN,
            "--smartshell-password",
            PASSWORD,
            "--smartshell-poll-interval-ms",
            &interval_ms.to_string(),
            "--smartshell-timeout-secs",
            "1",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.control))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    pub async fn add_client(&self, uuid: &str) {
        self.post("/clients", json!({"uuid": uuid, "login": uuid}))
            .await;
    }

    /// A top-up of `kopecks` at the desk; SmartShell's id of it.
    pub async fn pay(&self, uuid: &str, kopecks: i64) -> i64 {
        self.post("/payments", json!({"client_uuid": uuid, "amount": kopecks}))
            .await["payment_id"]
            .as_i64()
            .unwrap()
    }

    pub async fn refund(&self, payment_id: i64) {
        self.post(&format!("/payments/{payment_id}/refund"), json!({}))
            .await;
    }

    /// `none`, `down`, `slow`, `error500`, `graphql_error`, `expire_tokens`, `expire_sessions`,
    /// `duplicate_pages` or `malformed`.
    pub async fn fault(&self, mode: &str) {
        self.post("/fault", json!({"mode": mode})).await;
    }

    /// `open`, `close` or `rotate` the cashier's shift.
    pub async fn shift(&self, action: &str) {
        self.post("/shift", json!({"action": action})).await;
    }
}

impl Drop for SmartShellStub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
