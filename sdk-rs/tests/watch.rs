//! `cyberhub-watch` as a process against the real server: events appear on stdout one per line,
//! `--json` lines parse, connection changes go to stderr, and SIGINT (ctrl-c) exits 0.

mod support;

use std::process::Stdio;
use std::time::Duration;

use cyberhub_sdk::Client;
use serde_json::Value;
use support::{Proxy, TestServer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

struct Watch {
    child: Child,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
    stderr_seen: Vec<String>,
}

impl Watch {
    fn start(args: &[&str]) -> Watch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cyberhub-watch"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn cyberhub-watch");
        let lines = |reader: Box<dyn tokio::io::AsyncRead + Unpin + Send>| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                let mut lines = BufReader::new(reader).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let _ = tx.send(line);
                }
            });
            rx
        };
        let stdout = lines(Box::new(child.stdout.take().unwrap()));
        let stderr = lines(Box::new(child.stderr.take().unwrap()));
        Watch {
            child,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    async fn line(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(8), self.stdout.recv())
            .await
            .expect("a line on stdout within 8 s")
            .expect("stdout open")
    }

    /// Waits for a stderr line containing `text`.
    async fn stderr_has(&mut self, text: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.stderr_seen.iter().any(|l| l.contains(text)) {
            match tokio::time::timeout_at(deadline, self.stderr.recv()).await {
                Ok(Some(line)) => self.stderr_seen.push(line),
                _ => panic!("no stderr line with {text:?}; got {:?}", self.stderr_seen),
            }
        }
    }

    /// Sends SIGINT (what ctrl-c sends) and returns the exit code.
    async fn interrupt(mut self) -> Option<i32> {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY: our own, unreaped child.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("exits within 5 s of SIGINT")
            .unwrap();
        status.code()
    }
}

#[tokio::test]
async fn json_lines_parse_and_ctrl_c_exits_zero() {
    let server = TestServer::start(&[]).await;
    let mut watch = Watch::start(&[
        "--url",
        &server.url,
        "--username",
        "alice",
        "--password",
        "alice-demo-1",
        "--json",
    ]);
    watch.stderr_has("logged in as alice").await;
    watch.stderr_has("connected over SSE").await;
    let alice = Client::builder(&server.url).build().unwrap();
    alice.login("alice", "alice-demo-1").await.unwrap();
    let opened = alice.open_case(1).await.unwrap();
    let mut last_id = 0;
    let mut names = Vec::new();
    for _ in 0..3 {
        let line = watch.line().await;
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let object = value.as_object().expect("one object per line");
        assert_eq!(object.len(), 3, "{line}");
        let id = object["id"].as_i64().expect("a numeric id");
        assert!(id > last_id, "ids rise: {line}");
        last_id = id;
        names.push(object["event"].as_str().unwrap().to_owned());
        if names.last().unwrap() == "balance:updated" {
            assert_eq!(object["data"]["balance"], opened.balance);
        }
    }
    assert_eq!(names, ["balance:updated", "inventory:updated", "drop:new"]);
    assert_eq!(watch.interrupt().await, Some(0));
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn plain_lines_over_long_poll_from_a_resume_id() {
    let server = TestServer::start(&[]).await;
    let start = server.health().await["last_event_id"].as_i64().unwrap();
    let admin = Client::builder(&server.url).build().unwrap();
    admin.login("admin", "admin-demo-1").await.unwrap();
    let announced = admin.admin().announce("doors open at 10").await.unwrap();
    let mut watch = Watch::start(&[
        "--url",
        &server.url,
        "--transport",
        "poll",
        "--last-event-id",
        &start.to_string(),
    ]);
    let line = watch.line().await;
    assert_eq!(
        line,
        format!(
            "{} announcement {{\"text\":\"doors open at 10\"}}",
            announced.event_id
        )
    );
    watch.stderr_has("connected over long-poll").await;
    assert_eq!(watch.interrupt().await, Some(0));
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn a_refusing_proxy_shows_the_fallback_on_stderr() {
    let server = TestServer::start(&[]).await;
    let proxy = Proxy::start(&server.url).await;
    proxy.command(serde_json::json!({"mode": "refuse"})).await;
    let mut watch = Watch::start(&["--url", &proxy.url]);
    watch
        .stderr_has("fell back to long-poll (streaming refused: HTTP 502)")
        .await;
    watch.stderr_has("connected over long-poll").await;
    assert_eq!(watch.interrupt().await, Some(0));
    proxy.close().await;
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn a_bad_login_exits_non_zero_with_the_servers_answer() {
    let server = TestServer::start(&[]).await;
    let out = Command::new(env!("CARGO_BIN_EXE_cyberhub-watch"))
        .args([
            "--url",
            &server.url,
            "--username",
            "alice",
            "--password",
            "nope",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401 bad_credentials"), "{stderr}");
    server.stop(libc::SIGKILL).await;
}
