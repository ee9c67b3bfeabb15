//! Several server nodes on one PostgreSQL database, each a real `cyberhub` process: an event
//! committed through any node reaches every subscriber on every node, once, in id order, even with
//! many writers at once; a client resumes on another node with exactly what it missed; a logout on
//! one node ends that token's streams on every node; one node at a time polls the club's billing
//! system, and another takes over when it dies; a node cut off from the database refuses writes,
//! keeps its streams and catches up when the link is back. Needs `TEST_DATABASE_URL`
//! (`scripts/with-postgres.sh`).

#[path = "../support/database.rs"]
mod database;
#[path = "../support/proxy.rs"]
mod proxy;
#[path = "../support/sse.rs"]
mod sse;
#[path = "../support/stub.rs"]
mod stub;

mod billing;
mod cluster;
mod cut_off;
mod reveal;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use reqwest::StatusCode;
use sqlx::Connection;

use cluster::{Cluster, require_postgres};
use sse::Frame;

/// Reads `stream` until `done(frames so far)` holds; panics after `within`.
async fn read_until(
    stream: &mut sse::EventStream,
    within: Duration,
    mut done: impl FnMut(&[Frame]) -> bool,
) -> Vec<Frame> {
    let deadline = tokio::time::Instant::now() + within;
    let mut frames = Vec::new();
    while !done(&frames) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match stream.next_within(left).await {
            Some(frame) if frame.event == "ready" => {}
            Some(frame) => frames.push(frame),
            None => panic!("stream ended or stalled after {} frames", frames.len()),
        }
    }
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn concurrent_writers_on_three_nodes_reach_every_subscriber_on_every_node_once_in_order() {
    require_postgres();
    let cluster = Cluster::start(3, &[]).await;
    let (alice, alice_token) = cluster.member("alice", 0).await;
    let mut subscribers = Vec::new();
    for node in 0..3 {
        subscribers.push((node, false, cluster.stream(node, None, None).await));
        subscribers.push((
            node,
            true,
            cluster.stream(node, Some(&alice_token), None).await,
        ));
    }

    // 3 nodes × 6 writers × 30 announcements, and 60 balance changes of alice's through all nodes.
    let cluster = &cluster;
    let announcements = (0..3).flat_map(|node| {
        (0..6).map(move |writer| async move {
            let mut ids = Vec::new();
            for i in 0..30 {
                ids.push(
                    cluster
                        .announce(node, &format!("n{node}-w{writer}-{i}"))
                        .await,
                );
            }
            ids
        })
    });
    let adjustments = (0..60).map(|i| async move {
        let res = cluster
            .http
            .post(cluster.nodes[i % 3].url(&format!("/v1/admin/users/{alice}/balance")))
            .bearer_auth(&cluster.admin_token)
            .json(&serde_json::json!({ "delta": 1, "reason": format!("drip {i}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    });
    let (announced, _) = tokio::join!(
        futures_util::future::join_all(announcements),
        futures_util::future::join_all(adjustments)
    );
    let announced: BTreeSet<i64> = announced.into_iter().flatten().collect();
    assert_eq!(announced.len(), 540);

    let mut seen_by_text: Option<HashMap<String, i64>> = None;
    for (node, is_alice, stream) in &mut subscribers {
        let want = if *is_alice { 600 } else { 540 };
        let frames = read_until(stream, Duration::from_secs(30), |f| f.len() >= want).await;
        let ids: Vec<i64> = frames.iter().map(|f| f.id.unwrap()).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "node {node}: in id order, each once"
        );
        let texts: HashMap<String, i64> = frames
            .iter()
            .filter(|f| f.event == "announcement")
            .map(|f| (f.data["text"].as_str().unwrap().to_owned(), f.id.unwrap()))
            .collect();
        assert_eq!(texts.len(), 540, "node {node}: every announcement");
        let ids: BTreeSet<i64> = texts.values().copied().collect();
        assert_eq!(
            ids, announced,
            "node {node}: the ids the writers were given"
        );
        let balances = frames
            .iter()
            .filter(|f| f.event == "balance:updated")
            .count();
        assert_eq!(
            balances,
            if *is_alice { 60 } else { 0 },
            "node {node}: alice's own events"
        );
        // Every node numbers every event the same way.
        match &seen_by_text {
            None => seen_by_text = Some(texts),
            Some(first) => assert_eq!(&texts, first, "node {node}"),
        }
        stream.assert_quiet(Duration::from_millis(200)).await;
    }
    // And the table agrees: nothing visible was skipped.
    let mut db = sqlx::PgConnection::connect(&cluster.db.url).await.unwrap();
    let in_table: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM events WHERE kind = 'announcement' ORDER BY id")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(in_table.into_iter().collect::<BTreeSet<_>>(), announced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn a_client_resumes_on_another_node_with_exactly_what_it_missed() {
    require_postgres();
    let cluster = Cluster::start(3, &[]).await;
    let mut first = cluster.stream(0, None, None).await;
    let seen = cluster.announce(1, "before").await;
    let frames = read_until(&mut first, Duration::from_secs(5), |f| !f.is_empty()).await;
    assert_eq!(frames[0].id, Some(seen));
    drop(first);

    let mut missed = Vec::new();
    for i in 0..10 {
        missed.push(cluster.announce(2, &format!("missed {i}")).await);
    }
    let mut second = cluster.stream(1, None, Some(seen)).await;
    let frames = read_until(&mut second, Duration::from_secs(5), |f| f.len() >= 10).await;
    let ids: Vec<i64> = frames.iter().map(|f| f.id.unwrap()).collect();
    assert_eq!(ids, missed);
    second.assert_quiet(Duration::from_millis(300)).await;
    let live = cluster.announce(0, "live").await;
    let frames = read_until(&mut second, Duration::from_secs(5), |f| !f.is_empty()).await;
    assert_eq!(frames[0].id, Some(live));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn a_logout_on_one_node_ends_the_tokens_streams_on_the_others_at_once() {
    require_postgres();
    let cluster = Cluster::start(3, &[]).await;
    let (alice, token) = cluster.member("alice", 0).await;
    let mut on_one = cluster.stream(1, Some(&token), None).await;
    let mut on_two = cluster.stream(2, Some(&token), None).await;
    assert_eq!(on_one.next().await.event, "ready");
    assert_eq!(on_two.next().await.event, "ready");

    let res = cluster
        .http
        .post(cluster.nodes[0].url("/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let started = tokio::time::Instant::now();
    for stream in [&mut on_one, &mut on_two] {
        while let Some(frame) = stream.next_within(Duration::from_secs(2)).await {
            assert_ne!(
                frame.event, "balance:updated",
                "nothing private after the logout"
            );
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "ended within a second: {:?}",
        started.elapsed()
    );
    // Every node refuses the token at once, not after its session cache expires.
    for node in 0..3 {
        let res = cluster
            .http
            .get(cluster.nodes[node].url("/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "node {node}");
    }
    let _ = alice;
}
