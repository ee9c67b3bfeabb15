//! The attacks of the hardening issue, each run against a fresh `serve --demo` server with its
//! limits as configured, while normal members stream from it: what the attack costs the server
//! (RSS, kernel socket memory) and the members (`/health` and login latency, fan-out p99).
//!
//! Run against the binary from before the hardening and after it (`bench/run-attacks.sh`), the two
//! sets of rows are the before/after figures of BENCHMARKS.md.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::attack_fleet::{Attack, Attackers};
use crate::client::{Behaviour, ConnSpec};
use crate::scenarios::{SSE, latency_figures, median, publish_spaced};
use crate::stream_fleet::{Fleet, next_source};
use crate::target::Target;

/// Counts for one mode.
pub struct AttackPlan {
    /// Normal members streaming during every attack, at most 100 per source address.
    normal_clients: usize,
    fanout_events: u32,
    /// Concurrent wrong-password logins, and for how long.
    login_attackers: usize,
    login_secs: u64,
    /// Unfinished requests per attacking address (two addresses), and how long they are held.
    slowloris_per_source: usize,
    slowloris_secs: u64,
    /// Streams that never read (100 per address), and how long the flood of announcements lasts.
    slow_readers: usize,
    flood_secs: u64,
    /// Events in the outbox before the replaying streams connect, and how many streams.
    replay_events: u32,
    replay_streams: usize,
}

impl AttackPlan {
    pub fn quick() -> AttackPlan {
        AttackPlan {
            normal_clients: 200,
            fanout_events: 5,
            login_attackers: 16,
            login_secs: 3,
            slowloris_per_source: 500,
            slowloris_secs: 3,
            slow_readers: 200,
            flood_secs: 3,
            replay_events: 2_000,
            replay_streams: 10,
        }
    }

    /// The counts the issue reported its findings at.
    pub fn full() -> AttackPlan {
        AttackPlan {
            normal_clients: 1_000,
            fanout_events: 20,
            login_attackers: 64,
            login_secs: 10,
            slowloris_per_source: 12_000,
            slowloris_secs: 12,
            slow_readers: 1_000,
            flood_secs: 12,
            replay_events: 60_000,
            replay_streams: 50,
        }
    }
}

/// Runs the attacks named in `only` (all when empty) against `bin`, labelled `label` in the rows.
pub async fn run(
    bin: &Path,
    label: &str,
    plan: &AttackPlan,
    only: &[String],
    env: &[(&str, &str)],
) -> anyhow::Result<Vec<Value>> {
    let wants = |w: &str| only.is_empty() || only.iter().any(|o| o == w);
    let mut rows = Vec::new();
    if wants("baseline") {
        rows.push(attack(bin, label, plan, env, "baseline", 0, |_| async { Ok(()) }).await?);
    }
    if wants("logins") {
        rows.push(logins(bin, label, plan, env).await?);
    }
    if wants("slowloris") {
        rows.push(slowloris(bin, label, plan, env).await?);
    }
    if wants("slow-readers") {
        rows.push(slow_readers(bin, label, plan, env).await?);
    }
    if wants("replay") {
        rows.push(replay(bin, label, plan, env).await?);
    }
    Ok(rows)
}

/// A loopback address of the bench's own (well above the fleets' 127.0.0.2 upward).
fn source(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, n))
}

