//! PostgreSQL restarting under running nodes: they say so (`/health` reports the database
//! unavailable, writes are answered 503 at once), streams stay open, and once the database is back
//! the nodes recover by themselves with no event lost. A test binary of its own: it stops the
//! database server every other test uses. Needs `TEST_DATABASE_URL` and `TEST_PG_CTL`
//! (`scripts/with-postgres.sh` sets both).

#[path = "../nodes/cluster.rs"]
mod cluster;
#[path = "../support/database.rs"]
mod database;
#[path = "../support/sse.rs"]
mod sse;

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use cluster::{Cluster, eventually, require_postgres};

fn pg_ctl(action: &str) {
    let ctl = std::env::var("TEST_PG_CTL").expect("TEST_PG_CTL");
    let out = std::process::Command::new(ctl)
        .arg(action)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_ctl {action}: {out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn nodes_say_the_database_is_gone_and_recover_when_it_is_back_losing_nothing() {
    require_postgres();
    assert!(
        std::env::var("TEST_PG_CTL").is_ok(),
        "this test stops and starts PostgreSQL: run it under scripts/with-postgres.sh with its own \
         throwaway server (TEST_PG_CTL), not with TEST_DATABASE_URL"
    );
    let cluster = Cluster::start(2, &[]).await;
    let mut stream = cluster.stream(1, None, None).await;
    assert_eq!(stream.next().await.event, "ready");
    let before = cluster.announce(0, "before the restart").await;
    assert_eq!(stream.next().await.id, Some(before));

    pg_ctl("stop");
    for node in 0..2 {
        let (status, health) = cluster.health(node).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "node {node}: {health}"
        );
        assert_eq!(health["database"], "unavailable");
        assert_eq!(health["stream"], "active");
    }
    let started = Instant::now();
    let (status, body) = cluster.try_announce(0, "while it is down").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "database_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered at once: {:?}",
        started.elapsed()
    );

    pg_ctl("start");
    for node in 0..2 {
        eventually(Duration::from_secs(15), "the node's recovery", || async {
            cluster.health(node).await.0 == StatusCode::OK
        })
        .await;
    }
    // The stream never closed; what is written now reaches it, through the other node.
    let after = cluster.announce(0, "after the restart").await;
    let frame = loop {
        let frame = stream
            .next_within(Duration::from_secs(10))
            .await
            .expect("the stream goes on after the restart");
        if frame.event != "ready" {
            break frame;
        }
    };
    assert_eq!(frame.id, Some(after));
    assert_eq!(frame.data["text"], "after the restart");
    stream.assert_quiet(Duration::from_millis(300)).await;
}
