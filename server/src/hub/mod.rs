//! The event hub: reads committed events from the outbox once, encodes each once, and fans them out.
//!
//! The hub knows nothing of HTTP. A transport (the SSE body, the long-poll handler, or any future
//! stream path) opens a [`Feed`] and pulls ready-encoded frames from it.
//!
//! - One publisher task takes the events of each commit from the store's writer (and, on a slow
//!   fallback tick or after another process's commit, reads the rows after its cursor), in id order,
//!   and publishes each as an [`Encoded`] event behind an `Arc`: the SSE frame is built once and shared
//!   by every connection.
//! - Global events go through one `broadcast` channel. Per-user events go through a small `broadcast`
//!   channel per user that has at least one open feed, so a connection only wakes for its own user's
//!   events and nobody else's ever reach it. Heartbeats ride the global channel: one timer for all.
//! - A feed that falls behind (its channel overflowed) catches up from the outbox table, so a slow
//!   connection never blocks the others and never silently loses events.
//! - Feeds opened with a session are registered by it; when the session ends (logout here, a
//!   revocation the database recorded from any process, or expiry), its feeds are told on their
//!   user's channel and end.

mod feed;
mod recent;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::{SessionKey, Store, StoredEvent, now_ms};

pub use feed::{Feed, FeedItem};

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
    fn is_revoked(&self, fingerprint: u64) -> bool {
        let state = self.inner.state.lock().expect("hub lock poisoned");
        state.sessions.get(&fingerprint).is_some_and(|s| s.revoked)
    }

    /// Revokes the sessions of open feeds that have expired.
    fn end_expired_sessions(&self) {
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
    async fn apply_revocations(&self, cursor: &mut i64) {
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

    /// The id up to which events may have been pruned.
    pub fn pruned_through(&self) -> i64 {
        self.inner.pruned_through.load(Ordering::Acquire)
    }

    async fn publish_loop(self, shutdown: CancellationToken) {
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
                    self.apply_revocations(&mut revocations).await;
                    self.end_expired_sessions();
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

    /// The events after `cursor` for `viewer` from memory (and whether more follow), or `None` when
    /// memory does not reach back that far.
    fn replay_from_memory(
        &self,
        cursor: i64,
        viewer: Option<i64>,
        limit: usize,
    ) -> Option<(Vec<Arc<Encoded>>, bool)> {
        self.inner
            .state
            .lock()
            .expect("hub lock poisoned")
            .recent
            .after(cursor, viewer, limit)
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

/// A session that has open feeds.
struct SessionEntry {
    user_id: i64,
    expires_at: i64,
    feeds: u32,
    revoked: bool,
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
