//! The drop feed's reveal on several nodes: a drop scheduled by one node is published once, by
//! whichever node comes to it first, and still when the node that scheduled it dies first.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::{Cluster, require_postgres};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn a_drop_scheduled_by_a_node_that_dies_is_published_once_by_another() {
    require_postgres();
    let mut cluster = Cluster::start(2, &["--drop-reveal-ms", "1500"]).await;
    let (alice, token) = cluster.member("alice", 0).await;
    let fund = cluster
        .http
        .post(cluster.nodes[0].url(&format!("/v1/admin/users/{alice}/balance")))
        .bearer_auth(&cluster.admin_token)
        .json(&json!({ "delta": 10_000, "reason": "test funds" }))
        .send()
        .await
        .unwrap();
    assert_eq!(fund.status(), 200);
    let case: serde_json::Value = cluster
        .http
        .post(cluster.nodes[0].url("/v1/admin/cases"))
        .bearer_auth(&cluster.admin_token)
        .json(
            &json!({"name": "Fair", "price": 100, "image_url": "", "items": [
            {"name": "a", "rarity": "common", "value": 1, "weight": 3},
            {"name": "b", "rarity": "rare", "value": 2, "weight": 1}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut watcher = cluster.stream(1, None, None).await;
    assert_eq!(watcher.next().await.event, "ready");

    // Opened on node 0, which dies before the drop is due: node 1 publishes it. (The clock starts
    // before the request: node 0 schedules the drop after the request reached it.)
    let opened_at = Instant::now();
    let opened = cluster
        .http
        .post(cluster.nodes[0].url(&format!("/v1/cases/{}/open", case["id"])))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    drop(cluster.nodes.remove(0));
    let drop = watcher.next_named("drop:new").await;
    assert!(
        opened_at.elapsed() >= Duration::from_millis(1_500),
        "published after {:?}",
        opened_at.elapsed()
    );
    assert!(drop.id.is_some());
    watcher.assert_quiet(Duration::from_millis(2_000)).await;
}
