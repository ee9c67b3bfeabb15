//! Retention: events go by age and count, and the watermark below which they may be gone is
//! raised before the delete, so a feed that reads the table and then checks the watermark can never
//! miss a prune that ran in between (it gets `sync:required` instead of silence).

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Hub;

impl Hub {
    /// Runs retention once: raises the watermark feeds check, then deletes up to it.
    pub async fn prune(&self, max_age: Duration, max_count: i64) -> anyhow::Result<u64> {
        let store = &self.inner.store;
        let cutoff = store
            .prune_cutoff(max_age.as_millis() as i64, max_count)
            .await?;
        if cutoff <= self.inner.pruned_through.load(Ordering::Acquire) {
            return Ok(0);
        }
        // Raised before the delete: a feed that reads the table and then checks the watermark cannot
        // miss a prune that ran in between.
        self.inner
            .pruned_through
            .fetch_max(cutoff, Ordering::AcqRel);
        let deleted = store.prune_through(cutoff).await?;
        if deleted > 0 {
            tracing::info!(deleted, pruned_through = cutoff, "pruned old events");
        }
        metrics::counter!("cyberhub_events_pruned_total").increment(deleted);
        Ok(deleted)
    }

    /// The id up to which events may have been pruned.
    pub fn pruned_through(&self) -> i64 {
        self.inner.pruned_through.load(Ordering::Acquire)
    }
}
