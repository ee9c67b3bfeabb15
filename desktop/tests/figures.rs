//! The desktop app's figures, measured on the real window under Xvfb against the real server:
//! its CPU while connected and idle, its memory, and the time from an opening's commit (the API
//! call returning) to the repaint that shows the new balance. Ignored in the default run (it idles
//! for 30 s); `scripts/desk-bench.sh` runs it.
#![cfg(target_os = "linux")]

mod support;

use std::time::Duration;

use support::{Desk, Display, SignIn, TestServer, colour, member, now_ms};

const IDLE: Duration = Duration::from_secs(30);
const OPENINGS: usize = 20;

/// utime + stime of a process, in seconds (`/proc/PID/stat`, fields 14 and 15).
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the app's stat");
    // The fields after the command name, which may hold spaces, in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// A `/proc/PID/status` line in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the app's status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").parse().ok())
        .expect("the status line")
}

#[tokio::test]
#[ignore = "idles for 30 s; run by scripts/desk-bench.sh"]
async fn idle_cpu_memory_and_event_to_repaint() {
    let server = TestServer::start(&[]).await;
    let (_, api) = member(&server, "desk_bench", 1_000_000).await;
    let display = Display::start(1100, 700);
    let mut desk = Desk::start(
        &display,
        &server.url,
        SignIn::Credentials("desk_bench", "desk_bench-pass-1"),
        &["--lang", "ru"],
    );
    desk.wait_for("the member, connected", Duration::from_secs(20), |s| {
        s["user"] == "desk_bench" && colour(s) == "green" && s["counts"]["cases"] == 3
    })
    .await;
    let pid = desk.pid();

    // Let the start settle, then nothing happens on the server: the window should do nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cpu_secs(pid);
    tokio::time::sleep(IDLE).await;
    let idle_cpu = (cpu_secs(pid) - before) / IDLE.as_secs_f64() * 100.0;
    let rss = ["VmRSS", "RssAnon", "RssFile"].map(|key| status_kib(pid, key) as f64 / 1024.0);

    let mut latencies = Vec::with_capacity(OPENINGS);
    for _ in 0..OPENINGS {
        let opened = api.open_case(1).await.expect("open case 1");
        let committed = now_ms();
        let state = desk
            .wait_for("the new balance", Duration::from_secs(1), |s| {
                s["balance"] == opened.balance
            })
            .await;
        latencies.push(state["painted_at_ms"].as_f64().unwrap() - committed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort_by(f64::total_cmp);
    let peak = status_kib(pid, "VmHWM");

    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!("cyberhub-desk figures ({profile} build, Xvfb 1100x700, Mesa's llvmpipe):");
    println!(
        "  idle CPU over {} s, connected over SSE: {idle_cpu:.2} %",
        IDLE.as_secs()
    );
    println!(
        "  RSS when idle: {:.1} MiB ({:.1} MiB anonymous, {:.1} MiB of mapped files: the binary, \
         Mesa, LLVM); peak RSS: {:.1} MiB",
        rss[0],
        rss[1],
        rss[2],
        peak as f64 / 1024.0
    );
    println!(
        "  opening committed -> repaint showing the balance, {OPENINGS} openings: median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        latencies[OPENINGS / 2],
        latencies[OPENINGS * 9 / 10],
        latencies[OPENINGS - 1]
    );
    assert!(idle_cpu < 1.0, "idle CPU {idle_cpu:.2} %");
    assert!(latencies[OPENINGS - 1] < 1000.0);
}
