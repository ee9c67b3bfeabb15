//! The figures of the Rust SDK in BENCHMARKS.md, medians of RUNS runs (default 5):
//!
//! - **memory of one idle client**: a fresh process builds a runtime, then one client that logs in,
//!   connects over SSE and idles for 2 s; the figure is the growth of its resident memory (VmRSS)
//!   and of its live heap (a counting allocator). Also the marginal cost per client when one process
//!   holds 100 idle clients.
//! - **events per second one client handles, parse to hook**, as the TypeScript SDK's
//!   `bench/throughput.mjs` measures it: (a) the client alone, reading a pre-encoded SSE body of
//!   EVENTS `drop:new` frames (default 200,000) from a loopback socket that a thread of this
//!   process writes (bytes, the SSE parser, the JSON payload, the exactly-once filter, the typed
//!   hook); (b) from the real server, a client resuming from the start of SERVER_EVENTS (default
//!   5,000) announcements replayed over loopback SSE (`--stream-linger-ms 0`).
//!
//! ```sh
//! cargo build --release -p cyberhub-server
//! cargo run --release -p cyberhub-sdk --example bench
//! ```
//! The server binary is `$CYBERHUB_BIN`, else `target/release/cyberhub`, else `target/debug/cyberhub`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cyberhub_sdk::{Client, ConnectionStatus, TransportKind};

/// Counts live heap bytes, to tell the client's own allocations from the allocator's slack.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn rss_kb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("idle-child") {
        let count: usize = args[3].parse().unwrap();
        idle_child(&args[2], count);
        return;
    }
    let runs = env_number("RUNS", 5);
    let server = Server::start(&[]);
    println!("server binary: {}", server_bin().display());

    let one: Vec<(f64, f64)> = (0..runs).map(|_| idle_run(&server.url, 1)).collect();
    let hundred: Vec<(f64, f64)> = (0..runs.min(3))
        .map(|_| idle_run(&server.url, 100))
        .collect();
    println!(
        "idle client, one per process: RSS growth {:.0} KB, live heap {:.1} KB (median of {runs}; RSS per run {:?} KB)",
        median(one.iter().map(|r| r.0).collect()),
        median(one.iter().map(|r| r.1).collect()),
        one.iter().map(|r| r.0.round()).collect::<Vec<_>>()
    );
    println!(
        "idle clients, 100 in one process: RSS {:.1} KB per client, live heap {:.1} KB per client (median of {})",
        median(hundred.iter().map(|r| r.0 / 100.0).collect()),
        median(hundred.iter().map(|r| r.1 / 100.0).collect()),
        hundred.len()
    );
    drop(server);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let events = env_number("EVENTS", 200_000);
    let body = Arc::new(synthetic_body(events));
    let alone: Vec<f64> = (0..runs)
        .map(|_| runtime.block_on(client_alone(body.clone(), events)))
        .collect();
    println!(
        "client alone: {:.0} events/s (median of {runs} runs of {events} drop:new frames; runs: {:?})",
        median(alone.clone()),
        alone.iter().map(|x| x.round()).collect::<Vec<_>>()
    );

    let server_events = env_number("SERVER_EVENTS", 5_000);
    let linger = std::env::var("LINGER_MS").unwrap_or_else(|_| "0".into());
    let server = Server::start(&[
        "--replay-memory-events".into(),
        (server_events + 100).to_string(),
        "--stream-linger-ms".into(),
        linger.clone(),
    ]);
    let replay: Vec<f64> = runtime.block_on(async {
        let admin = Client::builder(&server.url).build().unwrap();
        admin.login("admin", "admin-demo-1").await.unwrap();
        let base = health_last_event_id(&server.url).await;
        for start in (0..server_events).step_by(50) {
            let batch = (start..(start + 50).min(server_events)).map(|i| {
                let admin = admin.admin();
                async move { admin.announce(&format!("bench {i}")).await.unwrap() }
            });
            futures_util::future::join_all(batch).await;
        }
        let total = (health_last_event_id(&server.url).await - base) as usize;
        let mut runs_out = Vec::new();
        for _ in 0..runs {
            runs_out.push(from_server(&server.url, base, total).await);
        }
        runs_out
    });
    println!(
        "from the real server (replay of {server_events} announcements over loopback SSE, --stream-linger-ms {linger}): {:.0} events/s (median of {runs}; runs: {:?})",
        median(replay.clone()),
        replay.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
}

// ----- memory -----

