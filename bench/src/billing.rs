//! The billing bridge's delay: from a payment at the club's desk (the SmartShell stand-in,
//! `cyberhub-smartshell-stub`, next to this binary) to the linked member's `balance:updated` on an
//! open stream. Payments come one at a time, each after a random pause up to the poll interval, so
//! they land at every phase of the poll cycle; the figure is their distribution against the promise
//! of one interval plus 200 ms.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use rand::RngExt;
use serde_json::{Value, json};

use crate::target::Target;

/// The stand-in's staff account and club.
const LOGIN: &str = "79990000000";
const PASSWORD: &str = "stub-password";
const CLUB: &str = "1";
const CLIENT: &str = "bench-client";

struct Stub {
    child: Child,
    graphql: String,
    control: String,
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_stub() -> anyhow::Result<Stub> {
    let bin = std::env::current_exe()?.with_file_name("cyberhub-smartshell-stub");
    let mut child = Command::new(&bin)
        .args(["--listen", "127.0.0.1:0", "--company-id", CLUB])
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (cargo build -p cyberhub-smartshell-stub)",
                bin.display()
            )
        })?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let addresses: Value = serde_json::from_str(&line)?;
    Ok(Stub {
        graphql: addresses["graphql"].as_str().context("graphql")?.to_owned(),
        control: addresses["control"].as_str().context("control")?.to_owned(),
        child,
    })
}

/// Runs `payments` payments against a fresh server polling every `interval`.
pub async fn delay(
    bin: &std::path::Path,
    env: &[(&str, &str)],
    interval: Duration,
    payments: usize,
) -> anyhow::Result<Value> {
    let stub = start_stub()?;
    let interval_ms = interval.as_millis().to_string();
    let mut env = env.to_vec();
    env.extend([
        ("CYBERHUB_SMARTSHELL_URL", stub.graphql.as_str()),
        ("CYBERHUB_SMARTSHELL_CLUB_ID", CLUB),
        ("CYBERHUB_SMARTSHELL_LOGIN", LOGIN),
        ("CYBERHUB_SMARTSHELL_PASSWORD", PASSWORD),
        ("CYBERHUB_SMARTSHELL_POLL_INTERVAL_MS", interval_ms.as_str()),
    ]);
    let (mut server, users, _) = Target::cyberhub(bin, 1, &env).await?;
    let http = reqwest::Client::new();
    let token = &users[0].token;
    let base = format!("http://{}", server.addr);
    let me: Value = http
        .get(format!("{base}/v1/me"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let user_id = me["id"].as_i64().context("the member's id")?;
    let stub_post = |path: &str, body: Value| {
        http.post(format!("{}{path}", stub.control))
            .json(&body)
            .send()
    };
    stub_post("/clients", json!({"uuid": CLIENT, "login": CLIENT})).await?;
    let linked = http
        .put(format!("{base}/v1/admin/users/{user_id}/smartshell"))
        .bearer_auth(server.admin_token().context("admin")?)
        .json(&json!({ "client_uuid": CLIENT }))
        .send()
        .await?;
    anyhow::ensure!(linked.status().is_success(), "link: {}", linked.status());

    let stream = http
        .get(format!("{base}/v1/events"))
        .bearer_auth(token)
        .send()
        .await?;
    let mut frames = sse_stream::SseByteStream::new(stream.bytes_stream());
    let mut delays_ms = Vec::with_capacity(payments);
    for _ in 0..payments {
        let pause = interval.mul_f64(rand::rng().random_range(0.0..1.0));
        tokio::time::sleep(pause).await;
        let paid = Instant::now();
        let res = stub_post(
            "/payments",
            json!({"client_uuid": CLIENT, "amount": 10_000}),
        )
        .await?;
        anyhow::ensure!(res.status().is_success(), "payment: {}", res.status());
        loop {
            let frame = tokio::time::timeout(interval * 10, frames.next())
                .await
                .context("no balance:updated within ten intervals")?
                .context("the stream ended")??;
            if frame.event.as_deref() == Some("balance:updated") {
                break;
            }
        }
        delays_ms.push(paid.elapsed().as_secs_f64() * 1000.0);
    }
    server.stop(false).await?;
    delays_ms.sort_by(f64::total_cmp);
    let at = |q: f64| delays_ms[((delays_ms.len() - 1) as f64 * q).round() as usize];
    let bound_ms = interval.as_millis() as f64 + 200.0;
    let over = delays_ms.iter().filter(|d| **d > bound_ms).count();
    Ok(json!({
        "workload": "billing",
        "target": "cyberhub",
        "clients": 1,
        "payments": payments,
        "interval_ms": interval.as_millis() as u64,
        "p50_ms": (at(0.5) * 10.0).round() / 10.0,
        "p90_ms": (at(0.9) * 10.0).round() / 10.0,
        "p99_ms": (at(0.99) * 10.0).round() / 10.0,
        "max_ms": (at(1.0) * 10.0).round() / 10.0,
        "bound_ms": bound_ms,
        "over_bound": over,
    }))
}
