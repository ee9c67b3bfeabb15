//! Load clients: the streams of a workload, held by worker processes of their own, each from its
//! own 127.0.0.x source address (one process may open at most 20,000 files here). The [`Fleet`]
//! starts them and collects their reports; [`main`] is a worker (the hidden `worker` command): it
//! takes its job, answers `ready` once every stream is open, and answers each `report` command with
//! what its streams saw.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::client::{self, Behaviour, ConnSpec, ConnStats};
use crate::process::{self, Helper};

/// Streams per worker process: well under the 20,000 files one process may open.
pub const PER_WORKER: usize = 6_000;

/// The next source address: 127.0.0.2, .3, ... (each has its own range of ephemeral ports).
pub fn next_source() -> IpAddr {
    static NEXT: AtomicU8 = AtomicU8::new(2);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + n % 250))
}

/// Open streams held by worker processes.
pub struct Fleet {
    workers: Vec<Helper>,
    pub connected: usize,
    pub failed: usize,
}

impl Fleet {
    /// Starts workers for `conns` and waits until every stream is open (or has failed).
    pub async fn open(
        addr: SocketAddr,
        conns: Vec<ConnSpec>,
        behaviour: Behaviour,
    ) -> anyhow::Result<Fleet> {
        // At least two workers, one per core: a busy stream set (the per-user workload's drop feed
        // is 2,000,000 frames/s) would otherwise queue on one client thread and show up as latency.
        let per_worker = conns.len().div_ceil(2).clamp(1, PER_WORKER);
        Fleet::open_spread(addr, conns, behaviour, per_worker).await
    }

    /// Like [`Fleet::open`], with at most `per_worker` streams per worker (and so per source
    /// address): members of a club, each within the server's per-address limits.
    pub async fn open_spread(
        addr: SocketAddr,
        conns: Vec<ConnSpec>,
        behaviour: Behaviour,
        per_worker: usize,
    ) -> anyhow::Result<Fleet> {
        let mut workers = Vec::new();
        let per_worker = per_worker.clamp(1, PER_WORKER);
        for chunk in conns.chunks(per_worker) {
            let job = Job {
                addr,
                src: next_source(),
                conns: chunk.to_vec(),
                behaviour,
            };
            workers.push(Helper::start("worker", &job).await?);
        }
        let mut fleet = Fleet {
            workers,
            connected: 0,
            failed: 0,
        };
        for worker in &mut fleet.workers {
            let ready: Ready = worker.answer().await?;
            fleet.connected += ready.connected;
            fleet.failed += ready.failed;
        }
        Ok(fleet)
    }

    /// What every stream saw, in the order the specs were given. With `only`, receipts of that marker
    /// alone.
    pub async fn report(&mut self, only: Option<u32>) -> anyhow::Result<Vec<ConnStats>> {
        let command = match only {
            Some(seq) => format!("report {seq}"),
            None => "report".to_owned(),
        };
        for worker in &mut self.workers {
            worker.send(&command).await?;
        }
        let mut all = Vec::new();
        for worker in &mut self.workers {
            all.extend(worker.answer::<Vec<ConnStats>>().await?);
        }
        Ok(all)
    }

    /// Ends the workers (and with them their streams).
    pub async fn close(mut self) {
        for worker in &mut self.workers {
            worker.quit().await;
        }
    }
}

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

/// Runs a worker on stdin/stdout until `quit` or end of input (the hidden `worker` command).
pub fn main() -> anyhow::Result<()> {
    let job: Job = process::read_job()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let stats: Vec<Arc<Mutex<ConnStats>>> = job.conns.iter().map(|_| Arc::default()).collect();
        let ready = open_all(&job, &stats).await;
        process::answer(&ready)?;
        let mut commands = process::commands();
        while let Some(command) = commands.recv().await {
            let mut words = command.split_whitespace();
            match words.next() {
                Some("report") => {
                    let only = words.next().and_then(|seq| seq.parse().ok());
                    let report: Vec<ConnStats> =
                        stats.iter().map(|s| s.lock().unwrap().take(only)).collect();
                    process::answer(&report)?;
                }
                Some("quit") => break,
                _ => {}
            }
        }
        Ok(())
    })
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
