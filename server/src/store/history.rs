//! Which event ids belong to the database's history, across PostgreSQL failovers.
//!
//! With asynchronous replication, a replica promoted to primary may lack the newest commits of the
//! old one: events that clients have already been shown, whose ids the new primary would hand out
//! again for other events. A client resuming from such an id would then skip the new events and keep
//! showing what never happened here. So the history forks visibly: the first node on the new
//! primary (which knows it by PostgreSQL's timeline, raised by every promotion and every point-in-
//! time restore) records a **gap** in the `event_epochs` table, in the outbox's lock before any new
//! event: the fork point (the newest event the new primary has) and a boundary [`GAP`] ids above it,
//! where the new history's ids start. Every id strictly between the two is **lost**: a cursor there
//! gets `sync:required` (`failover`), and the client refetches and continues from the boundary.
//!
//! Why this is sound: ids are assigned in commit order (the outbox lock), and a replica replays the
//! primary's WAL in order, so the new primary holds exactly the events up to some id (the fork
//! point) and none after it. The old primary can only have handed out ids above the fork point, and
//! fewer than [`GAP`] of them (4 billion: far beyond any replication lag), so every id a client may
//! have seen and this history lacks lies inside the gap, and every id of the new history lies
//! above it. Nothing acknowledged is lost with synchronous replication: the fork point is then the
//! newest acknowledged event, and no cursor falls in the gap.

use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};

/// How far above the fork point the new history's ids start.
pub const GAP: i64 = 1 << 32;

/// Ids strictly between `fork_after` and `boundary` exist in no history the database has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The newest event the new history shares with the old.
    pub fork_after: i64,
    /// Where the new history stands before its first event (its first id is one above): a
    /// cursor to continue from.
    pub boundary: i64,
}

impl Gap {
    fn holds(&self, id: i64) -> bool {
        self.fork_after < id && id < self.boundary
    }
}

/// The gaps of this database's history (none on SQLite, none before a first failover).
#[derive(Default)]
pub struct History {
    gaps: RwLock<Vec<Gap>>,
    /// The newest gap, for the checks on every live event without a lock (0, 0: none).
    newest_fork_after: AtomicI64,
    newest_boundary: AtomicI64,
}

impl History {
    /// Replaces the known gaps (oldest first), as read from the database.
    pub fn set(&self, gaps: Vec<Gap>) {
        if let Some(newest) = gaps.last() {
            // The boundary first: a reader that sees the new fork point sees its boundary too.
            self.newest_boundary
                .store(newest.boundary, Ordering::Release);
            self.newest_fork_after
                .store(newest.fork_after, Ordering::Release);
        }
        *self.gaps.write().expect("history lock poisoned") = gaps;
    }

    /// Whether `id` names an event of a history this database does not have.
    pub fn is_lost(&self, id: i64) -> bool {
        self.gaps
            .read()
            .expect("history lock poisoned")
            .iter()
            .any(|gap| gap.holds(id))
    }

    /// Whether `id` lies in the newest gap: two atomic loads, for the path of every live event.
    pub fn is_lost_in_newest(&self, id: i64) -> bool {
        let fork_after = self.newest_fork_after.load(Ordering::Acquire);
        let boundary = self.newest_boundary.load(Ordering::Acquire);
        fork_after < id && id < boundary
    }

    /// The newest boundary (0 before any fork): no history is ahead of the database short of it.
    pub fn newest_boundary(&self) -> i64 {
        self.newest_boundary.load(Ordering::Acquire)
    }

    /// How many ids in `(from, to]` are gap rather than events (the lost ids and the boundary: the
    /// new history's first id is one above it), so distances count events.
    pub fn ids_skipped(&self, from: i64, to: i64) -> i64 {
        self.gaps
            .read()
            .expect("history lock poisoned")
            .iter()
            .map(|gap| (to.min(gap.boundary) - from.max(gap.fork_after)).max(0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forked_at_100() -> History {
        let history = History::default();
        history.set(vec![Gap {
            fork_after: 100,
            boundary: 100 + GAP,
        }]);
        history
    }

    #[test]
    fn ids_between_the_fork_and_the_boundary_are_lost_and_the_ends_are_not() {
        let history = forked_at_100();
        assert!(!history.is_lost(100), "the fork point is shared history");
        assert!(history.is_lost(101) && history.is_lost(100 + GAP - 1));
        assert!(
            !history.is_lost(100 + GAP),
            "the boundary is where the new history stands"
        );
        assert!(!history.is_lost(100 + GAP + 1));
        assert!(history.is_lost_in_newest(101) && !history.is_lost_in_newest(100));
        assert!(!History::default().is_lost(101));
        assert!(!History::default().is_lost_in_newest(1));
    }

    #[test]
    fn distances_across_a_gap_count_events_not_ids() {
        let history = forked_at_100();
        // From 90 to 5 ids into the new history: 10 old events, 5 new ones.
        let to = 100 + GAP + 5;
        assert_eq!(to - 90 - history.ids_skipped(90, to), 15);
        assert_eq!(history.ids_skipped(10, 90), 0);
    }
}
