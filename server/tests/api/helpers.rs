//! `spawn_app()`: the real server on a loopback port with a real database, and a `TestApp` with one
//! method per endpoint, so each test reads as the behaviour it pins down.
//!
//! The database is a fresh SQLite file, or, when `TEST_DATABASE_URL` names a PostgreSQL server (as
//! `scripts/with-postgres.sh` sets it), a fresh database created there for the test and dropped
//! after it: the same tests run on both backends.

use std::net::SocketAddr;

use cyberhub_protocol::*;
use cyberhub_server::App;
use cyberhub_server::auth::hash_password;
use cyberhub_server::config::Config;
use cyberhub_server::http::webhooks::sign;
use cyberhub_server::limits::RateRules;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use crate::database::TestDatabase;
pub use crate::sse::{EventStream, Frame};

pub const TOPUP_SECRET: &str = "test-topup-secret";
pub const PASSWORD: &str = "password-123";

pub struct TestApp {
    pub addr: SocketAddr,
    /// Keeps connections alive between requests, like a browser's fetch.
    pub http: reqwest::Client,
    /// A new connection per request, so every stream is the first request on its connection and is
    /// served by the SSE fast path (as an `EventSource` or `curl -N` usually is).
    pub streams: reqwest::Client,
    _db: TestDatabase,
    pub admin_token: String,
    pub config: Config,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A server with a fresh database and an admin (`root`) signed in.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with settings changed first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDatabase::create().await;
    let mut config = Config::defaults();
    config.database_url = db.url.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.topup_secret = Some(TOPUP_SECRET.into());
    config.shutdown_grace_secs = 5;
    // Every test signs in, streams and writes from 127.0.0.1, many times over; the limits have
    // tests of their own (limits.rs, tests/abuse) that set them.
    let off = || RateRules(Vec::new());
    config.login_rate_ip = off();
    config.login_rate_user = off();
    config.stream_rate_ip = off();
    config.stream_rate_user = off();
    config.poll_rate_ip = off();
    config.poll_rate_user = off();
    config.write_rate_user = off();
    config.max_connections_per_ip = 0;
    // Drops reach the feed at once, as most tests expect; the reveal's tests set a delay.
    config.drop_reveal_ms = 0;
    tweak(&mut config);
    let store = cyberhub_server::store::Store::open(&config.database_url)
        .await
        .unwrap();
    store
        .create_user("root", &hash_password(PASSWORD).unwrap(), Role::Admin)
        .await
        .unwrap();
    store.close().await;
    let (addr, shutdown, server) = start(config.clone()).await;
    let mut app = TestApp {
        addr,
        http: reqwest::Client::new(),
        streams: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
        _db: db,
        admin_token: String::new(),
        config,
        shutdown,
        server: Some(server),
    };
    app.admin_token = app.login("root", PASSWORD).await;
    app
}

