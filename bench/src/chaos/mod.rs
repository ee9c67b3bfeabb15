//! `cyberhub-bench chaos`: PostgreSQL with a synchronous replica, three nodes behind the
//! deployment's nginx, members playing and watching through the Rust SDK, and faults injected at
//! random for `--minutes`; then one question: was anything lost, duplicated or shown wrong?
//! ([`check`] says what is compared.) Exits non-zero on any violation.

mod check;
mod cluster;
mod database;
mod faults;
mod members;
// The tests' TCP proxy (stall, cut), shared rather than copied.
#[path = "../../../server/tests/support/proxy.rs"]
mod proxy;
mod watchers;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cyberhub_sdk::Transport;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use cluster::{NGINX, Nginx, Node};
use database::Pair;
use proxy::Proxy;
use watchers::Watcher;

#[derive(clap::Args)]
pub struct ChaosArgs {
    /// How long faults are injected (the run takes about a minute more: setup and checks).
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Members playing.
    #[arg(long, default_value_t = 8)]
    members: usize,
    /// Clients following the stream per member; the last of each member's on long-poll.
    #[arg(long, default_value_t = 3)]
    clients_per_member: usize,
    /// Members' writes per second, all together (openings, sales, chat); top-ups come besides,
    /// one every 2 s on average.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds between faults, on average.
    #[arg(long, default_value_t = 15.0)]
    fault_every: f64,
    /// The cyberhub binary (default: the one next to this executable).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// PostgreSQL's server binaries (default: pg_ctl's directory on PATH, or Debian's).
    #[arg(long)]
    pg_bin: Option<PathBuf>,
    /// Keep the nodes' and PostgreSQL's logs (they are kept anyway when a violation is found).
    #[arg(long)]
    keep: bool,
    /// Write the report as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
}

const NODES: usize = 3;
const CLIENT_LINKS: usize = 2;

pub async fn run(args: ChaosArgs) -> anyhow::Result<()> {
    let bin = match args.bin {
        Some(bin) => bin,
        None => std::env::current_exe()?.with_file_name("cyberhub"),
    };
    if !std::path::Path::new(NGINX).exists() {
        bail!("the chaos run needs {NGINX}: apt-get install nginx-light");
    }
    let pg_bin = match args.pg_bin {
        Some(dir) => dir,
        None => database::find_binaries()?,
    };
    let dir = tempfile::Builder::new()
        .prefix("cyberhub-chaos-")
        .tempdir()?;
    eprintln!(
        "chaos: PostgreSQL primary and synchronous replica ({})",
        pg_bin.display()
    );
    let mut pair = Pair::start(dir.path(), pg_bin).await?;
    let seeded = members::seed(&pair.primary_url(), args.members).await?;
    let fairness_key = format!(
        "{:016x}{:016x}{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>(),
        rand::random::<u64>(),
        rand::random::<u64>()
    );
    let mut nodes = Vec::new();
    for index in 0..NODES {
        let mut node = Node::new(index, &bin, &pair, &fairness_key, dir.path()).await?;
        node.start().await?;
        nodes.push(node);
    }
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let mut nginx = Nginx::start(&addrs, dir.path()).await?;
    let front = format!("http://{}", nginx.addr);
    let mut client_links = Vec::new();
    for _ in 0..CLIENT_LINKS {
        client_links.push(Proxy::start(nginx.addr).await);
    }
    let link_url = |n: usize| format!("http://{}", client_links[n % CLIENT_LINKS].addr);

    eprintln!(
        "chaos: {NODES} nodes behind nginx, {} members with {} clients each",
        args.members, args.clients_per_member
    );
    let watchers = watch(&seeded.members, args.clients_per_member, &link_url).await?;

    let writes = Arc::new(Mutex::new(Vec::new()));
    let stop = CancellationToken::new();
    let admin = members::rest_client(&front, &seeded.admin_token)?;
    let member_ids: Vec<i64> = seeded.members.iter().map(|m| m.id).collect();
    let players = play(&seeded, &admin, args.rate, &link_url, &writes, &stop)?;

    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.minutes * 60.0);
    eprintln!("chaos: playing for {} min, faults:", args.minutes);
    let injected = faults::run(
        until,
        Duration::from_secs_f64(args.fault_every),
        &mut nodes,
        &mut pair,
        &client_links,
        started,
    )
    .await?;
    stop.cancel();
    for player in players {
        player.await?;
    }

    // The drops still under their reveal delay come out; then one last event everybody is owed.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let last_event = announce_end(&admin).await?;
    let deadline = Instant::now() + Duration::from_secs(90);
    while watchers.iter().any(|w| w.position() < last_event) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for watcher in &watchers {
        watcher.client.close().await;
    }

    let writes = writes.lock().unwrap().clone();
    let verdict = check::check(
        &pair.primary_url(),
        &member_ids,
        &writes,
        &watchers,
        last_event,
    )
    .await?;
    nginx.stop().await;
    for node in &mut nodes {
        node.kill().await;
    }
    drop(pair);

    let report = json!({
        "write_gaps_over_3s": write_gaps(&writes, started),
        "minutes": args.minutes,
        "members": args.members,
        "clients": watchers.len(),
        "faults": injected.iter().map(|f| json!({
            "at_s": (f.at.as_secs_f64() * 10.0).round() / 10.0,
            "fault": f.fault.describe(),
            "healed_in_s": (f.took.as_secs_f64() * 10.0).round() / 10.0,
        })).collect::<Vec<_>>(),
        "counts": verdict.counts,
        "violations": verdict.violations,
    });
    print_report(&report, &injected);
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.keep || !verdict.violations.is_empty() {
        eprintln!("chaos: the logs are in {}", dir.path().display());
    }
    if args.keep {
        let _ = dir.keep();
    } else if !verdict.violations.is_empty() {
        let kept = dir.keep();
        bail!(
            "{} violations; the nodes' and PostgreSQL's logs are kept in {}",
            verdict.violations.len(),
            kept.display()
        );
    }
    Ok(())
}