/// Runs `idle-child` in a fresh process; returns (RSS growth KB, live heap growth KB).
fn idle_run(url: &str, count: usize) -> (f64, f64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["idle-child", url, &count.to_string()])
        .output()
        .expect("run the idle child");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace().map(|x| x.parse::<f64>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

fn idle_child(url: &str, count: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The runtime's threads exist and have run once before the baseline.
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(50)).await });
    let (rss0, heap0) = (rss_kb(), LIVE.load(Ordering::Relaxed));
    let clients = runtime.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..count {
            let client = Client::builder(url).build().unwrap();
            client.login("alice", "alice-demo-1").await.unwrap();
            client.connect().await;
            clients.push(client);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        for client in &clients {
            while client.connection_state().state != ConnectionStatus::Connected
                || client.connection_state().transport != Some(TransportKind::Sse)
            {
                assert!(
                    Instant::now() < deadline,
                    "a client did not connect over SSE"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        clients
    });
    let (rss1, heap1) = (rss_kb(), LIVE.load(Ordering::Relaxed));
    println!("{} {}", rss1 - rss0, (heap1 - heap0) as f64 / 1024.0);
    runtime.block_on(async {
        for client in &clients {
            client.close().await;
        }
    });
}

// ----- throughput -----

fn synthetic_body(count: usize) -> Vec<Vec<u8>> {
    let drop = r#"{"username":"alice","case":"Starter Case","case_id":1,"item":"Energy drink","rarity":"uncommon","value":4000}"#;
    let mut chunks = vec![
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\nretry: 2000\n\nid: 0\nevent: ready\ndata: {\"last_event_id\":0,\"heartbeat_secs\":15}\n\n".to_vec(),
    ];
    let mut text = String::new();
    for id in 1..=count {
        text.push_str(&format!("id: {id}\nevent: drop:new\ndata: {drop}\n\n"));
        if text.len() > 64 * 1024 {
            chunks.push(std::mem::take(&mut text).into_bytes());
        }
    }
    chunks.push(text.into_bytes());
    chunks
}

/// A one-shot loopback SSE server on its own thread: answers the first request with `body`, then
/// keeps the connection open (a live stream) until the client goes.
fn serve_once(body: Arc<Vec<Vec<u8>>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        for chunk in body.iter() {
            if socket.write_all(chunk).is_err() {
                return;
            }
        }
        let _ = socket.read(&mut byte); // until the client closes
    });
    url
}

async fn client_alone(body: Arc<Vec<Vec<u8>>>, count: usize) -> f64 {
    let url = serve_once(body);
    let client = Client::builder(url).last_event_id(0).build().unwrap();
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let seen = AtomicUsize::new(0);
    let mut done_tx = Some(done_tx);
    let _drops = client.on_drop(move |_, _| {
        if seen.fetch_add(1, Ordering::Relaxed) + 1 == count
            && let Some(tx) = done_tx.take()
        {
            let _ = tx.send(());
        }
    });
    let start = Instant::now();
    client.connect();
    done.await.unwrap();
    let seconds = start.elapsed().as_secs_f64();
    client.close().await;
    count as f64 / seconds
}

async fn from_server(url: &str, base: i64, count: usize) -> f64 {
    let client = Client::builder(url).last_event_id(base).build().unwrap();
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let seen = AtomicUsize::new(0);
    let mut done_tx = Some(done_tx);
    let _announcements = client.on_announcement(move |_, _| {
        if seen.fetch_add(1, Ordering::Relaxed) + 1 == count
            && let Some(tx) = done_tx.take()
        {
            let _ = tx.send(());
        }
    });
    let start = Instant::now();
    client.connect();
    done.await.unwrap();
    let seconds = start.elapsed().as_secs_f64();
    client.close().await;
    count as f64 / seconds
}

// ----- the server -----

fn server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("CYBERHUB_BIN") {
        return bin.into();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let release = root.join("target/release/cyberhub");
    if release.is_file() {
        release
    } else {
        root.join("target/debug/cyberhub")
    }
}

struct Server {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[String]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut args: Vec<String> = [
            "serve",
            "--demo",
            "--demo-activity",
            "off",
            "--retry-ms",
            "200",
            "--login-rate-ip",
            "off",
            "--login-rate-user",
            "off",
            "--stream-rate-ip",
            "off",
            "--stream-rate-user",
            "off",
            "--poll-rate-ip",
            "off",
            "--poll-rate-user",
            "off",
            "--write-rate-user",
            "off",
            // 100 clients of one user from one address in the memory figure.
            "--max-streams-per-user",
            "1000",
            "--max-connections-per-ip",
            "0",
        ]
        .map(String::from)
        .to_vec();
        args.extend([
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--database-url".into(),
            format!("sqlite://{}", dir.path().join("cyberhub.db").display()),
        ]);
        args.extend_from_slice(extra);
        let child = Command::new(server_bin())
            .args(&args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server (build it: cargo build --release -p cyberhub-server)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server {
            url,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn health_last_event_id(url: &str) -> i64 {
    let body = reqwest::get(format!("{url}/health"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    value["last_event_id"].as_i64().unwrap()
}
