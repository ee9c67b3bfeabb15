//! The billing bridge against the SmartShell stand-in, both as real processes: a payment at the
//! club's desk reaches the linked member's stream and balance once; a payment of a client nobody is
//! linked to waits and is credited once at the link; a refund is taken back once, never below
//! zero; every fault SmartShell can show degrades the bridge and it recovers by itself with nothing
//! lost or doubled; kill -9 of the server in a burst of payments loses and doubles nothing. On
//! SQLite, and on PostgreSQL under scripts/with-postgres.sh.

#[path = "../support/database.rs"]
mod database;
#[path = "../support/server.rs"]
mod server;
#[path = "../support/sse.rs"]
mod sse;
#[path = "../support/stub.rs"]
mod stub;

use std::time::Duration;

use serde_json::{Value, json};
use server::Server;
use sse::{EventStream, Frame};
use stub::SmartShellStub;

/// Polls every 200 ms: the tests wait a few intervals at most.
const INTERVAL_MS: u64 = 200;

struct Club {
    stub: SmartShellStub,
    server: Server,
    http: reqwest::Client,
    admin: String,
}

impl Club {
    async fn start() -> Club {
        let stub = SmartShellStub::start();
        let flags = stub.bridge_flags(INTERVAL_MS);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let server = Server::start(&flags).await;
        let http = reqwest::Client::new();
        let admin = server.token(&http, "admin", "admin-demo-1").await;
        Club {
            stub,
            server,
            http,
            admin,
        }
    }

    async fn admin_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, self.server.url(path))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// Links the demo member `name` (alice is 2, bob 3) to `uuid`; the answer.
    async fn link(&self, user_id: i64, uuid: &str) -> Value {
        let res = self
            .admin_call(
                reqwest::Method::PUT,
                &format!("/v1/admin/users/{user_id}/smartshell"),
                Some(json!({ "client_uuid": uuid })),
            )
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    async fn report(&self) -> Value {
        self.admin_call(reqwest::Method::GET, "/v1/admin/billing", None)
            .await
            .json()
            .await
            .unwrap()
    }

    async fn health(&self) -> Value {
        self.server.health(&self.http).await
    }

    async fn stream(&self, user: &str) -> EventStream {
        let token = self
            .server
            .token(&self.http, user, &format!("{user}-demo-1"))
            .await;
        EventStream::open(
            &self.http,
            &self.server.url("/v1/events"),
            Some(&token),
            None,
        )
        .await
    }

    /// The ledger lines of top-ups (and their reversals) of a member, by note.
    async fn ledger(&self, user_id: i64) -> Vec<(i64, String, String)> {
        query_rows(
            &self.server,
            &format!(
                "SELECT delta, reason, COALESCE(note, '') FROM ledger
                 WHERE user_id = {user_id} AND reason IN ('topup', 'refund') ORDER BY id"
            ),
        )
        .await
    }

    async fn balance(&self, user_id: i64) -> i64 {
        let rows: Vec<(i64,)> = query_rows(
            &self.server,
            &format!("SELECT balance FROM users WHERE id = {user_id}"),
        )
        .await;
        rows[0].0
    }

    async fn wait_for_state(&self, state: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let health = self.health().await;
            if health["billing"]["state"] == state {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "billing never became {state}: {health}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Rows of a query on the server's database, SQLite or PostgreSQL.
async fn query_rows<T>(server: &Server, sql: &str) -> Vec<T>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if server.database.is_postgres() {
        let mut db = sqlx::PgConnection::connect(&server.db).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut db).await.unwrap()
    } else {
        let mut db = server.database.sqlite_connection().await;
        sqlx::query_as(sql).fetch_all(&mut db).await.unwrap()
    }
}

/// The next `balance:updated` within `within`, skipping other events.
async fn next_balance(stream: &mut EventStream, within: Duration) -> Option<Frame> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = stream.next_within(left).await?;
        if frame.event == "balance:updated" {
            return Some(frame);
        }
    }
}

const ALICE: i64 = 2;
const BOB: i64 = 3;

