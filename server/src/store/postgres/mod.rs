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
//! - **Sessions.** Deleting a session (logout, revoke, a deleted user) records it and notifies
//!   `cyberhub_revocations` from a trigger, so every node ends that session's streams at once.

mod tx;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

pub(in crate::store) use tx::PgTx;

use super::{Committed, StoreError};

/// Connections per node: enough for the writers and the reads of a busy node.
const POOL_SIZE: u32 = 16;
/// How long a request may wait for a pooled connection under a burst of writes. (When the
/// database is known to be down, writes are refused at once instead; see `available`.)
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
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
    listener: tokio::task::JoinHandle<()>,
}

impl Postgres {
    /// Connects, applies pending migrations (sqlx serialises concurrent migrators with a lock, so
    /// several nodes may start together) and starts listening for other nodes' commits.
    pub async fn open(url: &str, committed: Arc<Committed>) -> anyhow::Result<Postgres> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        let available = Arc::new(AtomicBool::new(true));
        let node: Arc<str> = Arc::from(format!("{:016x}", rand::random::<u64>()));
        let listener = tokio::spawn(listen(
            pool.clone(),
            committed.clone(),
            available.clone(),
            node.clone(),
        ));
        Ok(Postgres {
            pool,
            node,
            committed,
            available,
            listener,
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

    /// Whether the listening connection is up (see `available`).
    pub fn is_available(&self) -> bool {
        self.available.load(Ordering::Acquire)
    }

    pub async fn close(&self) {
        self.listener.abort();
        self.pool.close().await;
    }
}

/// Listens for other nodes' commits and ended sessions, for as long as the process runs; wakes the
/// hub on each, and after every (re)connect, since notifications sent meanwhile are lost.
async fn listen(
    pool: PgPool,
    committed: Arc<Committed>,
    available: Arc<AtomicBool>,
    node: Arc<str>,
) {
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
        if !available.swap(true, Ordering::AcqRel) {
            tracing::info!("the database is back");
        }
        committed.wake();
        committed.sessions_revoked();
        loop {
            match listener.try_recv().await {
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