/// Runs `during` (the attack) while measuring: normal members' fan-out, `/health` and login
/// latency from another address, the server's RSS and the kernel's TCP memory. `prefill` events are
/// written before anything is measured. `during` gets the target and returns when the attack is
/// over; its own figures go under `attack`.
async fn attack<F, Fut>(
    bin: &Path,
    label: &str,
    plan: &AttackPlan,
    env: &[(&str, &str)],
    name: &str,
    prefill: u32,
    during: F,
) -> anyhow::Result<Value>
where
    F: FnOnce(Arc<Target>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let target = Arc::new(Target::cyberhub_demo(bin, env).await?);
    let mut probe_users = Vec::new();
    for _ in 0..PROBE_USERS {
        probe_users.push(create_probe_user(&target).await?);
    }
    fill_outbox(&target, prefill).await;
    let normal = (0..plan.normal_clients)
        .map(|_| ConnSpec {
            path: "/v1/events".into(),
            headers: String::new(),
        })
        .collect();
    let mut fleet = Fleet::open_spread(target.addr, normal, SSE, 100).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = target.rss_kib();
    let tcp_before = kernel_tcp_kib();

    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_memory(target.clone(), done.clone()));
    let probing = tokio::spawn(probe(target.clone(), probe_users, done.clone()));
    let published = {
        let target = target.clone();
        let events = plan.fanout_events;
        tokio::spawn(async move {
            // Give the attack a moment to build up before the members' events go out.
            tokio::time::sleep(Duration::from_millis(500)).await;
            publish_spaced(&target, 1, events, Duration::from_millis(200)).await
        })
    };
    let outcome = during(target.clone()).await;
    let published = published.await??;
    tokio::time::sleep(Duration::from_secs(2)).await;
    done.store(true, Ordering::Relaxed);
    let (rss_peak, tcp_peak) = sampler.await?;
    let probes = probing.await?;
    let stats = fleet.report(None).await?;
    let connected = fleet.connected;
    fleet.close().await;
    outcome?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = target.rss_kib();
    let mut fanout = latency_figures(&published, &stats, connected);
    fanout.as_object_mut().map(|f| f.remove("per_event"));
    let row = json!({
        "workload": format!("attack-{name}"), "target": label, "clients": connected,
        "rss_mib": {"before": mib(rss_before), "peak": mib(rss_peak), "after": mib(rss_after)},
        "kernel_tcp_mib": {"before": mib(tcp_before), "peak": mib(tcp_peak)},
        "health_ms": probes.health, "login_ms": probes.login,
        "fanout": fanout,
    });
    eprintln!("  {name} ({label}): {row}");
    if let Ok(target) = Arc::try_unwrap(target) {
        let mut target = target;
        target.stop(true).await?;
    }
    Ok(row)
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

/// 64 concurrent wrong-password logins from one address, without pause.
async fn logins(
    bin: &Path,
    label: &str,
    plan: &AttackPlan,
    env: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let statuses = Arc::new(std::sync::Mutex::new(BTreeMap::<String, u64>::new()));
    let counted = statuses.clone();
    let (attackers, secs) = (plan.login_attackers, plan.login_secs);
    let mut row = attack(
        bin,
        label,
        plan,
        env,
        "logins",
        0,
        move |target| async move {
            let http = reqwest::Client::builder()
                .local_address(source(10))
                .timeout(Duration::from_secs(30))
                .build()?;
            let deadline = Instant::now() + Duration::from_secs(secs);
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..attackers {
                let (http, counted, url) = (
                    http.clone(),
                    counted.clone(),
                    format!("http://{}/v1/auth/login", target.addr),
                );
                tasks.spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        n += 1;
                        let body = json!({"username": "bob", "password": format!("guess-{i}-{n}")});
                        let status = match http.post(&url).json(&body).send().await {
                            Ok(res) => res.status().as_u16().to_string(),
                            Err(_) => "error".into(),
                        };
                        *counted.lock().unwrap().entry(status).or_default() += 1;
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
            Ok(())
        },
    )
    .await?;
    row["attack"] =
        json!({"concurrent": attackers, "seconds": secs, "answers": *statuses.lock().unwrap()});
    Ok(row)
}

/// Requests whose body never comes, from two addresses, held open.
async fn slowloris(
    bin: &Path,
    label: &str,
    plan: &AttackPlan,
    env: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let figures = Arc::new(std::sync::Mutex::new(json!({})));
    let noted = figures.clone();
    let (per_source, secs) = (plan.slowloris_per_source, plan.slowloris_secs);
    let mut row = attack(bin, label, plan, env, "slowloris", 0, move |target| async move {
        let sources = [source(20), source(21)];
        let mut attackers =
            Attackers::open(target.addr, Attack::Slowloris, &sources, per_source, 6_000).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let open_early = attackers.still_open().await?;
        tokio::time::sleep(Duration::from_secs(secs.saturating_sub(2))).await;
        let open_late = attackers.still_open().await?;
        *noted.lock().unwrap() = json!({
            "attempted": 2 * per_source, "connected": attackers.connected, "failed": attackers.failed,
            "held_after_2s": open_early, "held_after_s": secs, "held_at_end": open_late,
        });
        attackers.close().await;
        Ok(())
    })
    .await?;
    row["attack"] = figures.lock().unwrap().clone();
    Ok(row)
}

/// Streams that never read, from ten addresses, under a flood of announcements.
async fn slow_readers(
    bin: &Path,
    label: &str,
    plan: &AttackPlan,
    env: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let figures = Arc::new(std::sync::Mutex::new(json!({})));
    let noted = figures.clone();
    let (readers, secs, normal) = (plan.slow_readers, plan.flood_secs, plan.normal_clients);
    let mut row = attack(bin, label, plan, env, "slow-readers", 0, move |target| async move {
        let sources: Vec<IpAddr> = (0..readers.div_ceil(100)).map(|i| source(30 + i as u8)).collect();
        let attackers = Attackers::open(
            target.addr,
            Attack::SlowReader {
                receive_buffer: 2_048,
            },
            &sources,
            100,
            6_000,
        )
        .await?;
        // The flood: announcements of 480 characters at a fixed rate, the same for every binary
        // (a busy drop feed), from 8 publishers.
        let deadline = Instant::now() + Duration::from_secs(secs);
        let published = Arc::new(AtomicU32::new(0));
        let mut flood = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (target, published) = (target.clone(), published.clone());
            let gap = Duration::from_secs_f64(8.0 / f64::from(FLOOD_PER_SECOND));
            flood.spawn(async move {
                let text = "x".repeat(480);
                let mut next = Instant::now();
                while Instant::now() < deadline {
                    if target.announce(&text).await.is_ok() {
                        published.fetch_add(1, Ordering::Relaxed);
                    }
                    next += gap;
                    tokio::time::sleep_until(next.into()).await;
                }
            });
        }
        while flood.join_next().await.is_some() {}
        tokio::time::sleep(Duration::from_secs(2)).await;
        let sse_now = target.health_sse_clients().await;
        *noted.lock().unwrap() = json!({
            "slow_streams": attackers.connected, "flood_announcements": published.load(Ordering::Relaxed), "flood_per_second_offered": FLOOD_PER_SECOND,
            "flood_seconds": secs,
            "slow_streams_open_2s_after_the_flood": sse_now.map(|n| n.saturating_sub(normal as u64)),
        });
        attackers.close().await;
        Ok(())
    })
    .await?;
    row["attack"] = figures.lock().unwrap().clone();
    Ok(row)
}

