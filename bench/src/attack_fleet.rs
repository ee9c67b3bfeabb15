//! Attacking connections, held by processes of their own (one process may open at most 20,000
//! files here), each from its own source address:
//!
//! - `slowloris`: a `POST` whose head promises a body that never comes;
//! - `slow-reader`: `GET /v1/events` with a tiny receive buffer, never read.
//!
//! [`Attackers`] starts them; [`main`] is one (the hidden `attack-worker` command): it takes its
//! job, answers `ready` once every connection is made, answers `status` with how many the server
//! has not closed yet, and ends on `quit`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::process::{self, Helper};

/// Connections opened at a time.
const CONNECT_BATCH: usize = 500;

/// What the connections of one process do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub enum Attack {
    /// Send a request head announcing a 44-byte body, and no body.
    Slowloris,
    /// Open an SSE stream with this receive buffer, and never read from it.
    SlowReader { receive_buffer: u32 },
}

#[derive(Debug, Serialize, Deserialize)]
struct Job {
    addr: SocketAddr,
    src: IpAddr,
    attack: Attack,
    count: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct Ready {
    connected: usize,
    failed: usize,
}

/// Runs an attacking process on stdin/stdout (the hidden `attack-worker` command).
pub fn main() -> anyhow::Result<()> {
    let job: Job = process::read_job()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let open = Arc::new(AtomicUsize::new(0));
        let mut ready = Ready {
            connected: 0,
            failed: 0,
        };
        let mut held = Vec::with_capacity(job.count);
        for batch in (0..job.count).collect::<Vec<_>>().chunks(CONNECT_BATCH) {
            let attempts = batch.iter().map(|_| connect(job.addr, job.src, job.attack));
            for outcome in futures_join(attempts).await {
                match outcome {
                    Some(stream) => {
                        ready.connected += 1;
                        held.push(stream);
                    }
                    None => ready.failed += 1,
                }
            }
        }
        for stream in held {
            open.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(hold(stream, job.attack, open.clone()));
        }
        process::answer(&ready)?;
        let mut commands = process::commands();
        while let Some(command) = commands.recv().await {
            match command.trim() {
                "status" => process::answer(&open.load(Ordering::Relaxed))?,
                "quit" => break,
                _ => {}
            }
        }
        Ok(())
    })
}

/// Runs the futures side by side, each a task; their outputs in order.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("connect task"));
    }
    out
}

async fn connect(addr: SocketAddr, src: IpAddr, attack: Attack) -> Option<tokio::net::TcpStream> {
    {
        let socket = TcpSocket::new_v4().ok()?;
        socket.bind(SocketAddr::new(src, 0)).ok()?;
        if let Attack::SlowReader { receive_buffer } = attack {
            socket.set_recv_buffer_size(receive_buffer).ok()?;
        }
        let mut stream =
            tokio::time::timeout(std::time::Duration::from_secs(10), socket.connect(addr))
                .await
                .ok()?
                .ok()?;
        let head: &[u8] = match attack {
            Attack::Slowloris => b"POST /v1/auth/login HTTP/1.1\r\nhost: cyberhub\r\ncontent-type: application/json\r\ncontent-length: 44\r\n\r\n{",
            Attack::SlowReader { .. } => b"GET /v1/events HTTP/1.1\r\nhost: cyberhub\r\n\r\n",
        };
        stream.write_all(head).await.ok()?;
        Some(stream)
    }
}

/// Holds a connection until the server closes it (a slowloris connection reads whatever the server
/// answers; a slow reader reads nothing, so its end shows only in the server's counts).
async fn hold(mut stream: tokio::net::TcpStream, attack: Attack, open: Arc<AtomicUsize>) {
    match attack {
        Attack::Slowloris => {
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            open.fetch_sub(1, Ordering::Relaxed);
        }
        Attack::SlowReader { .. } => {
            std::future::pending::<()>().await;
        }
    }
}

/// Attacking processes and their connections.
pub struct Attackers {
    processes: Vec<Helper>,
    pub connected: usize,
    pub failed: usize,
}

impl Attackers {
    /// Opens `count` attacking connections from each of `sources`, at most `per_process` per
    /// process; returns once all are made (or failed).
    pub async fn open(
        addr: SocketAddr,
        attack: Attack,
        sources: &[IpAddr],
        count: usize,
        per_process: usize,
    ) -> anyhow::Result<Attackers> {
        let mut attackers = Attackers {
            processes: Vec::new(),
            connected: 0,
            failed: 0,
        };
        for &src in sources {
            let mut left = count;
            while left > 0 {
                let n = left.min(per_process);
                left -= n;
                let job = Job {
                    addr,
                    src,
                    attack,
                    count: n,
                };
                attackers
                    .processes
                    .push(Helper::start("attack-worker", &job).await?);
            }
        }
        for process in &mut attackers.processes {
            let ready: Ready = process.answer().await?;
            attackers.connected += ready.connected;
            attackers.failed += ready.failed;
        }
        Ok(attackers)
    }

    /// How many attacking connections the server has not closed (slowloris only).
    pub async fn still_open(&mut self) -> anyhow::Result<usize> {
        let mut open = 0;
        for process in &mut self.processes {
            process.send("status").await?;
            open += process.answer::<usize>().await?;
        }
        Ok(open)
    }

    /// Ends the attack: the processes exit and their connections close.
    pub async fn close(mut self) {
        for process in &mut self.processes {
            process.quit().await;
        }
    }
}
