//! Several CyberHub nodes on one PostgreSQL database (`run --postgres`): how a broadcast crosses
//! nodes, and many streams held by many nodes on one machine.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{Behaviour, ConnSpec};
use crate::scenarios::{SSE, latency_figures, publish_spaced};
use crate::stream_fleet::{Fleet, PER_WORKER};
use crate::target::Target;

/// Opens `clients` anonymous streams spread evenly over `nodes`, each node's share over worker
/// processes of `PER_WORKER` streams; returns the fleets and how long opening took.
async fn open_spread(
    nodes: &[&Target],
    clients: usize,
    behaviour: Behaviour,
) -> anyhow::Result<(Vec<Fleet>, Duration)> {
    let started = Instant::now();
    let mut fleets = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let share = clients / nodes.len() + usize::from(i < clients % nodes.len());
        let specs = vec![
            ConnSpec {
                path: node.sse_path().to_owned(),
                headers: String::new(),
            };
            share
        ];
        fleets.push(Fleet::open_spread(node.addr, specs, behaviour, PER_WORKER).await?);
    }
    Ok((fleets, started.elapsed()))
}

/// Fan-out to `clients` streams spread over `nodes`, every event published through the first node:
/// with one node, the single-node figure; with more, what crossing nodes costs.
pub async fn fanout_across(
    nodes: &[&Target],
    clients: usize,
    events: u32,
) -> anyhow::Result<Value> {
    let (mut fleets, _) = open_spread(nodes, clients, SSE).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let published = publish_spaced(nodes[0], 1, events, Duration::from_millis(200)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut stats = Vec::new();
    let mut connected = 0;
    for fleet in &mut fleets {
        stats.extend(fleet.report(None).await?);
        connected += fleet.connected;
    }
    for fleet in fleets {
        fleet.close().await;
    }
    let mut figures = latency_figures(&published, &stats, connected);
    figures.as_object_mut().map(|f| f.remove("per_event"));
    figures["workload"] = json!("fanout-nodes");
    figures["target"] = json!("cyberhub");
    figures["nodes"] = json!(nodes.len());
    figures["clients"] = json!(connected);
    figures["failed"] = json!(clients - connected);
    eprintln!(
        "  fanout over {} node(s) x{connected}: p50 {} ms, p99 {} ms, last {} ms, lost {}, dup {}",
        nodes.len(),
        figures["p50_ms"],
        figures["p99_ms"],
        figures["last_client_ms"],
        figures["lost"],
        figures["duplicates"]
    );
    Ok(figures)
}

/// `clients` streams over all `nodes` at once: memory per stream (the nodes' RSS growth), how fast
/// they connected, and a few broadcasts that must reach every one of them.
pub async fn scale(nodes: &[&Target], clients: usize, events: u32) -> anyhow::Result<Value> {
    let rss_before: u64 = nodes.iter().map(|n| n.rss_kib()).sum();
    let behaviour = Behaviour {
        keep_receipts: true,
        ..SSE
    };
    let (mut fleets, took) = open_spread(nodes, clients, behaviour).await?;
    let connected: usize = fleets.iter().map(|f| f.connected).sum();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after: u64 = nodes.iter().map(|n| n.rss_kib()).sum();
    let per_stream =
        (rss_after.saturating_sub(rss_before)) as f64 * 1024.0 / connected.max(1) as f64;
    // Broadcasts a second apart: each must reach all of them before the next goes out.
    let published = publish_spaced(nodes[0], 1, events, Duration::from_secs(1)).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut stats = Vec::new();
    for fleet in &mut fleets {
        stats.extend(fleet.report(None).await?);
    }
    for fleet in fleets {
        fleet.close().await;
    }
    let mut figures = latency_figures(&published, &stats, connected);
    figures.as_object_mut().map(|f| f.remove("per_event"));
    figures["workload"] = json!("scale");
    figures["target"] = json!("cyberhub");
    figures["nodes"] = json!(nodes.len());
    figures["clients"] = json!(connected);
    figures["failed"] = json!(clients - connected);
    figures["connect_seconds"] = json!((took.as_secs_f64() * 10.0).round() / 10.0);
    figures["connects_per_s"] = json!((connected as f64 / took.as_secs_f64()).round());
    figures["bytes_per_stream"] = json!(per_stream.round());
    figures["rss_mib_all_nodes"] = json!((rss_after as f64 / 1024.0).round());
    eprintln!(
        "  scale over {} nodes: {connected} streams ({} failed) opened in {:.1} s, {per_stream:.0} B/stream; \
         broadcast p50 {} ms, last {} ms, lost {}, dup {}",
        nodes.len(),
        clients - connected,
        took.as_secs_f64(),
        figures["p50_ms"],
        figures["last_client_ms"],
        figures["lost"],
        figures["duplicates"]
    );
    Ok(figures)
}
