//! A short-lived in-process cache of valid sessions. Every authenticated request and every stream
//! connection checks its token; on SQLite each lookup is a round trip to a database thread, which
//! costs more CPU than the rest of a small request. Entries live `TTL` at most and never past the
//! session's own expiry; logout on this server removes its entry at once. (Another server sharing
//! the database sees a logout after `TTL` at most.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::SessionUser;

const TTL: Duration = Duration::from_secs(30);
/// Past this many entries the cache starts over rather than growing without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (SessionUser, Instant)>>,
}

impl SessionCache {
    /// The cached user of a token hash, if still fresh: within the cache's time (monotonic, so a
    /// step of the wall clock does not stretch it) and before the session's end (wall time, as the
    /// database keeps it: a clock stepped past the end ends the session here too, at once).
    pub fn get(&self, token_hash: &str) -> Option<SessionUser> {
        let entries = self.entries.lock().expect("session cache poisoned");
        let (user, until) = entries.get(token_hash)?;
        (Instant::now() < *until && user.session.expires_at > super::now_ms()).then(|| user.clone())
    }

    /// Remembers a session that is valid until `expires_in` from now (capped at the TTL).
    pub fn put(&self, token_hash: &str, user: SessionUser, expires_in: Duration) {
        let mut entries = self.entries.lock().expect("session cache poisoned");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            token_hash.to_owned(),
            (user, Instant::now() + expires_in.min(TTL)),
        );
    }

    /// Forgets a session (logout).
    pub fn remove(&self, token_hash: &str) {
        self.entries
            .lock()
            .expect("session cache poisoned")
            .remove(token_hash);
    }
}
