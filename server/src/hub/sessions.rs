//! The sessions open feeds were opened with: when one ends (a logout here, a revocation the
//! database recorded from any process, or its expiry), its feeds are told on their user's channel
//! and end.

use super::{Hub, SessionKey, UserMsg};
use crate::store::now_ms;

/// A session that has open feeds.
pub(super) struct SessionEntry {
    pub(super) user_id: i64,
    pub(super) expires_at: i64,
    pub(super) feeds: u32,
    pub(super) revoked: bool,
}

impl Hub {
    /// Ends the feeds opened with the session of `token_hash` (a logout); at once for feeds on this
    /// server. Other servers learn it from the database's revocation record within a second.
    pub fn revoke_session(&self, token_hash: &str) {
        self.revoke(SessionKey::fingerprint_of(token_hash));
    }

    fn revoke(&self, fingerprint: u64) {
        let mut state = self.inner.state.lock().expect("hub lock poisoned");
        let Some(entry) = state.sessions.get_mut(&fingerprint) else {
            return;
        };
        if entry.revoked {
            return;
        }
        entry.revoked = true;
        let user = entry.user_id;
        metrics::counter!("cyberhub_sessions_revoked_total").increment(1);
        if let Some(tx) = state.users.get(&user) {
            let _ = tx.send(UserMsg::Revoked(fingerprint));
        }
    }

    /// Whether the session with this fingerprint was revoked while feeds held it (a feed whose
    /// channel overflowed may have missed the message).
    pub(super) fn is_revoked(&self, fingerprint: u64) -> bool {
        let state = self.inner.state.lock().expect("hub lock poisoned");
        state.sessions.get(&fingerprint).is_some_and(|s| s.revoked)
    }

    /// Revokes the sessions of open feeds that have expired.
    pub(super) fn end_expired_sessions(&self) {
        let now = now_ms();
        let expired: Vec<u64> = {
            let state = self.inner.state.lock().expect("hub lock poisoned");
            state
                .sessions
                .iter()
                .filter(|(_, s)| s.expires_at <= now && !s.revoked)
                .map(|(fingerprint, _)| *fingerprint)
                .collect()
        };
        for fingerprint in expired {
            self.revoke(fingerprint);
        }
    }

    /// Reads the revocations recorded since `cursor` (any process) and revokes them here.
    pub(super) async fn apply_revocations(&self, cursor: &mut i64) {
        match self.inner.store.revocations_after(*cursor).await {
            Ok(rows) => {
                for (id, token_hash) in rows {
                    *cursor = id;
                    self.revoke_session(&token_hash);
                }
            }
            Err(e) => tracing::error!(error = %e, "hub could not read session revocations"),
        }
    }
}
