//! Provably fair openings against the real binary: a drop scheduled for after the reveal delay
//! survives a kill -9 in between and reaches the feed once; and no unrevealed seed reaches the
//! server's log, even at the most verbose level.

#[path = "../support/database.rs"]
mod database;
#[path = "../support/server.rs"]
mod server;
#[path = "../support/sse.rs"]
mod sse;

use std::time::{Duration, Instant};

use serde_json::Value;
use server::Server;
use sse::EventStream;

#[tokio::test]
async fn a_drop_waiting_for_its_reveal_survives_kill_9_and_reaches_the_feed_once() {
    let mut server = Server::start(&["--drop-reveal-ms", "2000"]).await;
    let http = reqwest::Client::new();
    let token = server.token(&http, "alice", "alice-demo-1").await;
    let health = server.health(&http).await;
    let head = health["last_event_id"].as_i64().unwrap();
    // Before the request: the server schedules the drop after the request reached it.
    let opened_at = Instant::now();
    let opened: Value = http
        .post(server.url("/v1/cases/1/open"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Killed while the drop waits: it was written with the opening, so it is not lost.
    server.kill_and_restart();
    let mut feed = EventStream::open(&http, &server.url("/v1/events"), None, Some(head)).await;
    let drop = feed.next_named("drop:new").await;
    assert!(
        opened_at.elapsed() >= Duration::from_millis(2_000),
        "after {:?}: {drop:?}",
        opened_at.elapsed()
    );
    assert_eq!(drop.data["item"], opened["item"]["name"]);
    assert!(drop.id.unwrap() > head);
    let more = feed.drain_until_quiet(Duration::from_millis(1_500)).await;
    assert!(more.iter().all(|f| f.event != "drop:new"), "{more:?}");
}

#[tokio::test]
async fn no_unrevealed_seed_reaches_the_log() {
    let server = Server::start_logging(
        &["serve", "--demo", "--demo-activity", "off"],
        &["--drop-reveal-ms", "0"],
        "trace",
    )
    .await;
    let http = reqwest::Client::new();
    let token = server.token(&http, "alice", "alice-demo-1").await;
    for _ in 0..3 {
        let res = http
            .post(server.url("/v1/cases/1/open"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let rotation: Value = http
        .post(server.url("/v1/me/fairness/rotate"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seed = rotation["revealed"]["server_seed"].as_str().unwrap();
    assert_eq!(seed.len(), 64);
    // The rotation's request has been logged (the log is read on a thread of its own).
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.log().contains("/v1/me/fairness/rotate") {
        assert!(
            Instant::now() < deadline,
            "the rotation never reached the log"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = server.log();
    assert!(log.lines().count() > 20, "a verbose log: {log}");
    assert!(!log.contains(seed), "the seed is in the log");
}
