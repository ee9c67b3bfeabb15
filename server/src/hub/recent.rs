//! The newest published events, kept in memory so that resuming and lagging feeds replay without a
//! database query. A deploy's reconnect storm resumes thousands of clients at once; each replay from
//! here is a short scan under the hub lock instead of a round trip to SQLite.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Encoded;

/// Every published event with an id above `floor`, in id order, at most `capacity` of them.
pub struct Recent {
    events: VecDeque<Arc<Encoded>>,
    capacity: usize,
    /// Every event with an id above this is held.
    floor: i64,
}

impl Recent {
    /// An empty buffer that holds everything after `floor`.
    pub fn new(capacity: usize, floor: i64) -> Recent {
        Recent {
            events: VecDeque::with_capacity(capacity),
            capacity,
            floor,
        }
    }

    /// Appends the next published event, forgetting the oldest when full.
    pub fn push(&mut self, event: Arc<Encoded>) {
        if self.capacity == 0 {
            self.floor = event.id;
            return;
        }
        if self.events.len() == self.capacity
            && let Some(oldest) = self.events.pop_front()
        {
            self.floor = oldest.id;
        }
        self.events.push_back(event);
    }

    /// The events after `cursor` that `viewer` may see, at most `limit`, and whether more may follow;
    /// `None` when the buffer does not reach back to `cursor`.
    pub fn after(
        &self,
        cursor: i64,
        viewer: Option<i64>,
        limit: usize,
    ) -> Option<(Vec<Arc<Encoded>>, bool)> {
        if cursor < self.floor {
            return None;
        }
        let start = self.events.partition_point(|e| e.id <= cursor);
        let mut out = Vec::new();
        for event in self.events.range(start..) {
            if event.user_id.is_none() || event.user_id == viewer {
                if out.len() == limit {
                    return Some((out, true));
                }
                out.push(event.clone());
            }
        }
        Some((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, user_id: Option<i64>) -> Arc<Encoded> {
        Arc::new(Encoded::new(id, user_id, "announcement", "{}".into()))
    }

    fn ids(found: Option<(Vec<Arc<Encoded>>, bool)>) -> Option<(Vec<i64>, bool)> {
        found.map(|(events, more)| (events.iter().map(|e| e.id).collect(), more))
    }

    #[test]
    fn replays_what_a_viewer_may_see_and_refuses_cursors_it_no_longer_covers() {
        let mut recent = Recent::new(4, 0);
        for (id, user) in [
            (1, None),
            (2, Some(7)),
            (3, Some(8)),
            (4, None),
            (5, Some(7)),
        ] {
            recent.push(event(id, user));
        }
        // Event 1 was forgotten: a cursor before it cannot be served from memory.
        assert_eq!(ids(recent.after(0, None, 10)), None);
        assert_eq!(
            ids(recent.after(1, Some(7), 10)),
            Some((vec![2, 4, 5], false))
        );
        assert_eq!(ids(recent.after(1, None, 10)), Some((vec![4], false)));
        assert_eq!(ids(recent.after(1, Some(7), 2)), Some((vec![2, 4], true)));
        assert_eq!(ids(recent.after(5, Some(7), 10)), Some((vec![], false)));
    }
}
