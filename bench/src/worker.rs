//! A load-client process. One process may open at most 20,000 files here, so the coordinator spreads
//! the streams over several of these, each from its own 127.0.0.x source address. It reads its job
//! from stdin as one JSON line, answers `ready` once every stream is open, and answers each `report`
//! command with what its streams saw.

use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::client::{self, Behaviour, ConnSpec, ConnStats};

/// Streams opened at a time, so the server's accept queue is never flooded.
const CONNECT_BATCH: usize = 500;

/// The job of one worker.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub addr: SocketAddr,
    pub src: IpAddr,
    pub conns: Vec<ConnSpec>,
    pub behaviour: Behaviour,
}

/// The first answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ready {
    pub connected: usize,
    pub failed: usize,
}

/// Runs a worker on stdin/stdout until `quit` or end of input.
pub fn main() -> anyhow::Result<()> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let job: Job = serde_json::from_str(&line)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let stats: Vec<Arc<Mutex<ConnStats>>> = job.conns.iter().map(|_| Arc::default()).collect();
        let ready = open_all(&job, &stats).await;
        answer(&ready)?;
        // stdin is read on a thread of its own; the streams keep running on this one meanwhile.
        let (tx, mut commands) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        while let Some(command) = commands.recv().await {
            let mut words = command.split_whitespace();
            match words.next() {
                Some("report") => {
                    let only = words.next().and_then(|seq| seq.parse().ok());
                    let report: Vec<ConnStats> =
                        stats.iter().map(|s| s.lock().unwrap().take(only)).collect();
                    answer(&report)?;
                }
                Some("quit") => break,
                _ => {}
            }
        }
        Ok(())
    })
}

fn answer<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(value)?)?;
    out.flush()?;
    Ok(())
}

async fn open_all(job: &Job, stats: &[Arc<Mutex<ConnStats>>]) -> Ready {
    let mut ready = Ready {
        connected: 0,
        failed: 0,
    };
    for (batch, specs) in job.conns.chunks(CONNECT_BATCH).enumerate() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for (i, spec) in specs.iter().enumerate() {
            let stat = stats[batch * CONNECT_BATCH + i].clone();
            tokio::spawn(client::run(
                job.addr,
                job.src,
                spec.clone(),
                job.behaviour,
                stat,
                tx.clone(),
            ));
        }
        drop(tx);
        for _ in 0..specs.len() {
            match rx.recv().await {
                Some(true) => ready.connected += 1,
                _ => ready.failed += 1,
            }
        }
    }
    ready
}
