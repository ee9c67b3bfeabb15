//! Medians over several runs' JSON, and ratios to CyberHub taken within each run (the servers
//! measured on one machine at one moment) before the median is taken.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::scenarios::median;

/// One figure of one run: (workload and client count, figure name) → value per target.
type RunFigures = BTreeMap<(String, String), BTreeMap<String, f64>>;

fn figures_of(run: &[Value]) -> RunFigures {
    let mut out = RunFigures::new();
    let mut put = |key: String, figure: &str, target: &str, value: Option<f64>| {
        if let Some(value) = value {
            out.entry((key, figure.to_owned()))
                .or_default()
                .insert(target.to_owned(), value);
        }
    };
    for r in run {
        let target = r["target"].as_str().unwrap_or("");
        let workload = r["workload"].as_str().unwrap_or("");
        match workload {
            "idle" => {
                for step in r["steps"].as_array().into_iter().flatten() {
                    let key = format!("idle {}", step["requested"]);
                    put(
                        key.clone(),
                        "bytes_per_stream",
                        target,
                        step["bytes_per_stream"].as_f64(),
                    );
                    put(
                        key,
                        "marginal_bytes_per_stream",
                        target,
                        step["marginal_bytes_per_stream"].as_f64(),
                    );
                }
            }
            _ => {
                let mut key = format!(
                    "{workload} {}",
                    r["clients"].as_u64().or(r["users"].as_u64()).unwrap_or(0)
                );
                // Runs over several nodes (PostgreSQL) are told apart by their node count.
                if let Some(nodes) = r["nodes"].as_u64() {
                    key.push_str(&format!(" x{nodes} nodes"));
                }
                for figure in [
                    "p50_ms",
                    "p99_ms",
                    "last_client_ms",
                    "lost",
                    "duplicates",
                    "delivered_per_s",
                    "server_cpu_us_per_delivery",
                    "openings_per_s",
                    "server_cpu_us_per_opening",
                    "bytes_per_waiting_client",
                    "bytes_per_idle_http_connection",
                    "all_caught_up_ms_after_up",
                    "all_caught_up_ms_after_stop",
                    "server_cpu_ms_until_caught_up",
                    "outbox_replay_queries",
                    "bytes_per_stream",
                    "connects_per_s",
                    "rss_mib_all_nodes",
                ] {
                    put(key.clone(), figure, target, r[figure].as_f64());
                }
            }
        }
    }
    out
}

/// Prints the medians over `runs`, with the Nchan/CyberHub and floor/CyberHub ratios where both were
/// measured.
pub fn print(runs: &[Vec<Value>]) {
    let per_run: Vec<RunFigures> = runs.iter().map(|r| figures_of(r)).collect();
    let mut keys: Vec<(String, String)> = per_run.iter().flat_map(|f| f.keys().cloned()).collect();
    keys.sort();
    keys.dedup();
    println!("medians of {} runs", runs.len());
    println!(
        "{:<24} {:<30} {:>10} {:>10} {:>10} {:>14} {:>14}",
        "workload", "figure", "cyberhub", "nchan", "floor", "nchan/cyberhub", "floor/cyberhub"
    );
    for key in keys {
        let values = |target: &str| -> Vec<f64> {
            per_run
                .iter()
                .filter_map(|f| f.get(&key)?.get(target).copied())
                .collect()
        };
        let ratio = |other: &str| -> String {
            let mut ratios: Vec<f64> = per_run
                .iter()
                .filter_map(|f| {
                    let v = f.get(&key)?;
                    let (h, o) = (v.get("cyberhub")?, v.get(other)?);
                    (*h != 0.0).then(|| o / h)
                })
                .collect();
            if ratios.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.2}", median(&mut ratios))
            }
        };
        let show = |mut v: Vec<f64>| {
            if v.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.1}", median(&mut v))
            }
        };
        println!(
            "{:<24} {:<30} {:>10} {:>10} {:>10} {:>14} {:>14}",
            key.0,
            key.1,
            show(values("cyberhub")),
            show(values("nchan")),
            show(values("floor")),
            ratio("nchan"),
            ratio("floor")
        );
    }
}
