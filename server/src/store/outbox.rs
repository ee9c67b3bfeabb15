//! The transactional outbox: events are rows written in the same transaction as the change they
//! announce (through [`Tx::emit`](super::tx::Tx::emit)), read back in id order by the hub and by
//! resuming clients, and pruned by retention.

use std::sync::Mutex;

use cyberhub_protocol::{Announcement, DropNew, RecentDrop, ServerEvent, names};
use tokio::sync::Notify;

use super::tx::Tx;
use super::{Store, StoreError, now_ms};

/// An event row as read back from the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub kind: String,
    /// `None` for a global event.
    pub user_id: Option<i64>,
    /// The payload as JSON, exactly as written.
    pub data: String,
}

/// Where the outbox stands: the newest id ever written and the newest id retention has deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxHead {
    pub last_id: i64,
    pub pruned_through: i64,
}

/// What the store tells the hub: the events of this process's commits (which it would otherwise
/// read back at once), and, on PostgreSQL, that another node committed or a session ended.
#[derive(Default)]
pub struct Committed {
    events: Mutex<Vec<StoredEvent>>,
    signal: Notify,
    revoked: Notify,
}

impl Committed {
    /// Hands over a commit's events (nothing to do for a commit that wrote none).
    pub(super) fn push(&self, events: Vec<StoredEvent>) {
        if events.is_empty() {
            return;
        }
        self.events
            .lock()
            .expect("commit hand-off poisoned")
            .extend(events);
        self.signal.notify_one();
    }

    /// Says that events were committed elsewhere (another node): the hub reads the table.
    pub(super) fn wake(&self) {
        self.signal.notify_one();
    }

    /// Says that sessions ended somewhere: the hub reads the revocations.
    pub(super) fn sessions_revoked(&self) {
        self.revoked.notify_one();
    }

    /// Resolves after the next commit that wrote events (at once if one came since the last wait).
    pub async fn wait(&self) {
        self.signal.notified().await;
    }

    /// Resolves after the next signal of ended sessions (never on SQLite, whose hub reads the
    /// revocations on its tick).
    pub async fn wait_revoked(&self) {
        self.revoked.notified().await;
    }

    /// The committed events handed over since the last call, in id order.
    pub fn take(&self) -> Vec<StoredEvent> {
        std::mem::take(&mut *self.events.lock().expect("commit hand-off poisoned"))
    }
}

impl Store {
    /// Broadcasts an admin announcement; returns the event id.
    pub async fn announce(&self, text: &str) -> Result<i64, StoreError> {
        let event = ServerEvent::Announcement(Announcement {
            text: text.to_owned(),
        });
        transact!(self, |tx| tx.emit(&event, now_ms()))
    }

    /// Events after `after` in id order, at most `limit`. With `viewer` set, only the global events
    /// and that user's own; with `None`, only global events.
    pub async fn events_visible_after(
        &self,
        after: i64,
        viewer: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, kind, user_id, data FROM events
                 WHERE id > $1 AND (user_id IS NULL OR user_id = $2)
                 ORDER BY id LIMIT $3",
            )
            .bind(after)
            .bind(viewer)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The newest `drop:new` events, newest first: the live feed's history. It reaches back as far
    /// as retention keeps events.
    pub async fn recent_drops(&self, limit: i64) -> Result<Vec<RecentDrop>, StoreError> {
        let rows: Vec<(i64, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, created_at, data FROM events WHERE kind = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(names::DROP_NEW)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(id, at, data)| {
                let drop: DropNew = serde_json::from_str(&data)
                    .map_err(|e| StoreError::Db(format!("drop:new event {id}: {e}").into()))?;
                Ok(RecentDrop { id, at, drop })
            })
            .collect()
    }

    /// Every event after `after` (all users), in id order: what the hub publishes.
    pub async fn events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, kind, user_id, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The newest event id and the retention watermark.
    pub async fn outbox_head(&self) -> Result<OutboxHead, StoreError> {
        let (last_id, pruned_through): (Option<i64>, i64) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT (SELECT MAX(id) FROM events),
                        (SELECT value FROM outbox_state WHERE key = 'pruned_through')",
            )
            .fetch_one(pool)
            .await
        })?;
        Ok(OutboxHead {
            // Retention may have deleted every row; ids are never reused, so the watermark still
            // tells where the outbox stands.
            last_id: last_id.unwrap_or(0).max(pruned_through),
            pruned_through,
        })
    }

    /// The highest id retention should delete: everything older than `max_age_ms`, and all but the
    /// newest `max_count`. Zero when nothing is due.
    pub async fn prune_cutoff(&self, max_age_ms: i64, max_count: i64) -> Result<i64, StoreError> {
        let (by_age, by_count): (Option<i64>, Option<i64>) = on_pool!(self, |pool| {
            sqlx::query_as(
                // By count, the id below the newest `max_count` events (not MAX(id) - max_count:
                // ids jump across a failover's gap).
                "SELECT (SELECT MAX(id) FROM events WHERE created_at < $1),
                        (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .bind(now_ms() - max_age_ms)
            .bind(max_count)
            .fetch_one(pool)
            .await
        })?;
        Ok(by_age.unwrap_or(0).max(by_count.unwrap_or(0)).max(0))
    }

    /// Deletes the events up to `cutoff` and raises the `pruned_through` watermark to it, so a client
    /// resuming from before it gets `sync:required`. Returns how many rows went.
    pub async fn prune_through(&self, cutoff: i64) -> Result<u64, StoreError> {
        transact!(self, |tx| tx.prune_events(cutoff))
    }
}
