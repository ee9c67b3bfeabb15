//! `cyberhub-bench`: drives the real `cyberhub` binary (and, side by side, nginx with Nchan) over
//! loopback with load clients in separate processes, and prints figures as a table and as JSON.
//!
//! - `cyberhub-bench run --quick`: small counts, a few seconds each; fails if any event is lost or
//!   delivered twice (part of the test suite);
//! - `cyberhub-bench run --full [--nchan] [--floor]`: the figures of BENCHMARKS.md (see
//!   `bench/run.sh`);
//! - `cyberhub-bench chaos --minutes N`: faults at random under play; fails if anything was lost,
//!   duplicated or shown wrong (see `bench/chaos.sh`).

mod attack_fleet;
mod attack_scenarios;
mod billing;
mod chaos;
mod client;
mod floor;
mod nodes;
mod process;
mod scenarios;
mod stream_fleet;
mod summary;
mod target;

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use target::Target;

#[derive(Parser)]
#[command(name = "cyberhub-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the workloads and print the figures.
    Run {
        /// Small counts for CI: seconds, and a check that nothing is lost.
        #[arg(long, conflicts_with = "full")]
        quick: bool,
        /// The full counts of BENCHMARKS.md.
        #[arg(long)]
        full: bool,
        /// Also run idle, fan-out and throughput against nginx + Nchan, in the same run.
        #[arg(long)]
        nchan: bool,
        /// Also run idle, fan-out and throughput against the floor: a bare broadcast SSE server with
        /// nothing else (this binary's `floor-server`), in the same run.
        #[arg(long)]
        floor: bool,
        /// Only these workloads (comma-separated): idle, fanout, throughput, per-user, longpoll, billing,
        /// storm; with --postgres also nodes (fan-out across two nodes against one) and scale (many
        /// streams over six nodes). billing (the SmartShell bridge's delay) runs with --full only.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// The cyberhub binary (default: the one next to this executable).
        #[arg(long)]
        bin: Option<PathBuf>,
        /// nginx, for --nchan.
        #[arg(long, default_value = "/usr/sbin/nginx")]
        nginx: PathBuf,
        /// Extra environment for the cyberhub process (KEY=VALUE, repeatable).
        #[arg(long = "server-env")]
        server_env: Vec<String>,
        /// Idle streams: every stream anonymous (default: every other one authenticated).
        #[arg(long)]
        anonymous: bool,
        /// Per-user workload: openings offered per second (default: 2,000 full, 100 quick).
        #[arg(long)]
        per_user_rate: Option<u32>,
        /// Run CyberHub on PostgreSQL: a fresh database on this server (postgres://.../postgres) per
        /// target, instead of a SQLite file.
        #[arg(long)]
        postgres: Option<String>,
        /// Streams for the scale workload (spread over six nodes).
        #[arg(long, default_value_t = 100_000)]
        scale_clients: usize,
        /// Write the figures as JSON here too.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run the attacks of SECURITY.md against one binary, with normal members streaming alongside,
    /// and print what each cost (bench/run-attacks.sh runs it before and after the hardening).
    Attacks {
        /// Small counts, a few seconds each.
        #[arg(long)]
        quick: bool,
        /// The cyberhub binary (default: the one next to this executable).
        #[arg(long)]
        bin: Option<PathBuf>,
        /// The name of this binary in the rows (e.g. before, after).
        #[arg(long, default_value = "this")]
        label: String,
        /// Only these (comma-separated): baseline, logins, slowloris, slow-readers, replay.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Extra environment for the cyberhub process (KEY=VALUE, repeatable).
        #[arg(long = "server-env")]
        server_env: Vec<String>,
        /// Write the rows as JSON here too.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// PostgreSQL with a replica and three nodes behind nginx, members playing, faults injected at
    /// random; then checks that nothing was lost, duplicated or shown wrong (non-zero exit if so).
    Chaos(chaos::ChaosArgs),
    /// Print the before/after table of attack rows from JSON files.
    AttackTable { files: Vec<PathBuf> },
    /// Print the medians of several runs' JSON files, with ratios to CyberHub.
    Summarize { files: Vec<PathBuf> },
    /// An attacking process (started by `attacks`).
    #[command(hide = true)]
    AttackWorker,
    /// A load-client process (started by `run`).
    #[command(hide = true)]
    Worker,
    /// The floor target (started by `run --floor`).
    #[command(hide = true)]
    FloorServer {
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
}

/// Counts for one mode.
struct Plan {
    idle_steps: Vec<usize>,
    fanout_clients: Vec<usize>,
    fanout_events: u32,
    throughput_clients: usize,
    throughput_secs: u64,
    per_user_users: usize,
    per_user_rate: u32,
    per_user_secs: u64,
    longpoll_clients: usize,
    /// Connections for the long-poll memory comparison: enough that a few pages either way do not
    /// decide it.
    longpoll_memory_clients: usize,
    storm_clients: usize,
    /// Payments for the billing bridge's delay (0: not run), and its poll interval.
    billing_payments: usize,
    billing_interval_ms: u64,
}

impl Plan {
    fn quick() -> Plan {
        Plan {
            idle_steps: vec![200],
            fanout_clients: vec![200],
            fanout_events: 5,
            throughput_clients: 50,
            throughput_secs: 2,
            per_user_users: 50,
            per_user_rate: 100,
            per_user_secs: 2,
            longpoll_clients: 50,
            longpoll_memory_clients: 50,
            storm_clients: 200,
            billing_payments: 0,
            billing_interval_ms: 500,
        }
    }

    fn full() -> Plan {
        Plan {
            // 19,900: just under the 20,000 files one process may open, less the server's own.
            idle_steps: vec![1_000, 5_000, 10_000, 19_900],
            fanout_clients: vec![1_000, 10_000],
            fanout_events: 20,
            throughput_clients: 1_000,
            throughput_secs: 10,
            per_user_users: 1_000,
            per_user_rate: 2_000,
            per_user_secs: 10,
            longpoll_clients: 1_000,
            longpoll_memory_clients: 5_000,
            storm_clients: 10_000,
            // The default interval, sampled at every phase of the poll cycle.
            billing_payments: 30,
            billing_interval_ms: 3000,
        }
    }
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Worker => stream_fleet::main(),
        Command::AttackWorker => attack_fleet::main(),
        Command::AttackTable { files } => {
            let mut rows = Vec::new();
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                rows.extend(serde_json::from_str::<Vec<Value>>(&text)?);
            }
            rows.sort_by_key(|r| r["workload"].as_str().unwrap_or("").to_owned());
            attack_scenarios::print(&rows);
            Ok(())
        }
        Command::Attacks {
            quick,
            bin,
            label,
            only,
            server_env,
            json,
        } => {
            let plan = if quick {
                attack_scenarios::AttackPlan::quick()
            } else {
                attack_scenarios::AttackPlan::full()
            };
            let bin = match bin {
                Some(bin) => bin,
                None => std::env::current_exe()?.with_file_name("cyberhub"),
            };
            let env: Vec<(String, String)> = server_env
                .iter()
                .filter_map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                })
                .collect();
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let rows = runtime.block_on(attack_scenarios::run(&bin, &label, &plan, &only, &env))?;
            attack_scenarios::print(&rows);
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&rows)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::FloorServer { listen } => floor::serve(listen),
        Command::Chaos(args) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(chaos::run(args)),
        Command::Summarize { files } => {
            let mut runs = Vec::new();
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                runs.push(serde_json::from_str::<Vec<Value>>(&text)?);
            }
            summary::print(&runs);
            Ok(())
        }
        Command::Run {
            quick,
            full,
            nchan,
            floor,
            only,
            bin,
            nginx,
            server_env,
            anonymous,
            per_user_rate,
            postgres,
            scale_clients,
            json,
        } => {
            let multi_node = postgres.is_some();
            if let Some(server) = postgres {
                target::use_postgres(server);
            }
            let mut plan = if full || !quick {
                Plan::full()
            } else {
                Plan::quick()
            };
            if let Some(rate) = per_user_rate {
                plan.per_user_rate = rate;
            }
            let bin = match bin {
                Some(bin) => bin,
                None => std::env::current_exe()?.with_file_name("cyberhub"),
            };
            if !bin.exists() {
                bail!(
                    "{} not found: build it first (cargo build -p cyberhub-server)",
                    bin.display()
                );
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let env: Vec<(String, String)> = server_env
                .iter()
                .filter_map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                })
                .collect();
            let results = runtime.block_on(run(
                plan,
                &bin,
                nchan.then_some(nginx),
                floor,
                &only,
                &env,
                anonymous,
                multi_node.then_some(scale_clients),
            ))?;
            print_table(&results);
            let text = serde_json::to_string_pretty(&results)?;
            if let Some(path) = json {
                std::fs::write(&path, &text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            // Only CyberHub is held to exactly-once: Nchan drops messages for subscribers that fall
            // behind its buffer, and that is reported as its figure, not as a failure here.
            let lost: u64 = results
                .iter()
                .filter(|r| r["target"] == "cyberhub")
                .map(|r| r["lost"].as_u64().unwrap_or(0) + r["duplicates"].as_u64().unwrap_or(0))
                .sum();
            let failed_streams: u64 = results
                .iter()
                .map(|r| r["failed"].as_u64().unwrap_or(0))
                .sum();
            if lost > 0 {
                bail!("{lost} events were lost or delivered twice");
            }
            if quick && failed_streams > 0 {
                bail!("{failed_streams} streams could not be opened");
            }
            println!("bench: every CyberHub event delivered exactly once");
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    plan: Plan,
    bin: &std::path::Path,
    nginx: Option<PathBuf>,
    floor: bool,
    only: &[String],
    extra_env: &[(String, String)],
    anonymous: bool,
    scale_clients: Option<usize>,
) -> anyhow::Result<Vec<Value>> {
    let wants = |w: &str| only.is_empty() || only.iter().any(|o| o == w);
    let mut results = Vec::new();
    let users_needed = plan
        .idle_steps
        .iter()
        .chain(&plan.fanout_clients)
        .max()
        .copied()
        .unwrap_or(0)
        .div_ceil(2)
        .max(plan.per_user_users);

    eprintln!(
        "starting cyberhub ({}) with {users_needed} seeded users",
        bin.display()
    );
    // Reconnect hints short enough that the storm measures the server, not the hint's spread.
    let mut env = vec![
        ("CYBERHUB_RETRY_MS", "1000"),
        ("CYBERHUB_SHUTDOWN_RETRY_SPREAD_MS", "1000"),
    ];
    env.extend(extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (mut hub, users, case_id) = Target::cyberhub(bin, users_needed, &env).await?;
    // The servers CyberHub is compared with: Nchan, and the floor.
    let mut others = Vec::new();
    if let Some(nginx) = &nginx {
        others.push(Target::nchan(nginx).await?);
    }
    if floor {
        others.push(Target::floor().await?);
    }

    // Side by side: each workload runs against every server back to back, on one machine.
    if wants("idle") {
        let idle_users = if anonymous { &[][..] } else { &users[..] };
        results.push(scenarios::idle(&hub, idle_users, &plan.idle_steps).await?);
        for other in &others {
            // Nchan spreads over two processes; both are compared up to 10,000.
            let steps: Vec<usize> = plan
                .idle_steps
                .iter()
                .copied()
                .filter(|n| *n <= 10_000)
                .collect();
            results.push(scenarios::idle(other, &[], &steps).await?);
        }
    }
    if wants("fanout") {
        for &clients in &plan.fanout_clients {
            results
                .push(scenarios::fanout(&hub, &users, clients, plan.fanout_events, false).await?);
            for other in &others {
                results
                    .push(scenarios::fanout(other, &[], clients, plan.fanout_events, false).await?);
            }
        }
    }
    if wants("throughput") {
        results.push(
            scenarios::throughput(&hub, plan.throughput_clients, plan.throughput_secs, 16).await?,
        );
        for other in &others {
            results.push(
                scenarios::throughput(other, plan.throughput_clients, plan.throughput_secs, 16)
                    .await?,
            );
        }
    }
    for mut other in others {
        other.stop(false).await?;
    }
    if wants("per-user") {
        let users = &users[..plan.per_user_users.min(users.len())];
        results.push(
            scenarios::per_user(&hub, users, case_id, plan.per_user_rate, plan.per_user_secs)
                .await?,
        );
    }
    if wants("longpoll") {
        // Memory is compared on fresh processes: one that has held thousands of streams has freed
        // memory to hand out, and would show almost no growth for anything.
        let memory_clients = plan.longpoll_memory_clients;
        let (mut plain, _, _) = Target::cyberhub(bin, 0, &env).await?;
        let http_cost = scenarios::http_connection_cost(&plain, memory_clients).await?;
        plain.stop(false).await?;
        let (mut waiting, _, _) = Target::cyberhub(bin, 0, &env).await?;
        let poll_cost = scenarios::longpoll_waiting_cost(&waiting, memory_clients).await?;
        waiting.stop(false).await?;
        let (mut fresh, _, _) = Target::cyberhub(bin, 0, &env).await?;
        let mut figures =
            scenarios::fanout(&fresh, &[], plan.longpoll_clients, plan.fanout_events, true).await?;
        figures["bytes_per_waiting_client"] = json!(poll_cost);
        figures["bytes_per_idle_http_connection"] = json!(http_cost);
        figures["memory_clients"] = json!(memory_clients);
        fresh.stop(false).await?;
        results.push(figures);
    }
    if let Some(scale_clients) = scale_clients {
        if wants("nodes") {
            // The same 10,000 streams on one node, then over two, in the same run.
            let second = hub.another_node().await?;
            let clients = *plan.fanout_clients.last().unwrap_or(&1_000);
            for _ in 0..2 {
                results.push(nodes::fanout_across(&[&hub], clients, plan.fanout_events).await?);
                results.push(
                    nodes::fanout_across(&[&hub, &second], clients, plan.fanout_events).await?,
                );
            }
            let mut second = second;
            second.stop(false).await?;
        }
        if wants("scale") {
            let mut more = Vec::new();
            for _ in 0..5 {
                more.push(hub.another_node().await?);
            }
            let all: Vec<&Target> = std::iter::once(&hub).chain(more.iter()).collect();
            results.push(nodes::scale(&all, scale_clients, 3).await?);
            for mut node in more {
                node.stop(false).await?;
            }
        }
    }
    if plan.billing_payments > 0 && wants("billing") {
        let interval = std::time::Duration::from_millis(plan.billing_interval_ms);
        results.push(billing::delay(bin, &env, interval, plan.billing_payments).await?);
    }
    if wants("storm") {
        results.push(scenarios::storm(&mut hub, plan.storm_clients, false, 20).await?);
        results.push(scenarios::storm(&mut hub, plan.storm_clients, true, 20).await?);
    }
    hub.stop(false).await?;
    Ok(results)
}

fn print_table(results: &[Value]) {
    println!(
        "\n{:<16} {:<9} {:>8}  figures",
        "workload", "target", "clients"
    );
    for r in results {
        let clients = r["clients"]
            .as_u64()
            .map(|c| c.to_string())
            .unwrap_or_default();
        let figures = match r["workload"].as_str().unwrap_or("") {
            "idle" => r["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    format!(
                        "{}: {} B/stream (+{} B)",
                        s["open"], s["bytes_per_stream"], s["marginal_bytes_per_stream"]
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            "fanout" | "longpoll-fanout" => format!(
                "p50 {} ms, p99 {} ms, last client {} ms, lost {}, dup {}, {} µs CPU/delivery{}",
                r["p50_ms"],
                r["p99_ms"],
                r["last_client_ms"],
                r["lost"],
                r["duplicates"],
                r["server_cpu_us_per_delivery"],
                r.get("bytes_per_waiting_client")
                    .map(|b| format!(
                        ", {b} B per waiting client (idle HTTP connection: {} B; {} of each)",
                        r["bytes_per_idle_http_connection"], r["memory_clients"]
                    ))
                    .unwrap_or_default()
            ),
            "throughput" => format!(
                "{} delivered/s, {} µs server CPU per delivery, lost {}, dup {}",
                r["delivered_per_s"], r["server_cpu_us_per_delivery"], r["lost"], r["duplicates"]
            ),
            "fanout-nodes" => format!(
                "over {} node(s): p50 {} ms, p99 {} ms, last client {} ms, lost {}, dup {}",
                r["nodes"],
                r["p50_ms"],
                r["p99_ms"],
                r["last_client_ms"],
                r["lost"],
                r["duplicates"]
            ),
            "scale" => format!(
                "over {} nodes: {} B/stream, opened in {} s ({}/s), broadcast p50 {} ms, last client {} ms, lost {}, dup {}",
                r["nodes"],
                r["bytes_per_stream"],
                r["connect_seconds"],
                r["connects_per_s"],
                r["p50_ms"],
                r["last_client_ms"],
                r["lost"],
                r["duplicates"]
            ),
            "billing" => format!(
                "{} payments, poll every {} ms: desk→balance:updated p50 {} ms, p90 {} ms, p99 {} ms, max {} ms; {} over {} ms (interval + 200 ms)",
                r["payments"],
                r["interval_ms"],
                r["p50_ms"],
                r["p90_ms"],
                r["p99_ms"],
                r["max_ms"],
                r["over_bound"],
                r["bound_ms"]
            ),
            "per-user" => format!(
                "{} openings/s (offered {}), open→balance:updated p50 {} ms, p99 {} ms",
                r["openings_per_s"], r["offered_per_s"], r["p50_ms"], r["p99_ms"]
            ),
            _ => format!(
                "caught up {} ms after restart ({} ms after stop), lost {}, dup {}, CPU {} ms, {} replay queries",
                r["all_caught_up_ms_after_up"],
                r["all_caught_up_ms_after_stop"],
                r["lost"],
                r["duplicates"],
                r["server_cpu_ms_until_caught_up"],
                r["outbox_replay_queries"]
            ),
        };
        println!(
            "{:<16} {:<9} {:>8}  {figures}",
            r["workload"].as_str().unwrap_or(""),
            r["target"].as_str().unwrap_or(""),
            clients
        );
    }
}
