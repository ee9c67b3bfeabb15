//! A fleet of load-client processes (see [`crate::worker`]), each from its own 127.0.0.x address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::client::{Behaviour, ConnSpec, ConnStats};
use crate::worker::{Job, Ready};

/// Streams per worker process: well under the 20,000 files one process may open.
pub const PER_WORKER: usize = 6_000;

/// The next source address: 127.0.0.2, .3, ... (each has its own range of ephemeral ports).
pub fn next_source() -> IpAddr {
    static NEXT: AtomicU8 = AtomicU8::new(2);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + n % 250))
}

struct Worker {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

/// Open streams held by worker processes.
pub struct Fleet {
    workers: Vec<Worker>,
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
        let exe = std::env::current_exe()?;
        let mut workers = Vec::new();
        let per_worker = per_worker.clamp(1, PER_WORKER);
        for chunk in conns.chunks(per_worker) {
            let mut child = Command::new(&exe)
                .arg("worker")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()?;
            let mut stdin = child.stdin.take().context("stdin")?;
            let lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
            let job = Job {
                addr,
                src: next_source(),
                conns: chunk.to_vec(),
                behaviour,
            };
            stdin
                .write_all(format!("{}\n", serde_json::to_string(&job)?).as_bytes())
                .await?;
            workers.push(Worker {
                _child: child,
                stdin,
                lines,
            });
        }
        let mut fleet = Fleet {
            workers,
            connected: 0,
            failed: 0,
        };
        for worker in &mut fleet.workers {
            let line = worker
                .lines
                .next_line()
                .await?
                .context("worker ended before it was ready")?;
            let ready: Ready = serde_json::from_str(&line)?;
            fleet.connected += ready.connected;
            fleet.failed += ready.failed;
        }
        Ok(fleet)
    }

    /// What every stream saw, in the order the specs were given. With `only`, receipts of that marker
    /// alone.
    pub async fn report(&mut self, only: Option<u32>) -> anyhow::Result<Vec<ConnStats>> {
        let command = match only {
            Some(seq) => format!("report {seq}\n"),
            None => "report\n".to_owned(),
        };
        for worker in &mut self.workers {
            worker.stdin.write_all(command.as_bytes()).await?;
        }
        let mut all = Vec::new();
        for worker in &mut self.workers {
            let line = worker.lines.next_line().await?.context("worker ended")?;
            all.extend(serde_json::from_str::<Vec<ConnStats>>(&line)?);
        }
        Ok(all)
    }

    /// Ends the workers (and with them their streams).
    pub async fn close(mut self) {
        for worker in &mut self.workers {
            let _ = worker.stdin.write_all(b"quit\n").await;
        }
        for worker in &mut self.workers {
            let _ = worker.lines.next_line().await;
        }
    }
}
