//! A node cut off from PostgreSQL while its clients stay connected to it, through a proxy the test
//! controls: the link stalls (packets dropped: nothing tells the node) or is cut (connections
//! closed and refused). Either way the node refuses writes at once and says so on `/health`, its
//! streams stay open and invent nothing, and when the link is back it catches up from the table:
//! its clients get what other nodes wrote meanwhile, once, in order.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::cluster::{Cluster, eventually, require_postgres, start_node};
use crate::proxy::{Link, Proxy, upstream_of};
use crate::read_until;

async fn cut_off_and_back(link: Link) {
    require_postgres();
    let mut cluster = Cluster::start(1, &[]).await;
    let proxy = Proxy::start(upstream_of(&cluster.db.url)).await;
    cluster
        .nodes
        .push(start_node(&proxy.url_through(&cluster.db.url), &[]));
    let mut stream = cluster.stream(1, None, None).await;
    assert_eq!(stream.next().await.event, "ready");
    let before = cluster.announce(1, "before the cut").await;
    assert_eq!(stream.next().await.id, Some(before));

    proxy.set(link);
    eventually(
        Duration::from_secs(10),
        "node 1 saying it lost the database",
        || async {
            let (status, health) = cluster.health(1).await;
            status == StatusCode::SERVICE_UNAVAILABLE && health["database"] == "unavailable"
        },
    )
    .await;
    assert_eq!(cluster.health(1).await.1["stream"], "active");
    let asked = Instant::now();
    let (status, body) = cluster.try_announce(1, "through the cut-off node").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "database_unavailable");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "refused at once: {:?}",
        asked.elapsed()
    );

    // The other node writes on; the cut-off node's stream stays open and shows nothing it cannot
    // know.
    let mut written = Vec::new();
    for n in 0..3 {
        written.push(
            cluster
                .announce(0, &format!("while node 1 is cut off, {n}"))
                .await,
        );
    }
    stream.assert_quiet(Duration::from_secs(2)).await;

    proxy.set(Link::Up);
    eventually(Duration::from_secs(15), "node 1's recovery", || async {
        cluster.health(1).await.0 == StatusCode::OK
    })
    .await;
    // On the same stream: what was written meanwhile, then a write through the node itself.
    let caught_up = read_until(&mut stream, Duration::from_secs(10), |f| f.len() >= 3).await;
    let ids: Vec<i64> = caught_up.iter().map(|f| f.id.unwrap()).collect();
    assert_eq!(ids, written, "every event once, in order");
    let after = cluster.announce(1, "after the cut").await;
    assert_eq!(stream.next().await.id, Some(after));
    let more = stream.drain_until_quiet(Duration::from_millis(1_500)).await;
    assert!(more.is_empty(), "nothing twice: {more:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn a_node_whose_database_link_stalls_refuses_writes_keeps_its_streams_and_catches_up_once() {
    cut_off_and_back(Link::Stalled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn a_node_whose_database_link_is_cut_refuses_writes_keeps_its_streams_and_catches_up_once() {
    cut_off_and_back(Link::Cut).await;
}
