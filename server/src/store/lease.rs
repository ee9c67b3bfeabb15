//! A lease on a singleton job among the nodes on one database (the billing bridge's poller): on
//! PostgreSQL a session-level advisory lock held on a connection of the lease's own, which the
//! database frees the moment that connection ends (the node died, or lost the database), so another
//! node takes the job over; on SQLite, one process is the only node and the lease is always its.

use std::time::Duration;

use sqlx::{Connection, PgConnection};

use super::{Backend, Store, StoreError};

/// The key space of the leases (two-key advisory locks: never the outbox's one-key lock, nor the
/// payment locks' space 1).
const LEASE_LOCKS: i32 = 2;
/// How long a check that the lease's connection is alive may take.
const CHECK: Duration = Duration::from_secs(2);

/// A held lease; dropped, it is released.
pub struct Lease(Held);

enum Held {
    Local,
    Postgres(PgConnection),
}

impl Store {
    /// Takes the lease named `key` if no other node holds it; `None` when one does.
    pub async fn try_lease(&self, key: i32) -> Result<Option<Lease>, StoreError> {
        match &*self.backend {
            Backend::Sqlite(_) => Ok(Some(Lease(Held::Local))),
            Backend::Postgres(db) => {
                // Out of the pool: a connection holding a session lock must never serve others.
                let mut conn = db.reads().acquire().await?.detach();
                let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(LEASE_LOCKS)
                    .bind(key)
                    .fetch_one(&mut conn)
                    .await?;
                if held {
                    Ok(Some(Lease(Held::Postgres(conn))))
                } else {
                    let _ = conn.close().await;
                    Ok(None)
                }
            }
        }
    }
}

impl Lease {
    /// Whether the lease still holds: its connection answers. A lease whose connection broke is
    /// gone (the database freed the lock) and must be taken again.
    pub async fn is_held(&mut self) -> bool {
        match &mut self.0 {
            Held::Local => true,
            Held::Postgres(conn) => {
                matches!(tokio::time::timeout(CHECK, conn.ping()).await, Ok(Ok(())))
            }
        }
    }
}
