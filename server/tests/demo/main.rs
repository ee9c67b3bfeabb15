//! The demo's first minute, against the real binary: with `serve --demo` the demo members play on
//! their own, so an anonymous visitor's stream shows drops and chat messages with nobody acting,
//! written by the same rules as any member's; without `--demo`, or with `--demo-activity off`,
//! nothing of the kind runs.

#[path = "../support/database.rs"]
mod database;
#[path = "../support/server.rs"]
mod server;
#[path = "../support/sse.rs"]
mod sse;

use std::collections::HashSet;
use std::time::Duration;

use cyberhub_server::demo::MEMBERS;
use server::Server;
use sqlx::Connection;
use sse::EventStream;

async fn anonymous_stream(server: &Server) -> EventStream {
    let res = reqwest::get(server.url("/v1/events")).await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let mut stream = EventStream::from_response(res);
    assert_eq!(stream.next().await.event, "ready");
    stream
}

/// Each account's balance and the sum of its ledger lines.
async fn balances_and_ledgers(server: &Server) -> Vec<(String, i64, i64)> {
    const SQL: &str = "SELECT u.username, u.balance, CAST(COALESCE(SUM(l.delta), 0) AS BIGINT)
                       FROM users u LEFT JOIN ledger l ON l.user_id = u.id
                       GROUP BY u.id, u.username, u.balance";
    if server.database.is_postgres() {
        let mut db = sqlx::PgConnection::connect(&server.db).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&mut db).await.unwrap()
    } else {
        let mut db = server.database.sqlite_connection().await;
        sqlx::query_as(SQL).fetch_all(&mut db).await.unwrap()
    }
}

#[tokio::test]
async fn with_demo_an_anonymous_visitor_sees_members_drop_and_chat_within_30_seconds() {
    // The default pace, as the README's first command runs it.
    let server = Server::start_command(&["serve", "--demo"], &[]).await;
    let mut stream = anonymous_stream(&server).await;
    let (mut dropped, mut chatted) = (HashSet::new(), HashSet::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while dropped.is_empty() || chatted.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(frame) = stream.next_within(left).await else {
            panic!("within 30 s: drops by {dropped:?}, messages by {chatted:?}");
        };
        let by = frame.data["username"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match frame.event.as_str() {
            "drop:new" => dropped.insert(by),
            "chat:message" => chatted.insert(by),
            "balance:updated" | "inventory:updated" => panic!("another member's event: {frame:?}"),
            _ => false,
        };
    }
    for name in dropped.iter().chain(&chatted) {
        assert!(
            MEMBERS.contains(&name.as_str()),
            "{name} is not a demo member"
        );
    }
    // Ordinary accounts with ordinary writes: every balance is its ledger's sum, and the visitor's
    // own accounts were left alone.
    for (name, balance, ledger) in balances_and_ledgers(&server).await {
        assert_eq!(balance, ledger, "{name}'s balance against its ledger");
        if name == "alice" {
            assert_eq!(balance, 150_000, "alice's balance moved without her");
        }
    }
}

#[tokio::test]
async fn without_demo_or_with_the_activity_off_nothing_plays() {
    let plain = Server::start_command(&["serve"], &[]).await;
    let quiet_demo = Server::start(&[]).await;
    let (mut a, mut b) = (
        anonymous_stream(&plain).await,
        anonymous_stream(&quiet_demo).await,
    );
    // Three times the default pace, and past the first drop the demo makes after 2 s.
    let within = Duration::from_secs(9);
    let (_, _) = tokio::join!(a.assert_quiet(within), b.assert_quiet(within));
    for server in [&plain, &quiet_demo] {
        let names: Vec<String> = balances_and_ledgers(server)
            .await
            .into_iter()
            .map(|(name, ..)| name)
            .collect();
        assert!(
            MEMBERS.iter().all(|m| !names.iter().any(|n| n == m)),
            "demo members exist: {names:?}"
        );
    }
}