/// Announcements per second in the slow-reader flood.
const FLOOD_PER_SECOND: u32 = 800;

/// Anonymous streams resuming from `Last-Event-ID: 0` over a long outbox.
async fn replay(
    bin: &Path,
    label: &str,
    plan: &AttackPlan,
    env: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let figures = Arc::new(std::sync::Mutex::new(json!({})));
    let noted = figures.clone();
    let (events, streams) = (plan.replay_events, plan.replay_streams);
    let mut row = attack(bin, label, plan, env, "replay", events, move |target| async move {
        let specs = (0..streams)
            .map(|_| ConnSpec {
                path: "/v1/events".into(),
                headers: "last-event-id: 0\r\n".into(),
            })
            .collect();
        let cpu_before = target.cpu_us();
        let behaviour = Behaviour {
            keep_receipts: false,
            ..SSE
        };
        let fleet = Fleet::open_spread(target.addr, specs, behaviour, 100).await?;
        // What a member listing the cases meanwhile waits.
        let http = reqwest::Client::builder()
            .local_address(source(40))
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut cases_ms = Vec::new();
        for _ in 0..50 {
            let started = Instant::now();
            let ok = http
                .get(format!("http://{}/v1/cases", target.addr))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                cases_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let cpu_ms = (target.cpu_us() - cpu_before) as f64 / 1000.0;
        let answered = cases_ms.len();
        *noted.lock().unwrap() = json!({
            "outbox_events": events, "replaying_streams": fleet.connected,
            "cases_p50_ms": (median(&mut cases_ms) * 10.0).round() / 10.0, "cases_answered": answered,
            "server_cpu_ms_in_those_5s": cpu_ms.round(),
        });
        fleet.close().await;
        Ok(())
    })
    .await?;
    row["attack"] = figures.lock().unwrap().clone();
    Ok(row)
}

/// Writes `events` short announcements from 16 publishers: a long outbox.
async fn fill_outbox(target: &Arc<Target>, events: u32) {
    let next = Arc::new(AtomicU32::new(0));
    let mut filling = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (target, next) = (target.clone(), next.clone());
        filling.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < events {
                let _ = target.announce("x").await;
            }
        });
    }
    while filling.join_next().await.is_some() {}
}

