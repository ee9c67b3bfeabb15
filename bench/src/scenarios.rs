//! The workloads. Each returns its figures as JSON; losses and duplicates are counted, never assumed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{Behaviour, ConnSpec, ConnStats, now_us};
use crate::stream_fleet::Fleet;
use crate::target::{BenchUser, Target};

pub const SSE: Behaviour = Behaviour {
    keep_receipts: true,
    reconnect: false,
    long_poll: false,
    hold: false,
};

/// The `p`-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The median of a list of figures.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn ms(us: u64) -> f64 {
    (us as f64 / 100.0).round() / 10.0
}

/// Anonymous streams, or (for CyberHub) every other one authenticated as a seeded user.
fn stream_specs(target: &Target, users: &[BenchUser], n: usize, offset: usize) -> Vec<ConnSpec> {
    (offset..offset + n)
        .map(|i| {
            let user = if i % 2 == 1 { users.get(i / 2) } else { None };
            ConnSpec {
                path: target.sse_path().to_owned(),
                headers: user
                    .map(|u| format!("authorization: Bearer {}\r\n", u.token))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Idle streams: RSS growth per stream as the count climbs through `steps`.
pub async fn idle(target: &Target, users: &[BenchUser], steps: &[usize]) -> anyhow::Result<Value> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base = target.rss_kib();
    let mut fleets = Vec::new();
    let mut open = 0;
    let (mut prev_open, mut prev_rss) = (0usize, base);
    let mut rows = Vec::new();
    for &step in steps {
        let add = step.saturating_sub(open);
        let fleet = Fleet::open(target.addr, stream_specs(target, users, add, open), SSE).await?;
        open += fleet.connected;
        let failed = fleet.failed;
        fleets.push(fleet);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let rss = target.rss_kib();
        let per_stream = (rss.saturating_sub(base)) as f64 * 1024.0 / open.max(1) as f64;
        // The growth since the previous step: free of whatever the allocator held from start-up.
        let marginal = (rss.saturating_sub(prev_rss)) as f64 * 1024.0
            / open.saturating_sub(prev_open).max(1) as f64;
        (prev_open, prev_rss) = (open, rss);
        eprintln!(
            "  idle {}: {open} streams open ({failed} failed), RSS {rss} KiB, {per_stream:.0} B/stream ({marginal:.0} B each since the last step)",
            target.name()
        );
        rows.push(json!({"requested": step, "open": open, "failed": failed, "rss_kib": rss, "base_rss_kib": base,
                          "bytes_per_stream": per_stream.round(), "marginal_bytes_per_stream": marginal.round()}));
    }
    for fleet in fleets {
        fleet.close().await;
    }
    Ok(json!({"target": target.name(), "workload": "idle", "steps": rows}))
}

/// Publishes `events` marked events `gap` apart; returns their publish times by marker.
pub async fn publish_spaced(
    target: &Target,
    first_seq: u32,
    events: u32,
    gap: Duration,
) -> anyhow::Result<Vec<(u32, u64)>> {
    let mut published = Vec::new();
    for seq in first_seq..first_seq + events {
        let started = Instant::now();
        let at = now_us();
        target.publish(seq).await?;
        published.push((seq, at));
        tokio::time::sleep(gap.saturating_sub(started.elapsed())).await;
    }
    Ok(published)
}

/// Per-event latency figures from receipts: the medians over events of p50, p99, max and the time
/// until the last client had the event, and how many deliveries never happened.
pub fn latency_figures(published: &[(u32, u64)], stats: &[ConnStats], clients: usize) -> Value {
    let mut per_event = Vec::new();
    let (mut p50s, mut p99s, mut maxes) = (Vec::new(), Vec::new(), Vec::new());
    let mut lost = 0u64;
    for &(seq, at) in published {
        let mut lat: Vec<u64> = stats
            .iter()
            .flat_map(|s| s.receipts.iter())
            .filter(|(s, _)| *s == seq)
            .map(|(_, t)| t.saturating_sub(at))
            .collect();
        lat.sort_unstable();
        lost += clients.saturating_sub(lat.len()) as u64;
        let (p50, p99, max) = (
            percentile(&lat, 50.0),
            percentile(&lat, 99.0),
            lat.last().copied().unwrap_or(0),
        );
        p50s.push(ms(p50));
        p99s.push(ms(p99));
        maxes.push(ms(max));
        per_event.push(json!({"seq": seq, "received": lat.len(), "p50_ms": ms(p50), "p99_ms": ms(p99), "last_ms": ms(max)}));
    }
    let duplicates: u64 = stats.iter().map(|s| s.duplicates).sum();
    json!({
        "p50_ms": median(&mut p50s), "p99_ms": median(&mut p99s), "last_client_ms": median(&mut maxes),
        "lost": lost, "duplicates": duplicates, "per_event": per_event,
    })
}

/// Fan-out latency: `clients` streams, `events` publishes 200 ms apart.
pub async fn fanout(
    target: &Target,
    users: &[BenchUser],
    clients: usize,
    events: u32,
    long_poll: bool,
) -> anyhow::Result<Value> {
    let behaviour = Behaviour { long_poll, ..SSE };
    let specs = if long_poll {
        let path = "/v1/events/poll?timeout=25".to_owned();
        vec![
            ConnSpec {
                path,
                headers: String::new()
            };
            clients
        ]
    } else {
        stream_specs(target, users, clients, 0)
    };
    let mut fleet = Fleet::open(target.addr, specs, behaviour).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_before = target.cpu_us();
    let published = publish_spaced(target, 1, events, Duration::from_millis(200)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = target.cpu_us() - cpu_before;
    let stats = fleet.report(None).await?;
    let connected = fleet.connected;
    fleet.close().await;
    let mut figures = latency_figures(&published, &stats, connected);
    figures["target"] = json!(target.name());
    figures["workload"] = json!(if long_poll {
        "longpoll-fanout"
    } else {
        "fanout"
    });
    figures["clients"] = json!(connected);
    figures["failed"] = json!(clients - connected);
    // Includes heartbeats and the publish requests; with 20 events to every client, deliveries
    // dominate.
    let deliveries = (connected as u64 * published.len() as u64).max(1);
    figures["server_cpu_us_per_delivery"] =
        json!((cpu as f64 / deliveries as f64 * 100.0).round() / 100.0);
    eprintln!(
        "  {} {} x{connected}: p50 {} ms, p99 {} ms, last {} ms, lost {}, dup {}, {} µs server CPU per delivery",
        figures["workload"].as_str().unwrap_or(""),
        target.name(),
        figures["p50_ms"],
        figures["p99_ms"],
        figures["last_client_ms"],
        figures["lost"],
        figures["duplicates"],
        figures["server_cpu_us_per_delivery"]
    );
    Ok(figures)
}

/// The memory an idle kept-alive HTTP connection costs: `clients` connections each answered one
/// request (`/health`) and then held; RSS growth per connection.
pub async fn http_connection_cost(target: &Target, clients: usize) -> anyhow::Result<f64> {
    waiting_cost(target, "/health", true, clients).await
}

/// Memory a waiting long-poll costs: `clients` long-polls (`timeout=60`, no events come) held
/// waiting; RSS growth per client. The first poll (no cursor) answers at once; the client then
/// waits in its second.
pub async fn longpoll_waiting_cost(target: &Target, clients: usize) -> anyhow::Result<f64> {
    waiting_cost(target, "/v1/events/poll?timeout=60", false, clients).await
}

/// Server RSS growth per connection while `clients` connections to `path` wait, each after its
/// first answer (holding the connection there with `hold`).
async fn waiting_cost(
    target: &Target,
    path: &str,
    hold: bool,
    clients: usize,
) -> anyhow::Result<f64> {
    let base = target.rss_kib();
    let behaviour = Behaviour {
        keep_receipts: false,
        reconnect: false,
        long_poll: true,
        hold,
    };
    let specs = vec![
        ConnSpec {
            path: path.to_owned(),
            headers: String::new()
        };
        clients
    ];
    let fleet = Fleet::open(target.addr, specs, behaviour).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let per =
        (target.rss_kib().saturating_sub(base)) as f64 * 1024.0 / fleet.connected.max(1) as f64;
    fleet.close().await;
    Ok(per.round())
}

/// Throughput: `clients` streams while `publishers` loops publish as fast as they can for `secs`.
pub async fn throughput(
    target: &Target,
    clients: usize,
    secs: u64,
    publishers: usize,
) -> anyhow::Result<Value> {
    let behaviour = Behaviour {
        keep_receipts: false,
        ..SSE
    };
    let specs = vec![
        ConnSpec {
            path: target.sse_path().to_owned(),
            headers: String::new()
        };
        clients
    ];
    let mut fleet = Fleet::open(target.addr, specs, behaviour).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seq = Arc::new(AtomicU32::new(1));
    let ok = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let cpu_before = target.cpu_us();
    let started_us = now_us();
    let deadline = Instant::now() + Duration::from_secs(secs);
    // Each publisher is a task of its own, so they really publish side by side.
    let mut publishing = tokio::task::JoinSet::new();
    for _ in 0..publishers {
        let (seq, ok, client) = (seq.clone(), ok.clone(), target.clone_client());
        publishing.spawn(async move {
            while Instant::now() < deadline {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if client.publish(n).await.is_ok() {
                    ok.lock().unwrap().insert(n);
                }
            }
        });
    }
    while publishing.join_next().await.is_some() {}
    let published_us = now_us() - started_us;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu = target.cpu_us() - cpu_before;
    let stats = fleet.report(None).await?;
    fleet.close().await;
    let expected: Vec<u32> = ok.lock().unwrap().iter().copied().collect();
    let delivered: u64 = stats.iter().map(|s| s.count).sum();
    let lost: u64 = stats
        .iter()
        .map(|s| s.missing(expected.iter().copied()))
        .sum();
    let duplicates: u64 = stats.iter().map(|s| s.duplicates).sum();
    let last = stats.iter().map(|s| s.last_us).max().unwrap_or(started_us);
    let span_s = (last.saturating_sub(started_us)) as f64 / 1e6;
    let per_s = delivered as f64 / span_s.max(1e-3);
    eprintln!(
        "  throughput {} x{}: {} events published, {:.0} delivered/s, {:.2} µs CPU per delivery, lost {lost}, dup {duplicates}",
        target.name(),
        stats.len(),
        expected.len(),
        per_s,
        cpu as f64 / delivered.max(1) as f64
    );
    Ok(json!({
        "target": target.name(), "workload": "throughput", "clients": stats.len(), "published": expected.len(),
        "publish_seconds": published_us as f64 / 1e6, "delivered": delivered, "delivered_per_s": per_s.round(),
        "server_cpu_us_per_delivery": (cpu as f64 / delivered.max(1) as f64 * 100.0).round() / 100.0,
        "lost": lost, "duplicates": duplicates,
    }))
}

/// Per-user traffic: a stream per user, case openings at `rate` per second for `secs`; latency from
/// the open request to that user's `balance:updated`.
pub async fn per_user(
    target: &Target,
    users: &[BenchUser],
    case_id: i64,
    rate: u32,
    secs: u64,
) -> anyhow::Result<Value> {
    let specs: Vec<ConnSpec> = users
        .iter()
        .map(|u| ConnSpec {
            path: "/v1/events".into(),
            headers: format!("authorization: Bearer {}\r\n", u.token),
        })
        .collect();
    let mut fleet = Fleet::open(
        target.addr,
        specs,
        Behaviour {
            keep_receipts: false,
            ..SSE
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = rate as u64 * secs;
    let sends = Arc::new(std::sync::Mutex::new(vec![Vec::<u64>::new(); users.len()]));
    let failures = Arc::new(AtomicU32::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(256));
    let cpu_before = target.cpu_us();
    let started = Instant::now();
    let started_us = now_us();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = tokio::task::JoinSet::new();
    let shared = Arc::new(target.clone_client());
    for k in 0..total {
        let due = started + interval.mul_f64(k as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = in_flight.clone().acquire_owned().await?;
        let u = (k as usize) % users.len();
        let (token, sends, failures, client) = (
            users[u].token.clone(),
            sends.clone(),
            failures.clone(),
            shared.clone(),
        );
        tasks.spawn(async move {
            let at = now_us();
            match client.open_case(&token, case_id).await {
                Ok(true) => sends.lock().unwrap()[u].push(at),
                _ => {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = target.cpu_us() - cpu_before;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = fleet.report(None).await?;
    fleet.close().await;
    let sends = sends.lock().unwrap().clone();
    let mut latencies = Vec::new();
    let mut unmatched = 0u64;
    for (user_sends, stat) in sends.iter().zip(&stats) {
        let mut times = user_sends.clone();
        times.sort_unstable();
        unmatched += (times.len() as u64).abs_diff(stat.balance_times.len() as u64);
        for (sent, got) in times.iter().zip(&stat.balance_times) {
            latencies.push(got.saturating_sub(*sent));
        }
    }
    latencies.sort_unstable();
    let ok = sends.iter().map(Vec::len).sum::<usize>();
    let figures = json!({
        "target": target.name(), "workload": "per-user", "users": users.len(), "offered_per_s": rate,
        "openings": ok, "failed_openings": failures.load(Ordering::Relaxed), "openings_per_s": (ok as f64 / elapsed).round(),
        "p50_ms": ms(percentile(&latencies, 50.0)), "p99_ms": ms(percentile(&latencies, 99.0)), "max_ms": ms(latencies.last().copied().unwrap_or(0)),
        "missing_or_extra_balance_events": unmatched,
        "server_cpu_us_per_opening": (cpu as f64 / ok.max(1) as f64).round(),
        "started_us": started_us,
    });
    eprintln!(
        "  per-user x{}: {} openings/s (offered {rate}), open→balance:updated p50 {} ms, p99 {} ms, unmatched {unmatched}",
        users.len(),
        figures["openings_per_s"],
        figures["p50_ms"],
        figures["p99_ms"]
    );
    Ok(figures)
}

/// Reconnect storm: `clients` streams with a steady flow of events; the server is restarted (graceful
/// or killed) and every client resumes with its `Last-Event-ID`.
pub async fn storm(
    target: &mut Target,
    clients: usize,
    kill: bool,
    events_per_s: u32,
) -> anyhow::Result<Value> {
    let behaviour = Behaviour {
        keep_receipts: true,
        reconnect: true,
        long_poll: false,
        hold: false,
    };
    let specs = vec![
        ConnSpec {
            path: "/v1/events".into(),
            headers: String::new()
        };
        clients
    ];
    let mut fleet = Fleet::open(target.addr, specs, behaviour).await?;
    let seq = Arc::new(AtomicU32::new(1));
    let ok = Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let publisher = {
        let (seq, ok, stop, client) =
            (seq.clone(), ok.clone(), stop.clone(), target.clone_client());
        tokio::spawn(async move {
            let gap = Duration::from_secs_f64(1.0 / events_per_s as f64);
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if client.publish(n).await.is_ok() {
                    ok.lock().unwrap().insert(n);
                }
                tokio::time::sleep(gap.saturating_sub(started.elapsed())).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stopped_us = now_us();
    target.restart(kill).await?;
    let up_us = now_us();
    let cpu_before = target.cpu_us();
    // The first event published once the new server is up: a client has caught up when it has it
    // (a resumed stream replays in order, so it then has everything before it too).
    let mark = seq.load(Ordering::Relaxed) + 1;
    let mut caught_up_us = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let stats = fleet.report(Some(mark)).await?;
        if stats.iter().all(|s| s.has(mark)) {
            caught_up_us = stats
                .iter()
                .flat_map(|s| s.receipts.iter())
                .map(|(_, t)| *t)
                .max();
            break;
        }
    }
    let cpu = target.cpu_us() - cpu_before;
    let replays = target.metric("cyberhub_outbox_replay_queries_total").await;
    let resumes = target.metric("cyberhub_resumes_total").await;
    stop.store(true, Ordering::Relaxed);
    publisher.await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = fleet.report(None).await?;
    fleet.close().await;
    let expected: Vec<u32> = ok.lock().unwrap().iter().copied().collect();
    let lost: u64 = stats
        .iter()
        .map(|s| s.missing(expected.iter().copied()))
        .sum();
    let duplicates: u64 = stats.iter().map(|s| s.duplicates).sum();
    let reconnects: u64 = stats.iter().map(|s| s.reconnects).sum();
    let caught_up = caught_up_us.map(|t| ms(t.saturating_sub(up_us)));
    let figures = json!({
        "target": target.name(), "workload": if kill { "storm-kill" } else { "storm-graceful" },
        "clients": stats.len(), "events_published": expected.len(),
        "restart_ms": ms(up_us - stopped_us), "all_caught_up_ms_after_up": caught_up,
        "all_caught_up_ms_after_stop": caught_up_us.map(|t| ms(t.saturating_sub(stopped_us))),
        "lost": lost, "duplicates": duplicates, "reconnects": reconnects,
        "server_cpu_ms_until_caught_up": ms(cpu), "outbox_replay_queries": replays, "resumes": resumes,
    });
    eprintln!(
        "  storm ({}) x{}: restart {} ms, all caught up {:?} ms after the server was up, lost {lost}, dup {duplicates}, {replays} replay queries",
        if kill { "kill -9" } else { "graceful" },
        stats.len(),
        figures["restart_ms"],
        caught_up
    );
    Ok(figures)
}
