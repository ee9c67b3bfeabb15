//! The PostgreSQL backend: one database shared by several server nodes.
//!
//! - Writes run in transactions on a pool; the rules are the same as on SQLite ([`super::tx::Tx`]).
//! - **Event ids in commit order.** A sequence hands out ids when rows are inserted, not when their
//!   transactions commit: with two writers, id 7 could become visible before id 6, and a reader (a
//!   node's hub, or a client resuming after 7) that moved past 7 would never see 6. So a transaction
//!   takes one lock for the outbox (`pg_advisory_xact_lock`) right before it inserts its first event
//!   and keeps it until it ends. The next writer of events cannot take an id before this one has
//!   committed (PostgreSQL makes a transaction visible before it releases its locks) or rolled back
//!   (its ids then never exist). So every id at or below a visible one is visible or will never
//!   exist, and `id > cursor` is exact for every reader on every node. The cost: commits that emit
//!   events are serialised for the length of their last statements and the commit; rules emit last.
//! - **Waking the nodes.** Each transaction that emitted sends `NOTIFY cyberhub_events` (delivered at
//!   commit); every node listens and its hub reads the table after its cursor. The table is the
//!   truth: a missed notification (the listener reconnecting) costs latency, never an event, since
//!   the hub also reads after every reconnect of the listener and on a one-second tick.
//! - **Failover.** `DATABASE_URL` may name several servers ([`hosts`]); the heartbeat finds the
//!   primary again when the one in use stops answering or turns out a standby, and the history of
//!   ids is settled there before the node writes ([`epochs`], [`crate::store::history`]).
//! - **Sessions.** Deleting a session (logout, revoke, a deleted user) records it and notifies
//!   `cyberhub_revocations` from a trigger, so every node ends that session's streams at once.
//! - **A node cut off from the database.** A refused or closed connection shows at once (the
//!   listener's connection drops). A stalled one (packets dropped on the way) shows nothing: TCP
//!   waits many minutes. So every wait is bounded: a heartbeat on a connection of its own asks
//!   `SELECT pg_is_in_recovery()` every [`HEARTBEAT_EVERY`] and calls the database unreachable when no answer comes
//!   within [`HEARTBEAT_TIMEOUT`] (from then on writes are refused at once and `/health` says so); a
//!   transaction gives up after [`TRANSACTION_TIMEOUT`], a read after the store's `READ_TIMEOUT`,
//!   taking a pooled connection after [`ACQUIRE_TIMEOUT`]. A transaction that gave up while its
//!   `COMMIT` was on the way may still have committed (the answer is 503 either way): like any
//!   write whose answer was lost, it is there once or not at all, and its events reach the streams
//!   from the table.

mod epochs;
mod hosts;
mod tx;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use futures_util::future::BoxFuture;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

pub(in crate::store) use tx::PgTx;

use super::history::History;
use super::{Committed, StoreError};
use hosts::Host;

/// Connections per node: enough for the writers and the reads of a busy node.
const POOL_SIZE: u32 = 16;
/// How long a request may wait for a pooled connection under a burst of writes. (When the
/// database is known to be down, writes are refused at once instead; see `available`.)
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a transaction may take, from taking a connection to its commit's answer. Far above a
/// saturated database's slowest commits (p99 3–4 s at 1,000 openings/s on 2 cores), so it bounds
/// a stalled network, not a busy database.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the heartbeat asks the database, and how long it waits for the answer.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
/// The channels the nodes listen on.
const EVENTS_CHANNEL: &str = "cyberhub_events";
const REVOCATIONS_CHANNEL: &str = "cyberhub_revocations";