#[tokio::test]
async fn a_payment_at_the_desk_reaches_the_members_stream_and_balance_once() {
    let club = Club::start().await;
    club.stub.add_client("c-alice").await;
    club.link(ALICE, "c-alice").await;
    let mut stream = club.stream("alice").await;
    let before = club.balance(ALICE).await;

    let paid = club.stub.pay("c-alice", 25_000).await;
    let frame = next_balance(&mut stream, Duration::from_secs(5))
        .await
        .expect("the payment within a few poll intervals");
    assert_eq!(frame.data["reason"], "topup");
    assert_eq!(frame.data["delta"], 25_000);
    assert_eq!(frame.data["balance"], before + 25_000);
    club.wait_for_state("ok", Duration::from_secs(2)).await;

    // Many polls later it has not come again.
    assert!(
        next_balance(&mut stream, Duration::from_millis(INTERVAL_MS * 8))
            .await
            .is_none()
    );
    assert_eq!(club.balance(ALICE).await, before + 25_000);
    let ledger = club.ledger(ALICE).await;
    assert_eq!(
        ledger,
        vec![(
            25_000,
            "topup".into(),
            format!("smartshell:{}:{paid}", stub::CLUB)
        )]
    );
}

#[tokio::test]
async fn an_unlinked_clients_payment_waits_and_is_credited_once_when_linked() {
    let club = Club::start().await;
    club.stub.add_client("c-bob").await;
    let paid = club.stub.pay("c-bob", 7_000).await;
    // Seen and recorded, credited to nobody.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let unmatched = loop {
        let report = club.report().await;
        if let Some(first) = report["unmatched"].as_array().and_then(|u| u.first()) {
            break first.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "{report}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(unmatched["payment_id"], paid);
    assert_eq!(unmatched["amount"], 7_000);
    assert_eq!(unmatched["client_uuid"], "c-bob");
    let before = club.balance(BOB).await;

    let mut stream = club.stream("bob").await;
    let linked = club.link(BOB, "c-bob").await;
    assert_eq!(
        linked["credited"],
        json!([{ "payment_id": paid, "amount": 7_000 }])
    );
    assert_eq!(linked["balance"], before + 7_000);
    let frame = next_balance(&mut stream, Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(
        (frame.data["delta"].as_i64(), frame.data["reason"].as_str()),
        (Some(7_000), Some("topup"))
    );
    assert!(
        club.report().await["unmatched"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Linked again, and polled many times over: still once.
    club.link(BOB, "c-bob").await;
    tokio::time::sleep(Duration::from_millis(INTERVAL_MS * 5)).await;
    assert_eq!(club.balance(BOB).await, before + 7_000);
    assert_eq!(club.ledger(BOB).await.len(), 1);

    // A client is one member's: linking it to another is refused.
    let taken = club
        .admin_call(
            reqwest::Method::PUT,
            &format!("/v1/admin/users/{ALICE}/smartshell"),
            Some(json!({ "client_uuid": "c-bob" })),
        )
        .await;
    assert_eq!(taken.status(), 409);
    let body: Value = taken.json().await.unwrap();
    assert_eq!(body["error"]["code"], "smartshell_client_linked");
}

#[tokio::test]
async fn a_refund_is_taken_back_once_and_never_below_zero() {
    let club = Club::start().await;
    club.stub.add_client("c-alice").await;
    club.link(ALICE, "c-alice").await;
    let mut stream = club.stream("alice").await;
    let start = club.balance(ALICE).await;
    let first = club.stub.pay("c-alice", 10_000).await;
    next_balance(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();

    // Refunded while the whole of it is still there: all of it goes back.
    club.stub.refund(first).await;
    let back = next_balance(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (back.data["reason"].as_str(), back.data["delta"].as_i64()),
        (Some("refund"), Some(-10_000))
    );
    assert_eq!(club.balance(ALICE).await, start);

    // A payment spent down to 300 kopecks, then refunded: 300 go back, the rest is a shortfall.
    let second = club.stub.pay("c-alice", 2_000_000).await;
    next_balance(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    let spend = start + 2_000_000 - 300;
    let res = club
        .admin_call(
            reqwest::Method::POST,
            &format!("/v1/admin/users/{ALICE}/balance"),
            Some(json!({ "delta": -spend, "reason": "spent at the bar" })),
        )
        .await;
    assert_eq!(res.status(), 200);
    next_balance(&mut stream, Duration::from_secs(2))
        .await
        .unwrap();
    club.stub.refund(second).await;
    let back = next_balance(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(back.data["delta"], -300);
    assert_eq!(back.data["balance"], 0);
    let report = club.report().await;
    assert_eq!(report["shortfalls"][0]["payment_id"], second);
    assert_eq!(report["shortfalls"][0]["reversed"], 300);
    assert_eq!(report["shortfalls"][0]["shortfall"], 2_000_000 - 300);

    // Polled again and again: each refund was taken back once.
    assert!(
        next_balance(&mut stream, Duration::from_millis(INTERVAL_MS * 6))
            .await
            .is_none()
    );
    let refunds = club
        .ledger(ALICE)
        .await
        .into_iter()
        .filter(|(_, reason, _)| reason == "refund")
        .count();
    assert_eq!(refunds, 2);
}

#[tokio::test]
async fn every_fault_of_smartshell_degrades_the_bridge_and_it_recovers_with_nothing_lost_or_doubled()
 {
    let club = Club::start().await;
    club.stub.add_client("c-alice").await;
    club.link(ALICE, "c-alice").await;
    let start = club.balance(ALICE).await;
    club.wait_for_state("ok", Duration::from_secs(5)).await;
    let mut paid = 0;
    // Faults the bridge must report; then faults it must absorb without a word.
    for mode in ["down", "slow", "error500", "graphql_error", "malformed"] {
        club.stub.fault(mode).await;
        club.stub.pay("c-alice", 1_000).await;
        paid += 1_000;
        club.wait_for_state("degraded", Duration::from_secs(8))
            .await;
        let health = club.health().await;
        assert!(
            health["billing"]["last_error"].is_string(),
            "{mode}: {health}"
        );
        assert!(
            health["billing"]["last_success_at"].is_i64(),
            "{mode}: {health}"
        );
        assert_eq!(
            health["status"], "ok",
            "a failing bridge does not fail the node"
        );
        club.stub.fault("none").await;
        club.wait_for_state("ok", Duration::from_secs(70)).await;
        assert_eq!(club.balance(ALICE).await, start + paid, "after {mode}");
    }
    for mode in ["expire_tokens", "expire_sessions", "duplicate_pages"] {
        club.stub.fault(mode).await;
        club.stub.pay("c-alice", 1_000).await;
        paid += 1_000;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while club.balance(ALICE).await != start + paid {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{mode}: not credited"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        club.stub.fault("none").await;
    }
    tokio::time::sleep(Duration::from_millis(INTERVAL_MS * 4)).await;
    assert_eq!(club.balance(ALICE).await, start + paid);
    assert_eq!(
        club.ledger(ALICE).await.len(),
        8,
        "each payment credited once"
    );
}

#[tokio::test]
async fn kill_9_during_a_burst_of_payments_loses_nothing_and_doubles_nothing() {
    let mut club = Club::start().await;
    club.stub.add_client("c-alice").await;
    club.link(ALICE, "c-alice").await;
    let start = club.balance(ALICE).await;
    let burst = async {
        for i in 0..40 {
            club.stub.pay("c-alice", 100 + i).await;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    burst.await;
    // Killed at once: some of the burst is credited, some not yet.
    club.server.kill_and_restart();
    // A shift changes while the server is down: the restarted bridge reads both.
    club.stub.pay("c-alice", 1).await;
    club.stub.shift("rotate").await;
    club.stub.pay("c-alice", 2).await;
    let total: i64 = (0..40).map(|i| 100 + i).sum::<i64>() + 3;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while club.balance(ALICE).await != start + total {
        assert!(tokio::time::Instant::now() < deadline, "not all credited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(INTERVAL_MS * 4)).await;
    assert_eq!(club.balance(ALICE).await, start + total);
    assert_eq!(club.ledger(ALICE).await.len(), 42);
}

#[tokio::test]
async fn without_smartshell_the_bridge_is_off_and_links_still_work() {
    let server = Server::start(&[]).await;
    let http = reqwest::Client::new();
    let health = server.health(&http).await;
    assert_eq!(health["billing"], json!({ "state": "off" }));
    let admin = server.token(&http, "admin", "admin-demo-1").await;
    let res = http
        .put(server.url(&format!("/v1/admin/users/{ALICE}/smartshell")))
        .bearer_auth(&admin)
        .json(&json!({ "client_uuid": "c-alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bad = http
        .put(server.url(&format!("/v1/admin/users/{ALICE}/smartshell")))
        .bearer_auth(&admin)
        .json(&json!({ "client_uuid": "c alice; drop" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let unlinked = http
        .delete(server.url(&format!("/v1/admin/users/{ALICE}/smartshell")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(unlinked.status(), 204);
    let again = http
        .delete(server.url(&format!("/v1/admin/users/{ALICE}/smartshell")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}