async fn start(
    config: Config,
) -> (
    SocketAddr,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = TcpListener::bind(config.listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = App::build(config).await.unwrap();
    let shutdown = app.state.shutdown.clone();
    let server = tokio::spawn(app.serve(listener));
    (addr, shutdown, server)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Graceful stop (as on SIGTERM); waits for the server to finish.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    /// Stops the server and starts a new one on the same database file (and, by default, a new port).
    pub async fn restart(&mut self) {
        self.stop().await;
        let (addr, shutdown, server) = start(self.config.clone()).await;
        self.addr = addr;
        self.shutdown = shutdown;
        self.server = Some(server);
    }

    // ---- auth ----

    pub async fn login(&self, username: &str, password: &str) -> String {
        let res = self
            .post_json(
                "/v1/auth/login",
                None,
                &serde_json::json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login of {username}");
        res.json::<LoginResponse>().await.unwrap().token
    }

    /// Creates a member through the admin API and signs them in: (user, token).
    pub async fn new_user(&self, username: &str) -> (User, String) {
        let res = self
            .post_json(
                "/v1/admin/users",
                Some(&self.admin_token),
                &serde_json::json!({"username": username, "password": PASSWORD, "role": "user"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let user: User = res.json().await.unwrap();
        let token = self.login(username, PASSWORD).await;
        (user, token)
    }

    // ---- plain requests ----

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.http.get(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.http.post(self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap()
    }

    // ---- domain ----

    pub async fn me(&self, token: &str) -> User {
        let res = self.get("/v1/me", Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn balance(&self, token: &str) -> i64 {
        self.me(token).await.balance
    }

    pub async fn adjust_balance(&self, user_id: i64, delta: i64) -> Response {
        self.post_json(
            &format!("/v1/admin/users/{user_id}/balance"),
            Some(&self.admin_token),
            &serde_json::json!({"delta": delta, "reason": "test funding"}),
        )
        .await
    }

    pub async fn fund(&self, user_id: i64, amount: i64) {
        assert_eq!(
            self.adjust_balance(user_id, amount).await.status(),
            StatusCode::OK
        );
    }

    /// Creates a case through the admin API.
    pub async fn create_case(&self, body: &Value) -> Response {
        self.post_json("/v1/admin/cases", Some(&self.admin_token), body)
            .await
    }

    /// A case with the given price and one item of the given value (always drawn).
    pub async fn simple_case(&self, price: i64, value: i64) -> Case {
        let res = self
            .create_case(&case_body(
                "Test Case",
                price,
                &[("Prize", "rare", value, 1)],
            ))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    pub async fn open_case(&self, token: &str, case_id: i64) -> Response {
        self.post(&format!("/v1/cases/{case_id}/open"), Some(token))
            .await
    }

    pub async fn sell(&self, token: &str, item_id: i64) -> Response {
        self.post(&format!("/v1/me/inventory/{item_id}/sell"), Some(token))
            .await
    }

    pub async fn inventory(&self, token: &str) -> Vec<InventoryItem> {
        let res = self.get("/v1/me/inventory", Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Inventory>().await.unwrap().items
    }

    pub async fn announce(&self, text: &str) -> i64 {
        let res = self
            .post_json(
                "/v1/admin/announcements",
                Some(&self.admin_token),
                &serde_json::json!({"text": text}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<AnnouncementResponse>().await.unwrap().event_id
    }

    /// Sends a top-up body signed with `secret` (the right one unless a test says otherwise).
    pub async fn topup_raw(&self, body: &str, signature: Option<String>) -> Response {
        let mut req = self
            .http
            .post(self.url("/v1/webhooks/topup"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            req = req.header("x-cyberhub-signature", signature);
        }
        req.send().await.unwrap()
    }

    pub async fn topup(&self, payment_id: &str, user_id: i64, amount: i64) -> Response {
        let body =
            serde_json::json!({"payment_id": payment_id, "user_id": user_id, "amount": amount})
                .to_string();
        self.topup_raw(&body, Some(sign(TOPUP_SECRET.as_bytes(), body.as_bytes())))
            .await
    }

    // ---- chat ----

    pub async fn send_chat(&self, token: &str, text: &str) -> Response {
        self.post_json(
            "/v1/chat/messages",
            Some(token),
            &serde_json::json!({ "text": text }),
        )
        .await
    }

    /// Sends a message that must be accepted; returns it.
    pub async fn chat(&self, token: &str, text: &str) -> ChatMessage {
        let res = self.send_chat(token, text).await;
        assert_eq!(res.status(), StatusCode::CREATED, "chat {text:?}");
        res.json::<ChatMessageResponse>().await.unwrap().message
    }

    pub async fn chat_history(&self, query: &str) -> Vec<ChatMessage> {
        let res = self.get(&format!("/v1/chat/messages?{query}"), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<ChatHistory>().await.unwrap().messages
    }

    pub async fn delete_chat(&self, id: i64) -> Response {
        self.http
            .delete(self.url(&format!("/v1/admin/chat/messages/{id}")))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .unwrap()
    }

    /// The caller's own mute (`GET /v1/chat/mute`), as JSON.
    pub async fn own_mute(&self, token: &str) -> serde_json::Value {
        let res = self.get("/v1/chat/mute", Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn mute(&self, user_id: i64, minutes: i64, reason: &str) -> Response {
        self.post_json(
            &format!("/v1/admin/users/{user_id}/mute"),
            Some(&self.admin_token),
            &serde_json::json!({ "minutes": minutes, "reason": reason }),
        )
        .await
    }

    /// The newest event id committed, read from the database itself: what "nothing was emitted"
    /// is checked against (the hub publishes a moment after a commit, so `/health` may lag it).
    pub async fn committed_head(&self) -> i64 {
        self.sql_value("SELECT COALESCE(MAX(id), 0) FROM events")
            .await
            .unwrap_or(0)
    }

    /// Whether this test runs on PostgreSQL (else SQLite).
    pub fn uses_postgres(&self) -> bool {
        self._db.is_postgres()
    }

    /// Runs SQL on a connection of its own to the server's database, as an operator (or another
    /// process) would: for tests that must change what no endpoint changes.
    pub async fn sql(&self, statement: &str) {
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        if self._db.is_postgres() {
            let mut conn = sqlx::PgConnection::connect(&self.config.database_url)
                .await
                .unwrap();
            sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
        } else {
            let mut conn = self._db.sqlite_connection().await;
            sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
        }
    }

    /// The first column of every row of `query`, as text.
    pub async fn sql_text(&self, query: &str) -> Vec<String> {
        self.sql_column(query).await
    }

    /// The first column of the first row of `query`, as an integer (`None` for SQL NULL).
    pub async fn sql_value(&self, query: &str) -> Option<i64> {
        let first = self.sql_column(query).await.into_iter().next();
        first.unwrap_or_else(|| panic!("no row from {query}"))
    }

    /// The first column of every row of `query`, on whichever database the test runs.
    async fn sql_column<T>(&self, query: &str) -> Vec<T>
    where
        T: Send + Unpin,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
    {
        let query = sqlx::AssertSqlSafe(query.to_owned());
        if self._db.is_postgres() {
            let mut conn = sqlx::PgConnection::connect(&self.config.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(query)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        } else {
            let mut conn = self._db.sqlite_connection().await;
            sqlx::query_scalar(query)
                .fetch_all(&mut conn)
                .await
                .unwrap()
        }
    }

    /// Waits (up to 5 s) until the server counts `sse` open streams and `poll` waiting polls.
    pub async fn wait_for_clients(&self, sse: u64, poll: u64) {
        let what = format!("{sse} streams and {poll} waiting polls");
        eventually(std::time::Duration::from_secs(5), &what, || async {
            let h = self.health().await;
            (h.sse_clients, h.poll_clients) == (sse, poll) && h.clients == sse + poll
        })
        .await;
    }

    pub async fn health(&self) -> Health {
        self.get("/health", None).await.json().await.unwrap()
    }

    // ---- streams ----

    /// Opens `GET /v1/events` with an optional bearer token and `Last-Event-ID`.
    pub async fn stream(&self, token: Option<&str>, last_event_id: Option<i64>) -> EventStream {
        let mut req = self.streams.get(self.url("/v1/events"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        EventStream::from_response(res)
    }

    pub async fn poll(&self, token: Option<&str>, query: &str) -> Response {
        self.get(&format!("/v1/events/poll?{query}"), token).await
    }
}

/// A JSON case body: `(name, rarity, value, weight)` per item.
/// Waits until `check` holds, asking again every 20 ms; fails the test with `what` after
/// `within`. For tests that must wait for the server to reach a state: a condition, not a sleep.
pub async fn eventually<F, Fut>(within: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub fn case_body(name: &str, price: i64, items: &[(&str, &str, i64, i64)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(name, rarity, value, weight)| serde_json::json!({"name": name, "rarity": rarity, "value": value, "weight": weight}))
        .collect();
    serde_json::json!({"name": name, "price": price, "image_url": "https://img.example/case.png", "items": items})
}

/// Asserts an error answer: its status and the `code` of its JSON body.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) {
    assert_eq!(res.status(), status);
    let body: ErrorBody = res.json().await.expect("error answers have a JSON body");
    assert_eq!(
        body.error.code.as_str(),
        code,
        "message: {}",
        body.error.message
    );
    assert!(!body.error.message.is_empty());
}