pub(in crate::store) struct Postgres {
    pool: PgPool,
    /// This node's name in its notifications: its own commits reach its hub directly.
    node: Arc<str>,
    committed: Arc<Committed>,
    /// Whether the node's listening connection is up: lowered the moment the database goes away
    /// (the connection breaks), raised once listening again. While down, writes get 503 at once
    /// rather than after waiting for a connection.
    available: Arc<AtomicBool>,
    /// Whether the database answered the heartbeat's last question in time: lowered when a
    /// stalled network makes it silent, which no connection reports by itself.
    reachable: Arc<AtomicBool>,
    listener: tokio::task::JoinHandle<()>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Postgres {
    /// Connects (to the primary, when the URL names several servers), applies pending migrations
    /// (sqlx serialises concurrent migrators with a lock, so several nodes may start together),
    /// settles the event history (a failover since the last start is recorded before any write)
    /// and starts listening for other nodes' commits.
    pub async fn open(
        url: &str,
        committed: Arc<Committed>,
        history: Arc<History>,
    ) -> anyhow::Result<Postgres> {
        let hosts = hosts::parse(url)?;
        let primary = if hosts.len() == 1 {
            0
        } else {
            primary_at_start(&hosts).await?
        };
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(hosts[primary].options.clone())
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        history.set(epochs::settle(&pool).await?);
        let available = Arc::new(AtomicBool::new(true));
        let reconnect = Arc::new(Notify::new());
        let node: Arc<str> = Arc::from(format!("{:016x}", rand::random::<u64>()));
        let listener = tokio::spawn(listen(
            pool.clone(),
            Watch {
                committed: committed.clone(),
                available: available.clone(),
                history,
                reconnect: reconnect.clone(),
            },
            node.clone(),
        ));
        let reachable = Arc::new(AtomicBool::new(true));
        let heartbeat = tokio::spawn(heartbeat(
            pool.clone(),
            Hosts {
                all: hosts,
                current: primary,
            },
            Beat {
                reachable: reachable.clone(),
                available: available.clone(),
                reconnect,
                committed: committed.clone(),
            },
        ));
        Ok(Postgres {
            pool,
            node,
            committed,
            available,
            reachable,
            listener,
            heartbeat,
        })
    }

    /// The pool reads run on.
    pub fn reads(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `work` in a transaction: committed if it returns `Ok` (its events then go to the hub),
    /// rolled back if it returns `Err`.
    pub async fn transact<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: for<'t> FnOnce(&'t mut PgTx) -> BoxFuture<'t, Result<T, StoreError>>,
    {
        if !self.is_available() {
            return Err(StoreError::Unavailable(
                "the connection to PostgreSQL is down".into(),
            ));
        }
        tokio::time::timeout(TRANSACTION_TIMEOUT, self.run(work))
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "PostgreSQL did not finish the transaction within {} s",
                    TRANSACTION_TIMEOUT.as_secs()
                )))
            })
    }

    async fn run<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: for<'t> FnOnce(&'t mut PgTx) -> BoxFuture<'t, Result<T, StoreError>>,
    {
        let started = std::time::Instant::now();
        let mut tx = PgTx::begin(&self.pool, self.node.clone()).await?;
        match work(&mut tx).await {
            Ok(value) => {
                let events = tx.commit().await?;
                self.committed.push(events);
                // The same figures as the SQLite writer's, for one dashboard over either backend.
                metrics::histogram!("cyberhub_store_batch_requests").record(1.0);
                metrics::histogram!("cyberhub_store_commit_seconds")
                    .record(started.elapsed().as_secs_f64());
                Ok(value)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Whether the listening connection is up (see `available`) and the database answers the
    /// heartbeat (see `reachable`).
    pub fn is_available(&self) -> bool {
        self.available.load(Ordering::Acquire) && self.reachable.load(Ordering::Acquire)
    }

    pub async fn close(&self) {
        self.heartbeat.abort();
        self.listener.abort();
        self.pool.close().await;
    }
}

/// Finds the primary among several servers at start, for up to half a minute (a failover may be
/// under way while the node starts).
async fn primary_at_start(hosts: &[Host]) -> anyhow::Result<usize> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(primary) = hosts::find_primary(hosts, HEARTBEAT_TIMEOUT).await {
            tracing::info!(host = %hosts[primary].name, "PostgreSQL primary");
            return Ok(primary);
        }
        if tokio::time::Instant::now() >= deadline {
            let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
            anyhow::bail!("none of the PostgreSQL servers {names:?} is a primary that answers");
        }
        tokio::time::sleep(HEARTBEAT_EVERY).await;
    }
}

/// The servers of `DATABASE_URL` and the one the pool connects to.
struct Hosts {
    all: Vec<Host>,
    current: usize,
}

/// What the heartbeat raises, lowers and wakes.
struct Beat {
    reachable: Arc<AtomicBool>,
    available: Arc<AtomicBool>,
    reconnect: Arc<Notify>,
    committed: Arc<Committed>,
}