/// A member the probes sign in as (so an attack on one name does not lock the probe out).
async fn create_probe_user(target: &Target) -> anyhow::Result<String> {
    let name = format!("probe{}", rand::random::<u32>() % 1_000_000);
    let res = reqwest::Client::new()
        .post(format!("http://{}/v1/admin/users", target.addr))
        .bearer_auth(target.admin_token().unwrap_or_default())
        .json(&json!({"username": name, "password": PROBE_PASSWORD, "role": "user"}))
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_success(),
        "creating the probe user: {}",
        res.status()
    );
    Ok(name)
}

const PROBE_PASSWORD: &str = "probe-password-1";
/// Members the login probe takes turns with, each from an address of its own each time, so that the
/// server's per-name and per-address login limits never refuse the probe itself.
const PROBE_USERS: usize = 4;

struct Probes {
    health: Value,
    login: Value,
}

/// `/health` every 500 ms and a login every 2 s, each on a fresh connection, until `done`: median
/// and worst latency, and how many failed (no answer within 5 s, or an error status).
async fn probe(target: Arc<Target>, users: Vec<String>, done: Arc<AtomicBool>) -> Probes {
    let http = reqwest::Client::builder()
        .local_address(next_source())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a client");
    let (mut health, mut login) = (Vec::new(), Vec::new());
    let (mut health_failed, mut login_failed) = (0u32, 0u32);
    let mut tick = 0u32;
    while !done.load(Ordering::Relaxed) {
        let started = Instant::now();
        match http
            .get(format!("http://{}/health", target.addr))
            .send()
            .await
        {
            Ok(res) if res.status().is_success() => {
                health.push(started.elapsed().as_secs_f64() * 1000.0)
            }
            _ => health_failed += 1,
        }
        if tick.is_multiple_of(4) {
            let user = &users[(tick / 4) as usize % users.len()];
            let login_http = reqwest::Client::builder()
                .local_address(next_source())
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a client");
            let started = Instant::now();
            let res = login_http
                .post(format!("http://{}/v1/auth/login", target.addr))
                .json(&json!({"username": user, "password": PROBE_PASSWORD}))
                .send()
                .await;
            match res {
                Ok(res) if res.status().is_success() => {
                    login.push(started.elapsed().as_secs_f64() * 1000.0)
                }
                _ => login_failed += 1,
            }
        }
        tick += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let summary = |values: &mut Vec<f64>, failed: u32| {
        let worst = values.iter().copied().fold(0.0, f64::max);
        json!({"median": (median(values) * 10.0).round() / 10.0, "worst": (worst * 10.0).round() / 10.0,
               "ok": values.len(), "failed": failed})
    };
    Probes {
        health: summary(&mut health, health_failed),
        login: summary(&mut login, login_failed),
    }
}

/// The peak RSS of the server and of the kernel's TCP buffers, sampled every 200 ms until `done`.
async fn sample_memory(target: Arc<Target>, done: Arc<AtomicBool>) -> (u64, u64) {
    let (mut rss, mut tcp) = (0, 0);
    while !done.load(Ordering::Relaxed) {
        rss = rss.max(target.rss_kib());
        tcp = tcp.max(kernel_tcp_kib());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (rss, tcp)
}

/// Memory in the kernel's TCP buffers, machine-wide (`/proc/net/sockstat`, in pages), in KiB.
pub fn kernel_tcp_kib() -> u64 {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let pages = text
        .lines()
        .find(|l| l.starts_with("TCP:"))
        .and_then(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "mem")?;
            words.get(at + 1)?.parse::<u64>().ok()
        })
        .unwrap_or(0);
    pages * 4
}

/// One row per attack: before and after side by side.
pub fn print(rows: &[Value]) {
    println!(
        "\n{:<20} {:<7} {:>9} {:>9} {:>10} {:>10} {:>11}  (MiB, ms)",
        "attack", "binary", "RSS peak", "RSS after", "kernel TCP", "health p50", "members p99"
    );
    for r in rows {
        println!(
            "{:<20} {:<7} {:>9} {:>9} {:>10} {:>10} {:>11}  health failed {}, login {} ms (worst {}, failed {}); {}",
            r["workload"].as_str().unwrap_or(""),
            r["target"].as_str().unwrap_or(""),
            r["rss_mib"]["peak"],
            r["rss_mib"]["after"],
            r["kernel_tcp_mib"]["peak"],
            r["health_ms"]["median"],
            r["fanout"]["p99_ms"],
            r["health_ms"]["failed"],
            r["login_ms"]["median"],
            r["login_ms"]["worst"],
            r["login_ms"]["failed"],
            r.get("attack").map(|a| a.to_string()).unwrap_or_default(),
        );
    }
}
