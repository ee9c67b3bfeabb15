//! The chaos run's faults, one at a time, each healed before the next: nodes killed or stopped,
//! PostgreSQL failing over or restarting, a node's database link stalled, clients' connections cut.

use std::time::{Duration, Instant};

use rand::RngExt;

use super::cluster::Node;
use super::database::Pair;
use super::proxy::{Link, Proxy};

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// kill -9 of a node, started again a moment later.
    KillNode(usize),
    /// SIGTERM of a node (a graceful stop), started again.
    StopNode(usize),
    /// The primary killed and the replica promoted; the old primary comes back as the new replica.
    FailOver,
    /// The primary killed and started again on its own data.
    RestartPrimary,
    /// A node's packets to PostgreSQL dropped for a while (the node and its clients stay up).
    StallDatabaseLink(usize, Duration),
    /// Every connection through one of the clients' proxies closed, and new ones refused for a
    /// while.
    CutClients(usize, Duration),
}

impl Fault {
    pub fn pick(nodes: usize, client_links: usize) -> Fault {
        let mut rng = rand::rng();
        let secs = |lo: f64, hi: f64| Duration::from_secs_f64(rand::rng().random_range(lo..hi));
        match rng.random_range(0..6u8) {
            0 => Fault::KillNode(rng.random_range(0..nodes)),
            1 => Fault::StopNode(rng.random_range(0..nodes)),
            2 => Fault::FailOver,
            3 => Fault::RestartPrimary,
            4 => Fault::StallDatabaseLink(rng.random_range(0..nodes), secs(3.0, 8.0)),
            _ => Fault::CutClients(rng.random_range(0..client_links), secs(1.0, 4.0)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Fault::KillNode(n) => format!("kill -9 node {n}"),
            Fault::StopNode(n) => format!("SIGTERM node {n}"),
            Fault::FailOver => "primary killed, replica promoted".into(),
            Fault::RestartPrimary => "primary killed and restarted".into(),
            Fault::StallDatabaseLink(n, d) => {
                format!("node {n}'s database link stalled {:.1} s", d.as_secs_f64())
            }
            Fault::CutClients(n, d) => {
                format!("client link {n} cut for {:.1} s", d.as_secs_f64())
            }
        }
    }

    /// Injects the fault and heals it; returns once everything runs again.
    pub async fn inject(
        &self,
        nodes: &mut [Node],
        pair: &mut Pair,
        client_links: &[Proxy],
    ) -> anyhow::Result<()> {
        let pause = || Duration::from_millis(rand::rng().random_range(500..3000));
        match *self {
            Fault::KillNode(n) => {
                nodes[n].kill().await;
                tokio::time::sleep(pause()).await;
                nodes[n].start().await
            }
            Fault::StopNode(n) => {
                nodes[n].terminate().await?;
                tokio::time::sleep(pause()).await;
                nodes[n].start().await
            }
            Fault::FailOver => pair.fail_over().await,
            Fault::RestartPrimary => pair.restart_primary().await,
            Fault::StallDatabaseLink(n, lasting) => {
                nodes[n].set_database_link(Link::Stalled);
                tokio::time::sleep(lasting).await;
                nodes[n].set_database_link(Link::Up);
                Ok(())
            }
            Fault::CutClients(n, lasting) => {
                client_links[n].set(Link::Cut);
                tokio::time::sleep(lasting).await;
                client_links[n].set(Link::Up);
                Ok(())
            }
        }
    }
}

/// One fault of the run, for the report.
pub struct Injected {
    pub at: Duration,
    pub fault: Fault,
    pub took: Duration,
}

/// Injects faults at random gaps (exponential, `every` on average) until `until`.
pub async fn run(
    until: Instant,
    every: Duration,
    nodes: &mut [Node],
    pair: &mut Pair,
    client_links: &[Proxy],
    started: Instant,
) -> anyhow::Result<Vec<Injected>> {
    let mut injected = Vec::new();
    loop {
        let gap = every.mul_f64(-(1.0 - rand::rng().random_range(0.0..1.0f64)).ln());
        if Instant::now() + gap >= until {
            tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
            return Ok(injected);
        }
        tokio::time::sleep(gap).await;
        let fault = Fault::pick(nodes.len(), client_links.len());
        let at = started.elapsed();
        eprintln!("  {:>6.1} s  {}", at.as_secs_f64(), fault.describe());
        let began = Instant::now();
        fault.inject(nodes, pair, client_links).await?;
        injected.push(Injected {
            at,
            fault,
            took: began.elapsed(),
        });
    }
}
