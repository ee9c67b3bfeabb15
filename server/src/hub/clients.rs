//! Open connections by transport, for `/health`, `/metrics` and the caps: each stream or waiting
//! poll holds a [`ClientGuard`] that counts it until it is dropped.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Hub;

/// Which transport a connection uses, for the client counts of `/health` and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Sse,
    LongPoll,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::Sse => "sse",
            Transport::LongPoll => "longpoll",
        }
    }
}

impl Hub {
    /// Open connections by transport: (SSE, long-poll).
    pub fn client_counts(&self) -> (u64, u64) {
        (
            self.inner.sse_clients.load(Ordering::Relaxed),
            self.inner.poll_clients.load(Ordering::Relaxed),
        )
    }

    /// Open feeds (streams and waiting polls) of one user.
    pub fn user_feeds(&self, user_id: i64) -> usize {
        let state = self.inner.state.lock().expect("hub lock poisoned");
        state
            .users
            .get(&user_id)
            .map_or(0, |tx| tx.receiver_count())
    }

    /// Counts a connection as open until the guard is dropped.
    pub fn client_guard(&self, transport: Transport) -> ClientGuard {
        self.counter(transport).fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("cyberhub_streams_open", "transport" => transport.label()).increment(1.0);
        ClientGuard {
            hub: self.clone(),
            transport,
        }
    }

    fn counter(&self, transport: Transport) -> &AtomicU64 {
        match transport {
            Transport::Sse => &self.inner.sse_clients,
            Transport::LongPoll => &self.inner.poll_clients,
        }
    }
}

/// A connection counted open; decrements on drop.
pub struct ClientGuard {
    hub: Hub,
    transport: Transport,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.hub
            .counter(self.transport)
            .fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("cyberhub_streams_open", "transport" => self.transport.label())
            .decrement(1.0);
    }
}
