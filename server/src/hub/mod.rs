//! The event hub: reads committed events from the outbox once, encodes each once, and fans them out.
//!
//! The hub knows nothing of HTTP. A transport (the SSE body, the long-poll handler, or any future
//! stream path) opens a [`Feed`] and pulls ready-encoded frames from it.
//!
//! - [`publisher`]: one task takes the events of each commit from the store's writer (and, on a slow
//!   fallback tick or after another process's commit, reads the rows after its cursor), in id order,
//!   and publishes each as an [`Encoded`] event behind an `Arc`: the SSE frame is built once and
//!   shared by every connection.
//! - Global events go through one `broadcast` channel. Per-user events go through a small `broadcast`
//!   channel per user that has at least one open feed, so a connection only wakes for its own user's
//!   events and nobody else's ever reach it. Heartbeats ride the global channel: one timer for all.
//! - [`feed`]: a feed subscribes first, then replays (from [`recent`], the newest events in memory,
//!   or the table), then follows live; one that falls behind (its channel overflowed) catches up
//!   from the outbox table, so a slow connection never blocks the others and never silently loses
//!   events.
//! - [`sessions`]: feeds opened with a session are registered by it; when the session ends (logout
//!   here, a revocation the database recorded from any process, or expiry), its feeds end.
//! - [`clients`]: open connections by transport; [`retention`]: pruning old events behind a
//!   watermark.

mod clients;
mod feed;
mod publisher;
mod recent;
mod retention;
mod sessions;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::{SessionKey, Store, StoredEvent};

pub use clients::{ClientGuard, Transport};
pub use feed::{Feed, FeedItem};
use sessions::SessionEntry;

/// How many events the outbox is read in per query, by the publisher and by catching-up feeds.
const PAGE: i64 = 500;

/// An event ready to send: the SSE frame is encoded once and shared by every connection.
#[derive(Debug)]
pub struct Encoded {
    pub id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    /// The payload JSON, for transports that wrap it differently (long-poll).
    pub data: String,
    /// `id: N\nevent: NAME\ndata: JSON\n\n`.
    pub sse: Bytes,
}

impl Encoded {
    /// Encodes an event; `id` is `None` for control frames that must not move the client's cursor.
    pub fn new(id: i64, user_id: Option<i64>, kind: &str, data: String) -> Encoded {
        // JSON from serde_json is compact, so the payload is always a single `data:` line.
        let sse = Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {data}\n\n"));
        Encoded {
            id,
            user_id,
            kind: kind.to_owned(),
            data,
            sse,
        }
    }

    fn from_row(row: StoredEvent) -> Encoded {
        Encoded::new(row.id, row.user_id, &row.kind, row.data)
    }

    /// The long-poll form: `{"id":N,"event":NAME,"data":{...}}`.
    pub fn envelope_json(&self) -> String {
        format!(
            r#"{{"id":{},"event":"{}","data":{}}}"#,
            self.id, self.kind, self.data
        )
    }
}

/// Who a feed is for: a signed-in user and the session the feed was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: i64,
    pub session: SessionKey,
}

impl From<&crate::store::SessionUser> for Viewer {
    fn from(user: &crate::store::SessionUser) -> Viewer {
        Viewer {
            user_id: user.id,
            session: user.session,
        }
    }
}

impl Viewer {
    /// A viewer with a session of its own that never expires (tools and tests that open feeds
    /// without signing in).
    pub fn user(user_id: i64) -> Viewer {
        Viewer {
            user_id,
            session: SessionKey {
                fingerprint: rand::random(),
                expires_at: i64::MAX,
            },
        }
    }
}

/// What travels on a user's channel.
#[derive(Debug, Clone)]
pub enum UserMsg {
    Event(Arc<Encoded>),
    /// The session with this fingerprint ended: its feeds end.
    Revoked(u64),
}

/// What travels on the global channel.
#[derive(Debug, Clone)]
pub enum HubMsg {
    Event(Arc<Encoded>),
    Heartbeat,
    /// The server is stopping: every feed ends.
    Shutdown,
}

/// Tuning of the hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub heartbeat: Duration,
    /// Slots of the global channel; a feed further behind than this catches up from the table.
    pub global_capacity: usize,
    /// Slots of each user's channel.
    pub user_capacity: usize,
    /// How many of the newest events are kept in memory for replays.
    pub recent_capacity: usize,
    /// The furthest behind the head a feed is replayed from; further back it gets `sync:required`.
    pub replay_max: i64,
}

/// Handle to the hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    global: broadcast::Sender<HubMsg>,
    /// The publisher holds this lock while it sends a page, and feeds subscribe (and replay from
    /// memory) under it, so a feed sees every event either in its channels or at or below the head
    /// it reads.
    state: Mutex<HubState>,
    /// The newest event id published.
    head: AtomicI64,
    /// Events up to this id may have been deleted by retention. Raised *before* the delete, so a
    /// feed that checks it after reading the table never misses a prune.
    pruned_through: AtomicI64,
    sse_clients: AtomicU64,
    poll_clients: AtomicU64,
    running: AtomicBool,
    config: HubConfig,
}