/// Asks the database `SELECT pg_is_in_recovery()` every [`HEARTBEAT_EVERY`] on a connection of
/// its own (a pooled one could wait behind a burst of writes, which is load, not a cut). No answer
/// within [`HEARTBEAT_TIMEOUT`] lowers `reachable`, and the connection is dropped (a stalled one
/// never answers) for a new one next time. An answer that the server is a standby, or none, makes
/// it look through the other servers of `DATABASE_URL` for the primary: on finding another, the
/// pool connects there from then on, and the listener reconnects (settling the history before
/// the node writes again). When answers come back, the hub reads what it missed.
async fn heartbeat(pool: PgPool, mut hosts: Hosts, beat: Beat) {
    use sqlx::Connection;
    let mut conn: Option<sqlx::PgConnection> = None;
    loop {
        let options = &hosts.all[hosts.current].options;
        let asked = tokio::time::timeout(HEARTBEAT_TIMEOUT, async {
            let live = match &mut conn {
                Some(live) => live,
                None => conn.insert(sqlx::PgConnection::connect_with(options).await?),
            };
            hosts::is_standby(live).await
        })
        .await;
        let mut answered = matches!(asked, Ok(Ok(false)));
        if !answered {
            conn = None;
            if hosts.all.len() > 1
                && let Some(primary) = hosts::find_primary(&hosts.all, HEARTBEAT_TIMEOUT).await
            {
                if primary != hosts.current {
                    // No write may reach the new primary before the listener has settled the
                    // history there.
                    beat.available.store(false, Ordering::Release);
                    tracing::warn!(
                        from = %hosts.all[hosts.current].name,
                        to = %hosts.all[primary].name,
                        "PostgreSQL failed over: switching to the new primary"
                    );
                    hosts.current = primary;
                    pool.set_connect_options(hosts.all[primary].options.clone());
                    beat.reconnect.notify_one();
                }
                answered = true;
            }
        }
        let was = beat.reachable.swap(answered, Ordering::AcqRel);
        if was && !answered {
            tracing::warn!(
                timeout_secs = HEARTBEAT_TIMEOUT.as_secs(),
                "PostgreSQL does not answer: writes are refused until it does"
            );
        } else if !was && answered {
            tracing::info!("PostgreSQL answers again");
            beat.committed.wake();
            beat.committed.sessions_revoked();
        }
        tokio::time::sleep(HEARTBEAT_EVERY).await;
    }
}

/// What the listener raises, lowers and wakes.
struct Watch {
    committed: Arc<Committed>,
    available: Arc<AtomicBool>,
    history: Arc<History>,
    /// The heartbeat asks for a new connection (the primary moved).
    reconnect: Arc<Notify>,
}

/// Listens for other nodes' commits and ended sessions, for as long as the process runs; wakes the
/// hub on each, and after every (re)connect, since notifications sent meanwhile are lost.
async fn listen(pool: PgPool, watch: Watch, node: Arc<str>) {
    let Watch {
        committed,
        available,
        history,
        reconnect,
    } = watch;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            // Without eager reconnecting, a lost connection is reported at once (`Ok(None)`)
            // rather than after the pool's acquire timeout spent trying to reconnect: writes must
            // be refused from the moment the database goes.
            Ok(mut listener) => {
                listener.eager_reconnect(false);
                listener
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for other nodes' events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener
            .listen_all([EVENTS_CHANNEL, REVOCATIONS_CHANNEL])
            .await
        {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // A new primary (or a restored database) may hold a shorter history than the node has
        // seen: recorded before this node writes again.
        match epochs::settle(&pool).await {
            Ok(gaps) => history.set(gaps),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the event history's epochs; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        if !available.swap(true, Ordering::AcqRel) {
            tracing::info!("the database is back");
        }
        committed.wake();
        committed.sessions_revoked();
        loop {
            let received = tokio::select! {
                received = listener.try_recv() => received,
                _ = reconnect.notified() => {
                    available.store(false, Ordering::Release);
                    break;
                }
            };
            match received {
                // This node's own commits were handed to its hub already: reading the table for
                // them would be a query per commit for nothing.
                Ok(Some(notification)) if notification.channel() == EVENTS_CHANNEL => {
                    if notification.payload() != &*node {
                        committed.wake()
                    }
                }
                Ok(Some(_)) => committed.sessions_revoked(),
                // The connection dropped: the database went away (or restarts). Writes are refused
                // until a new connection listens again; whatever was notified in between is read
                // from the tables then.
                Ok(None) | Err(_) => {
                    available.store(false, Ordering::Release);
                    tracing::warn!("lost the connection to the database; reconnecting");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    break;
                }
            }
        }
    }
}
