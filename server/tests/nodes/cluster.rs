//! Several `cyberhub` processes on one PostgreSQL database, as a chain's operators run them behind a
//! load balancer: each node a real process on a loopback port, killed when dropped.
// Shared by several test binaries through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::database::TestDatabase;
use crate::sse::EventStream;

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "member-password-1";

/// One server process.
pub struct Node {
    pub addr: SocketAddr,
    child: Child,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Nodes on one fresh database, with an admin signed in.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub db: TestDatabase,
    pub admin_token: String,
    pub http: reqwest::Client,
    /// A new connection per stream, as browsers and `curl -N` open them.
    pub streams: reqwest::Client,
}

/// Fails the test when it runs without the PostgreSQL server of `TEST_DATABASE_URL`. The tests of
/// several nodes are `#[ignore]`d in a plain `cargo test`, so a run without PostgreSQL says how many
/// it did not run instead of passing them; `scripts/with-postgres.sh` starts a server and the test
/// command runs them there with `--include-ignored`.
pub fn require_postgres() {
    assert!(
        std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()),
        "this test needs PostgreSQL: run it under scripts/with-postgres.sh"
    );
}

impl Cluster {
    /// `count` nodes on a fresh PostgreSQL database, with `extra` flags each.
    pub async fn start(count: usize, extra: &[&str]) -> Cluster {
        let db = TestDatabase::create().await;
        assert!(db.is_postgres());
        let add_admin = Command::new(env!("CARGO_BIN_EXE_cyberhub"))
            .args([
                "user",
                "add",
                "admin",
                "--password",
                ADMIN_PASSWORD,
                "--admin",
            ])
            .args(["--database-url", &db.url])
            .output()
            .unwrap();
        assert!(add_admin.status.success(), "{:?}", add_admin);
        let nodes = (0..count).map(|_| start_node(&db.url, extra)).collect();
        let mut cluster = Cluster {
            nodes,
            db,
            admin_token: String::new(),
            http: reqwest::Client::new(),
            streams: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        };
        cluster.admin_token = cluster.login(0, "admin", ADMIN_PASSWORD).await;
        cluster
    }

    pub async fn login(&self, node: usize, username: &str, password: &str) -> String {
        let res = self
            .http
            .post(self.nodes[node].url("/v1/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "login of {username}");
        res.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a member (through node 0) and signs them in on `node`: (user id, token).
    pub async fn member(&self, name: &str, node: usize) -> (i64, String) {
        let res = self
            .http
            .post(self.nodes[0].url("/v1/admin/users"))
            .bearer_auth(&self.admin_token)
            .json(&serde_json::json!({ "username": name, "password": PASSWORD, "role": "user" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap();
        (id, self.login(node, name, PASSWORD).await)
    }

    /// An announcement through `node`; its event id.
    pub async fn announce(&self, node: usize, text: &str) -> i64 {
        let (status, body) = self.try_announce(node, text).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "announce through node {node}: {body}"
        );
        body["event_id"].as_i64().unwrap()
    }

    /// An announcement through `node`, whatever the answer: its status and body.
    pub async fn try_announce(&self, node: usize, text: &str) -> (StatusCode, serde_json::Value) {
        let res = self
            .http
            .post(self.nodes[node].url("/v1/admin/announcements"))
            .bearer_auth(&self.admin_token)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }

    /// `GET /v1/events` on `node`, answered 200.
    pub async fn stream(
        &self,
        node: usize,
        token: Option<&str>,
        after: Option<i64>,
    ) -> EventStream {
        let mut req = self.streams.get(self.nodes[node].url("/v1/events"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(id) = after {
            req = req.header("last-event-id", id.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        EventStream::from_response(res)
    }

    pub async fn health(&self, node: usize) -> (StatusCode, serde_json::Value) {
        let res = self
            .http
            .get(self.nodes[node].url("/health"))
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }
}

/// Starts one node on `url` and returns once it listens.
pub fn start_node(url: &str, extra: &[&str]) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cyberhub"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        // One test client makes all the requests, from one address.
        .args(["--login-rate-ip", "off", "--login-rate-user", "off"])
        .args(["--stream-rate-ip", "off", "--stream-rate-user", "off"])
        .args(["--poll-rate-ip", "off", "--poll-rate-user", "off"])
        .args(["--write-rate-user", "off", "--max-connections-per-ip", "0"])
        .args(["--shutdown-grace-secs", "2"])
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cyberhub binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the node prints that it listens")
            .unwrap();
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Node { addr, child }
}

/// Polls `check` every 50 ms until it holds; panics after `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