impl Hub {
    /// Starts the publisher and heartbeat task; it stops when `shutdown` is cancelled.
    pub async fn start(
        store: Store,
        config: HubConfig,
        shutdown: CancellationToken,
    ) -> anyhow::Result<(Hub, tokio::task::JoinHandle<()>)> {
        let head = store.outbox_head().await?;
        let (global, _) = broadcast::channel(config.global_capacity);
        // Start with the newest events already in memory: after a restart every client resumes, and
        // each resume should not cost a query.
        let floor = (head.last_id - config.recent_capacity as i64).max(0);
        let mut recent = recent::Recent::new(config.recent_capacity, floor);
        let mut cursor = floor;
        loop {
            let page = store.events_after(cursor, PAGE).await?;
            let Some(last) = page.last() else { break };
            cursor = last.id;
            for row in page {
                recent.push(Arc::new(Encoded::from_row(row)));
            }
        }
        let hub = Hub {
            inner: Arc::new(Inner {
                store,
                global,
                state: Mutex::new(HubState {
                    users: HashMap::new(),
                    sessions: HashMap::new(),
                    recent,
                }),
                head: AtomicI64::new(head.last_id.max(cursor)),
                pruned_through: AtomicI64::new(head.pruned_through),
                sse_clients: AtomicU64::new(0),
                poll_clients: AtomicU64::new(0),
                running: AtomicBool::new(true),
                config,
            }),
        };
        let task = tokio::spawn(hub.clone().publish_loop(shutdown));
        Ok((hub, task))
    }

    /// The store the hub reads from.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The newest event id published to feeds.
    pub fn head(&self) -> i64 {
        self.inner.head.load(Ordering::Acquire)
    }

    /// Whether the publisher still runs (false once shutdown began).
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::Acquire)
    }

    /// The events after `cursor` for `viewer` from memory (and whether more follow), or `None` when
    /// memory does not reach back that far.
    fn replay_from_memory(
        &self,
        cursor: i64,
        viewer: Option<i64>,
        limit: usize,
    ) -> Option<(Vec<Arc<Encoded>>, bool)> {
        let (events, more) = self
            .inner
            .state
            .lock()
            .expect("hub lock poisoned")
            .recent
            .after(cursor, viewer, limit)?;
        // Memory may still hold events of a history the database lost (a failover): the table
        // then says what there is.
        let history = self.inner.store.history();
        if history.newest_boundary() > 0 && events.iter().any(|e| history.is_lost(e.id)) {
            return None;
        }
        Some((events, more))
    }

    /// Subscribes to the global channel and, for a user, to theirs, and reads the head, atomically
    /// with respect to the publisher.
    fn subscribe(&self, viewer: Option<Viewer>) -> Subscription {
        let mut state = self.inner.state.lock().expect("hub lock poisoned");
        let global = self.inner.global.subscribe();
        let user = viewer.map(|viewer| {
            let tx = state
                .users
                .entry(viewer.user_id)
                .or_insert_with(|| broadcast::channel(self.inner.config.user_capacity).0);
            let rx = tx.subscribe();
            let session =
                state
                    .sessions
                    .entry(viewer.session.fingerprint)
                    .or_insert(SessionEntry {
                        user_id: viewer.user_id,
                        expires_at: viewer.session.expires_at,
                        feeds: 0,
                        revoked: false,
                    });
            session.feeds += 1;
            UserReceiver {
                hub: self.clone(),
                user: viewer.user_id,
                session: viewer.session.fingerprint,
                rx: Some(rx),
            }
        });
        Subscription {
            global,
            user,
            head: self.head(),
        }
    }
}

/// What the publisher and subscribing feeds share under the hub lock.
struct HubState {
    /// Per-user channels of users with at least one open feed.
    users: HashMap<i64, broadcast::Sender<UserMsg>>,
    /// The sessions open feeds were opened with, by fingerprint.
    sessions: HashMap<u64, SessionEntry>,
    /// The newest published events, for replays without a database query.
    recent: recent::Recent,
}

struct Subscription {
    global: broadcast::Receiver<HubMsg>,
    user: Option<UserReceiver>,
    head: i64,
}

/// A receiver on a user's channel, and the feed's registration under its session; the channel
/// and the registration are removed when their last feed goes.
struct UserReceiver {
    hub: Hub,
    user: i64,
    session: u64,
    rx: Option<broadcast::Receiver<UserMsg>>,
}

impl UserReceiver {
    fn rx(&mut self) -> &mut broadcast::Receiver<UserMsg> {
        self.rx.as_mut().expect("present until drop")
    }
}

impl Drop for UserReceiver {
    fn drop(&mut self) {
        drop(self.rx.take());
        let mut state = self.hub.inner.state.lock().expect("hub lock poisoned");
        if state
            .users
            .get(&self.user)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            state.users.remove(&self.user);
        }
        if let Some(entry) = state.sessions.get_mut(&self.session) {
            entry.feeds -= 1;
            if entry.feeds == 0 {
                state.sessions.remove(&self.session);
            }
        }
    }
}
