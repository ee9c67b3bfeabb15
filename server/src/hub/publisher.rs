//! The publisher: one task takes the events of each commit from the store (and, on a slow fallback
//! tick or after another process's commit, reads the rows after its cursor), in id order, and
//! publishes each once, encoded, to the global channel or its user's; it also sends the heartbeat
//! and, at shutdown, the end of every feed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Encoded, Hub, HubMsg, PAGE, UserMsg};
use crate::store::StoredEvent;

impl Hub {
    pub(super) async fn publish_loop(self, shutdown: CancellationToken) {
        let inner = &self.inner;
        let committed = inner.store.committed();
        let mut heartbeat = tokio::time::interval(inner.config.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        // Commits from another process (a second server on the same file, the CLI) raise no signal
        // here; a slow tick picks them up.
        let mut fallback = tokio::time::interval(Duration::from_secs(1));
        fallback.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cursor = self.head();
        let mut revocations = inner.store.last_revocation().await.unwrap_or(0);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = committed.wait() => {}
                _ = fallback.tick() => {
                    self.end_expired_sessions();
                    // Cut off from the database, a read would only wait out its timeout while the
                    // heartbeat below waits too; the database's return wakes this loop.
                    if !inner.store.is_reachable() {
                        continue;
                    }
                    self.apply_revocations(&mut revocations).await;
                }
                // Another node (PostgreSQL) ended sessions: end their streams here at once.
                _ = committed.wait_revoked() => {
                    self.apply_revocations(&mut revocations).await;
                    continue;
                }
                _ = heartbeat.tick() => {
                    let _ = inner.global.send(HubMsg::Heartbeat);
                    continue;
                }
            }
            // This process's commits come with their events: published as they are when they
            // continue the sequence. A gap means another process committed in between; then, and
            // on the slow tick, the table says what there is.
            let mut fresh: Vec<StoredEvent> = committed
                .take()
                .into_iter()
                .filter(|e| e.id > cursor)
                .collect();
            // Commits are handed over by the tasks that made them, which on PostgreSQL may run in
            // another order than the commits: in id order, and only then checked for gaps.
            fresh.sort_unstable_by_key(|e| e.id);
            if let Some(last) = fresh.last()
                && last.id - cursor == fresh.len() as i64
            {
                cursor = last.id;
                self.publish(fresh);
                continue;
            }
            loop {
                let page = match inner.store.events_after(cursor, PAGE).await {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::error!(error = %e, "hub could not read the outbox; retrying");
                        break;
                    }
                };
                let full = page.len() as i64 == PAGE;
                if let Some(last) = page.last() {
                    cursor = last.id;
                    self.publish(page);
                }
                if !full {
                    break;
                }
            }
        }
        // The flag first: a feed that misses the message (lagging, or replaying) still sees it.
        inner.running.store(false, Ordering::Release);
        let _ = inner.global.send(HubMsg::Shutdown);
    }

    fn publish(&self, page: Vec<StoredEvent>) {
        let inner = &self.inner;
        let mut state = inner.state.lock().expect("hub lock poisoned");
        for row in page {
            let event = Arc::new(Encoded::from_row(row));
            state.recent.push(event.clone());
            inner.head.store(event.id, Ordering::Release);
            // Logged here, after the commit, so a rolled-back change never shows up as emitted.
            tracing::debug!(event_id = event.id, event = %event.kind, user_id = event.user_id, "event emitted");
            metrics::counter!("cyberhub_events_published_total", "event" => event.kind.clone())
                .increment(1);
            match event.user_id {
                // No receiver is not an error: nobody is listening right now.
                None => drop(inner.global.send(HubMsg::Event(event))),
                Some(user) => {
                    if let Some(tx) = state.users.get(&user) {
                        let _ = tx.send(UserMsg::Event(event));
                    }
                }
            }
        }
    }
}
