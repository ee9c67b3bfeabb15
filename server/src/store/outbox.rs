//! The transactional outbox: events are rows written in the same transaction as the change they
//! announce, read back in id order by the hub and by resuming clients, and pruned by retention.

use std::sync::Mutex;

use cyberhub_protocol::{Announcement, DropNew, RecentDrop, ServerEvent, names};
use rusqlite::params;
use tokio::sync::Notify;

use super::{Store, StoreError, WriteTx, now_ms};

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

/// Appends an event inside the caller's transaction and returns its id.
pub(super) fn emit(tx: &mut WriteTx<'_>, event: &ServerEvent) -> rusqlite::Result<i64> {
    let (kind, user_id, data) = (event.name(), event.user_id(), event.data_json());
    let id = tx
        .prepare_cached(
            "INSERT INTO events (kind, user_id, data, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        )?
        .query_row(params![kind, user_id, data, now_ms()], |row| row.get(0))?;
    tx.emitted(StoredEvent {
        id,
        kind: kind.to_owned(),
        user_id,
        data,
    });
    Ok(id)
}

/// The events of committed transactions, handed from the writer to the hub, which would otherwise
/// read back at once what was just written.
#[derive(Default)]
pub struct Committed {
    events: Mutex<Vec<StoredEvent>>,
    signal: Notify,
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

    /// Resolves after the next commit that wrote events (at once if one came since the last wait).
    pub async fn wait(&self) {
        self.signal.notified().await;
    }

    /// The committed events handed over since the last call, in id order.
    pub fn take(&self) -> Vec<StoredEvent> {
        std::mem::take(&mut *self.events.lock().expect("commit hand-off poisoned"))
    }
}

/// Appends several events inside the caller's transaction, in order.
pub(super) fn emit_all(tx: &mut WriteTx<'_>, events: &[ServerEvent]) -> rusqlite::Result<()> {
    for event in events {
        emit(tx, event)?;
    }
    Ok(())
}

impl Store {
    /// Broadcasts an admin announcement; returns the event id.
    pub async fn announce(&self, text: &str) -> Result<i64, StoreError> {
        let event = ServerEvent::Announcement(Announcement {
            text: text.to_owned(),
        });
        self.write(move |tx| Ok(emit(tx, &event)?)).await
    }

    /// Events after `after` in id order, at most `limit`. With `viewer` set, only the global events
    /// and that user's own; with `None`, only global events.
    pub async fn events_visible_after(
        &self,
        after: i64,
        viewer: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT id, kind, user_id, data FROM events
             WHERE id > $1 AND (user_id IS NULL OR user_id = $2)
             ORDER BY id LIMIT $3",
        )
        .bind(after)
        .bind(viewer)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows)
    }

    /// The newest `drop:new` events, newest first: the live feed's history. It reaches back as far
    /// as retention keeps events.
    pub async fn recent_drops(&self, limit: i64) -> Result<Vec<RecentDrop>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, created_at, data FROM events WHERE kind = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(names::DROP_NEW)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
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
        let rows = sqlx::query_as(
            "SELECT id, kind, user_id, data FROM events WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows)
    }

    /// The newest event id and the retention watermark.
    pub async fn outbox_head(&self) -> Result<OutboxHead, StoreError> {
        let (last_id, pruned_through): (Option<i64>, i64) = sqlx::query_as(
            "SELECT (SELECT MAX(id) FROM events),
                    (SELECT value FROM outbox_state WHERE key = 'pruned_through')",
        )
        .fetch_one(&self.read)
        .await?;
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
        let (by_age, by_count): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT (SELECT MAX(id) FROM events WHERE created_at < $1),
                    (SELECT MAX(id) - $2 FROM events)",
        )
        .bind(now_ms() - max_age_ms)
        .bind(max_count)
        .fetch_one(&self.read)
        .await?;
        Ok(by_age.unwrap_or(0).max(by_count.unwrap_or(0)).max(0))
    }

    /// Deletes the events up to `cutoff` and raises the `pruned_through` watermark to it, so a client
    /// resuming from before it gets `sync:required`. Returns how many rows went.
    pub async fn prune_through(&self, cutoff: i64) -> Result<u64, StoreError> {
        self.write(move |tx| {
            let deleted = tx
                .prepare_cached("DELETE FROM events WHERE id <= ?1")?
                .execute([cutoff])?;
            tx.prepare_cached(
                "UPDATE outbox_state SET value = CASE WHEN value < ?1 THEN ?1 ELSE value END
                 WHERE key = 'pruned_through'",
            )?
            .execute([cutoff])?;
            Ok(deleted as u64)
        })
        .await
    }
}
