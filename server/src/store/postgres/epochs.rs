//! Recording a fork of the event history when the database is a promoted replica (or a restore):
//! see [`crate::store::history`] for why ids then jump by [`GAP`] and why that is sound.

use sqlx::PgPool;

use super::tx::OUTBOX_LOCK;
use crate::store::history::{GAP, Gap};
use crate::store::now_ms;

/// Compares the database's timeline with the one the events table was last written under; on a
/// new one, records the gap and moves the ids past it, before any event of the new history (in
/// the outbox's lock, which every event insert takes). Returns every gap, oldest first. Each node
/// runs it whenever it (re)connects, before it writes; the first to see a new timeline records it.
pub async fn settle(pool: &PgPool) -> Result<Vec<Gap>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(OUTBOX_LOCK)
        .execute(&mut *tx)
        .await?;
    // The WAL file name starts with the timeline, in hex; every promotion starts a new one.
    let wal_file: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_current_wal_lsn())")
        .fetch_one(&mut *tx)
        .await?;
    let timeline = i64::from_str_radix(&wal_file[..8], 16)
        .map_err(|e| sqlx::Error::Protocol(format!("timeline of {wal_file}: {e}")))?;
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT timeline FROM event_epochs ORDER BY boundary DESC, recorded_at DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    match last {
        Some(last) if last == timeline => {}
        None => {
            sqlx::query(
                "INSERT INTO event_epochs (timeline, fork_after, boundary, recorded_at)
                 VALUES ($1, 0, 0, $2)",
            )
            .bind(timeline)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        Some(last) => {
            // What this database has: its newest event (or, all pruned, the watermark).
            let fork_after: i64 = sqlx::query_scalar(
                "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM events), 0),
                                 (SELECT COALESCE(MAX(value), 0) FROM outbox_state
                                  WHERE key = 'pruned_through'))",
            )
            .fetch_one(&mut *tx)
            .await?;
            let boundary = fork_after + GAP;
            sqlx::query("SELECT setval(pg_get_serial_sequence('events', 'id'), $1)")
                .bind(boundary)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO event_epochs (timeline, fork_after, boundary, recorded_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(timeline)
            .bind(fork_after)
            .bind(boundary)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tracing::warn!(
                from_timeline = last,
                timeline,
                fork_after,
                boundary,
                "the database is a new history (a promoted replica, or a restore): events after \
                 {fork_after} that clients may have seen are not in it; their cursors get \
                 sync:required (failover), and new events start after {boundary}"
            );
        }
    }
    let gaps: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT fork_after, boundary FROM event_epochs WHERE boundary > 0 ORDER BY boundary",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(gaps
        .into_iter()
        .map(|(fork_after, boundary)| Gap {
            fork_after,
            boundary,
        })
        .collect())
}