/// Every member playing through its client link at `rate` writes a second in all, and the admin
/// topping them up every 2 s on average, until `stop`.
fn play(
    seeded: &members::Seeded,
    admin: &cyberhub_sdk::Client,
    rate: f64,
    link_url: &impl Fn(usize) -> String,
    writes: &members::WriteLog,
    stop: &CancellationToken,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut players = Vec::new();
    let pace = Duration::from_secs_f64(seeded.members.len() as f64 / rate);
    for (m, member) in seeded.members.iter().enumerate() {
        let client = members::rest_client(&link_url(m), &member.token)?;
        players.push(tokio::spawn(members::play(
            client,
            member.id,
            seeded.cases.clone(),
            pace,
            writes.clone(),
            stop.clone(),
        )));
    }
    players.push(tokio::spawn(members::top_up(
        admin.clone(),
        seeded.members.iter().map(|m| m.id).collect(),
        Duration::from_secs(2),
        writes.clone(),
        stop.clone(),
    )));
    Ok(players)
}

/// Every member's clients, started together: the last of each member's on long-poll, the others
/// on SSE (falling back as the SDK does), spread over the client links.
async fn watch(
    members: &[members::Member],
    clients_per_member: usize,
    link_url: &impl Fn(usize) -> String,
) -> anyhow::Result<Vec<Watcher>> {
    let mut starting = Vec::new();
    for (m, member) in members.iter().enumerate() {
        for k in 0..clients_per_member {
            let transport = if k + 1 == clients_per_member {
                Transport::Poll
            } else {
                Transport::Auto
            };
            let (url, id, token) = (link_url(m + k), member.id, member.token.clone());
            starting.push(async move { Watcher::start(&url, id, &token, transport).await });
        }
    }
    futures_util::future::try_join_all(starting).await
}

/// How long the club could not write: the stretches between acknowledged writes over 3 s.
fn write_gaps(writes: &[members::Logged], started: Instant) -> Vec<Value> {
    let mut acked: Vec<Duration> = writes
        .iter()
        .filter(|w| matches!(w.outcome, members::Outcome::Acked(_)))
        .map(|w| w.at.saturating_duration_since(started))
        .collect();
    acked.sort();
    acked
        .windows(2)
        .filter(|w| w[1] - w[0] > Duration::from_secs(3))
        .map(|w| {
            json!({
                "from_s": (w[0].as_secs_f64() * 10.0).round() / 10.0,
                "lasted_s": ((w[1] - w[0]).as_secs_f64() * 10.0).round() / 10.0,
            })
        })
        .collect()
}

/// The run's last event, an announcement to everyone, sent until one is acknowledged.
async fn announce_end(admin: &cyberhub_sdk::Client) -> anyhow::Result<i64> {
    for _ in 0..30 {
        match admin.admin().announce("chaos run: the end").await {
            Ok(answer) => return Ok(answer.event_id),
            Err(e) => eprintln!("chaos: the last announcement: {e}; again"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bail!("the last announcement was refused for 30 s")
}

fn print_report(report: &Value, injected: &[faults::Injected]) {
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for f in injected {
        let kind = match f.fault {
            faults::Fault::KillNode(_) => "kill -9 node",
            faults::Fault::StopNode(_) => "SIGTERM node",
            faults::Fault::FailOver => "failover",
            faults::Fault::RestartPrimary => "primary restarted",
            faults::Fault::StallDatabaseLink(..) => "database link stalled",
            faults::Fault::CutClients(..) => "client links cut",
        };
        *kinds.entry(kind).or_default() += 1;
    }
    println!("faults injected: {} ({kinds:?})", injected.len());
    let counts = &report["counts"];
    println!("writes (acknowledged / refused / unknown):");
    if let Some(writes) = counts["writes"].as_object() {
        for (kind, n) in writes {
            println!(
                "  {kind:<7} {} / {} / {}",
                n["acknowledged"], n["refused"], n["unknown"]
            );
        }
    }
    println!(
        "not acknowledged because: {}",
        counts["not_acknowledged_because"]
    );
    println!(
        "events: {} in the database, {} delivered to {} clients ({} reconnects); sync:required {}",
        counts["events_in_database"],
        counts["events_delivered"],
        counts["clients"],
        counts["reconnects"],
        counts["sync_required"]
    );
    println!(
        "stretches of 3 s or more with no write acknowledged: {}",
        report["write_gaps_over_3s"]
    );
    let violations = report["violations"].as_array().map_or(0, Vec::len);
    println!("violations: {violations}");
    for v in report["violations"]
        .as_array()
        .into_iter()
        .flatten()
        .take(50)
    {
        println!("  {}", v.as_str().unwrap_or_default());
    }
}
