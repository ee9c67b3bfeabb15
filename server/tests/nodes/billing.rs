//! The billing bridge on several nodes: one node polls SmartShell at a time (the others stand by),
//! each payment is credited once, and when the polling node is killed another takes over within a
//! few intervals.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use crate::cluster::{Cluster, eventually, require_postgres};
use crate::stub::SmartShellStub;

/// Which node's bridge reports `state`.
async fn node_in(cluster: &Cluster, state: &str) -> Option<usize> {
    for node in 0..cluster.nodes.len() {
        if cluster.health(node).await.1["billing"]["state"] == state {
            return Some(node);
        }
    }
    None
}

/// A member's balance, asked of `node`.
async fn balance(cluster: &Cluster, node: usize, token: &str) -> i64 {
    let me: serde_json::Value = cluster
        .http
        .get(cluster.nodes[node].url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["balance"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: scripts/with-postgres.sh runs it"]
async fn one_node_polls_at_a_time_each_payment_is_credited_once_and_a_killed_poller_is_replaced() {
    require_postgres();
    let stub = SmartShellStub::start();
    let flags = stub.bridge_flags(200);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let mut cluster = Cluster::start(2, &flags).await;
    let (alice, token) = cluster.member("alice", 1).await;
    stub.add_client("c-alice").await;
    let res = cluster
        .http
        .put(cluster.nodes[0].url(&format!("/v1/admin/users/{alice}/smartshell")))
        .bearer_auth(&cluster.admin_token)
        .json(&json!({ "client_uuid": "c-alice" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    eventually(
        Duration::from_secs(10),
        "one node polling, one standing by",
        || async {
            node_in(&cluster, "ok").await.is_some() && node_in(&cluster, "standby").await.is_some()
        },
    )
    .await;

    for i in 0..10 {
        stub.pay("c-alice", 1_000 + i).await;
    }
    let first: i64 = (0..10).map(|i| 1_000 + i).sum();
    eventually(
        Duration::from_secs(10),
        "the first ten credited",
        || async { balance(&cluster, 1, &token).await == first },
    )
    .await;

    // Kill the poller: the other node takes the lease over and credits what comes next.
    let poller = node_in(&cluster, "ok").await.expect("a polling node");
    drop(cluster.nodes.remove(poller));
    for i in 0..10 {
        stub.pay("c-alice", 2_000 + i).await;
    }
    let total = first + (0..10).map(|i| 2_000 + i).sum::<i64>();
    // The survivor is node 0 now.
    eventually(
        Duration::from_secs(10),
        "the next ten credited by the other node",
        || async { balance(&cluster, 0, &token).await == total },
    )
    .await;
    assert_eq!(cluster.health(0).await.1["billing"]["state"], "ok");

    let mut db = sqlx::PgConnection::connect(&cluster.db.url).await.unwrap();
    let (lines,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM ledger WHERE user_id = $1 AND reason = 'topup'")
            .bind(alice)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(lines, 20, "each payment credited once");
}
