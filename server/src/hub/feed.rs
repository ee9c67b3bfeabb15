//! One client's view of the event stream: resume from a cursor, replay from the outbox, then live.
//!
//! The order is what makes resume exact: subscribe to the live channels first, then replay the table
//! after the cursor, then forward live events above the last one delivered. An event committed while
//! the replay runs is either in the replayed rows or in the channels (or both, and then it is dropped
//! by id), never in neither.

use std::collections::VecDeque;
use std::sync::Arc;

use cyberhub_protocol::{SyncReason, SyncRequired, names};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::{Encoded, Hub, HubMsg, PAGE, Subscription, UserMsg, Viewer};
use crate::store::StoreError;

/// What a feed yields next.
#[derive(Debug)]
pub enum FeedItem {
    /// An event for this client, in id order, each once.
    Event(Arc<Encoded>),
    /// The client's cursor cannot be resumed from; the frame carries the id to continue from.
    Sync(Arc<Encoded>),
    /// Time for a heartbeat comment.
    Heartbeat,
    /// The server is shutting down: end the stream (the client resumes elsewhere or later).
    Shutdown,
    /// The session the feed was opened with ended (logout, expiry, deleted): end the stream; the
    /// client must sign in again.
    Revoked,
}

/// A client's position in the stream. Not shared; each connection owns one.
pub struct Feed {
    hub: Hub,
    viewer: Option<i64>,
    /// The fingerprint of the session the feed was opened with.
    session: Option<u64>,
    /// The id of the newest event this client has been given (or skipped as not theirs).
    cursor: i64,
    sub: Subscription,
    peek_global: Option<Arc<Encoded>>,
    peek_user: Option<Arc<Encoded>>,
    backlog: VecDeque<Arc<Encoded>>,
    catching_up: bool,
    pending_sync: Option<Arc<Encoded>>,
    /// What the user channel said while `own_event` waited on it, for `next_live` to act on.
    stashed: Option<Live>,
}

/// What the live channels produced.
enum Live {
    Event(Arc<Encoded>),
    Heartbeat,
    Lagged,
    Shutdown,
    Revoked,
}

impl Hub {
    /// Opens a feed for `viewer` (a signed-in user, or `None` for global events only). `resume` is
    /// the client's last event id; without one the feed starts after the newest committed event.
    pub async fn open_feed(
        &self,
        viewer: Option<Viewer>,
        resume: Option<i64>,
    ) -> Result<Feed, StoreError> {
        let sub = self.subscribe(viewer);
        let head = sub.head;
        let mut feed = Feed {
            hub: self.clone(),
            viewer: viewer.map(|v| v.user_id),
            session: viewer.map(|v| v.session.fingerprint),
            cursor: head,
            sub,
            peek_global: None,
            peek_user: None,
            backlog: VecDeque::new(),
            catching_up: false,
            pending_sync: None,
            stashed: None,
        };
        // Without a cursor, or when the cursor cannot be resumed, the feed starts after every event
        // committed before it opened, even those the hub has not published yet: whatever state the
        // client reads next already includes them.
        let Some(from) = resume else {
            feed.cursor = self.committed_head(head).await?;
            return Ok(feed);
        };
        metrics::counter!("cyberhub_resumes_total").increment(1);
        let history = self.inner.store.history();
        if history.is_lost(from) {
            // An event the client was shown is not in this database's history (a failover).
            let at = self.committed_head(head).await?;
            feed.require_sync(SyncReason::Failover, at);
        } else if from < self.pruned_through() {
            let at = self.committed_head(head).await?;
            feed.require_sync(SyncReason::Expired, at);
        } else if from > head {
            // The hub may trail the table by a moment, so only the table can say a cursor is from
            // the future (a replaced or restored database).
            let at = self.committed_head(head).await?;
            if from > at {
                feed.require_sync(SyncReason::Ahead, at);
            } else {
                feed.cursor = from;
                feed.catching_up = true;
            }
        } else if head - from - history.ids_skipped(from, head) > self.inner.config.replay_max {
            // Replaying that much would cost more than the client's refetch; and a flood of
            // `Last-Event-ID: 0` streams must not each read the whole table.
            let at = self.committed_head(head).await?;
            feed.require_sync(SyncReason::TooFarBehind, at);
        } else {
            feed.cursor = from;
            feed.catching_up = true;
        }
        Ok(feed)
    }
}

impl Hub {
    /// The newest id committed: published, in the table, or the boundary of a fork (the new
    /// history stands there before its first event).
    async fn committed_head(&self, published: i64) -> Result<i64, StoreError> {
        let store = &self.inner.store;
        Ok(published
            .max(store.outbox_head().await?.last_id)
            .max(store.history().newest_boundary()))
    }
}

impl Feed {
    /// Where the feed stands: the id a client should resume from.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Whether the feed has more to hand out at once than its live channels: a replay or a
    /// catch-up is under way. Transports do not linger then: the client is behind, not flooded.
    pub fn is_behind(&self) -> bool {
        self.catching_up || !self.backlog.is_empty()
    }

    /// The `sync:required` frame this feed opened with, if it could not resume.
    pub fn take_opening_sync(&mut self) -> Option<Arc<Encoded>> {
        self.pending_sync.take()
    }

    /// The next item. Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Result<FeedItem, StoreError> {
        loop {
            if let Some(item) = self.take_ready() {
                return Ok(item);
            }
            if self.catching_up {
                // Boxed: the query's state is large and needed rarely; keeping it out of the
                // connection's own future keeps every idle stream small.
                Box::pin(self.replay_page()).await?;
                continue;
            }
            let live = self.next_live().await;
            if let Some(item) = self.on_live(live) {
                return Ok(item);
            }
        }
    }

    /// The next item if it is there without waiting; never starts a database read. Transports use it
    /// to merge every frame already queued into one write.
    pub fn try_next(&mut self) -> Option<FeedItem> {
        loop {
            if let Some(item) = self.take_ready() {
                return Some(item);
            }
            if self.catching_up {
                return None;
            }
            let live = self.ready_live()?;
            if let Some(item) = self.on_live(live) {
                return Some(item);
            }
        }
    }

    /// Waits until the viewer's own channel has an event; never returns for an anonymous feed.
    /// Transports use it to cut a wait short for the viewer's own events. Cancel-safe.
    pub async fn own_event(&mut self) {
        if self.peek_user.is_some() || self.stashed.is_some() {
            return;
        }
        let Some(user) = self.sub.user.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            match user.rx().recv().await {
                Ok(UserMsg::Event(event)) => self.peek_user = Some(event),
                Ok(UserMsg::Revoked(session)) if Some(session) == self.session => {
                    self.stashed = Some(Live::Revoked)
                }
                // Another of the user's sessions ended; not this feed's business.
                Ok(UserMsg::Revoked(_)) => continue,
                Err(RecvError::Lagged(_)) => self.stashed = Some(Live::Lagged),
                Err(RecvError::Closed) => self.stashed = Some(Live::Shutdown),
            }
            return;
        }
    }

    /// What can be handed out without touching a channel or the table.
    fn take_ready(&mut self) -> Option<FeedItem> {
        if !self.hub.is_running() {
            return Some(FeedItem::Shutdown);
        }
        self.check_history();
        if let Some(sync) = self.pending_sync.take() {
            return Some(FeedItem::Sync(sync));
        }
        let event = self.backlog.pop_front()?;
        if self.backlog.is_empty() && self.backlog.capacity() > 0 && !self.catching_up {
            // A replay's page buffer is not kept for the life of the stream.
            self.backlog = VecDeque::new();
        }
        self.cursor = event.id;
        Some(FeedItem::Event(event))
    }

    fn on_live(&mut self, live: Live) -> Option<FeedItem> {
        // An event of the new history is in what the client refetches; an end (revoked, shut
        // down) is acted on as it comes.
        if matches!(live, Live::Event(_) | Live::Heartbeat) && self.check_history() {
            return None;
        }
        match live {
            Live::Event(event) if event.id <= self.cursor => None,
            Live::Event(event) => {
                self.cursor = event.id;
                Some(FeedItem::Event(event))
            }
            Live::Heartbeat => Some(FeedItem::Heartbeat),
            Live::Revoked => Some(FeedItem::Revoked),
            // A lagging feed may have missed its session's revocation on the overflowed channel.
            Live::Lagged if self.session.is_some_and(|s| self.hub.is_revoked(s)) => {
                Some(FeedItem::Revoked)
            }
            Live::Lagged => {
                // The channel overwrote events this feed had not taken: read them from the table.
                metrics::counter!("cyberhub_feed_lagged_total").increment(1);
                self.peek_global = None;
                self.peek_user = None;
                self.catching_up = true;
                None
            }
            Live::Shutdown => Some(FeedItem::Shutdown),
        }
    }

    async fn replay_page(&mut self) -> Result<(), StoreError> {
        let from = self.cursor;
        let head = self.hub.head();
        let skipped = self.hub.inner.store.history().ids_skipped(from, head);
        if head - from - skipped > self.hub.inner.config.replay_max {
            // Fell that far behind (a reader too slow for its channel): refetching is cheaper.
            self.require_sync(SyncReason::TooFarBehind, head);
            return Ok(());
        }
        if let Some((events, more)) = self
            .hub
            .replay_from_memory(from, self.viewer, PAGE as usize)
        {
            // Memory holds everything up to the head; newer events arrive on the channels.
            self.catching_up = more;
            self.backlog.extend(events);
            return Ok(());
        }
        metrics::counter!("cyberhub_outbox_replay_queries_total").increment(1);
        let rows = self
            .hub
            .inner
            .store
            .events_visible_after(from, self.viewer, PAGE)
            .await?;
        if self.hub.pruned_through() > from {
            // Retention ran while we were behind: some of what we read may already be missing.
            self.require_sync(SyncReason::Expired, self.hub.head());
            return Ok(());
        }
        self.catching_up = rows.len() as i64 == PAGE;
        self.backlog
            .extend(rows.into_iter().map(|row| Arc::new(Encoded::from_row(row))));
        Ok(())
    }

    /// Whether the database's history forked under this live feed, after events it has handed out
    /// (a failover to a replica that lacked them): then it queues `sync:required` (`failover`) at
    /// the newest id of the new history, and the client refetches what is true now. Two atomic
    /// loads on the path of every event.
    fn check_history(&mut self) -> bool {
        let history = self.hub.inner.store.history();
        if self.pending_sync.is_some() || !history.is_lost_in_newest(self.cursor) {
            return false;
        }
        let at = self.hub.head().max(history.newest_boundary());
        self.require_sync(SyncReason::Failover, at);
        true
    }

    /// Jumps to `head` and queues a `sync:required` frame carrying that id.
    fn require_sync(&mut self, reason: SyncReason, head: i64) {
        metrics::counter!("cyberhub_sync_required_total").increment(1);
        self.cursor = head;
        self.catching_up = false;
        self.backlog.clear();
        let payload = SyncRequired {
            reason,
            last_event_id: head,
        };
        let data = serde_json::to_string(&payload).expect("plain struct serializes");
        self.pending_sync = Some(Arc::new(Encoded::new(
            head,
            None,
            names::SYNC_REQUIRED,
            data,
        )));
    }

    /// Takes the next live event, lowest id first across the global and the user channel, waiting
    /// for one if none is queued.
    async fn next_live(&mut self) -> Live {
        loop {
            if let Some(live) = self.ready_live() {
                return live;
            }
            if let Some(live) = self.wait_live().await {
                return live;
            }
        }
    }

    /// The next live event if one is queued. The hub publishes in id order, so once one channel
    /// shows event N, every earlier event is already queued on its own channel: looking at both
    /// without waiting gives the right order. Never registers with a channel, so a transport that
    /// drains what is queued after each wake-up pays for no waiter it then drops.
    fn ready_live(&mut self) -> Option<Live> {
        if let Some(live) = self.stashed.take() {
            return Some(live);
        }
        if self.peek_global.is_none() {
            match self.sub.global.try_recv() {
                Ok(HubMsg::Event(event)) => self.peek_global = Some(event),
                Ok(HubMsg::Heartbeat) => return Some(Live::Heartbeat),
                Ok(HubMsg::Shutdown) => return Some(Live::Shutdown),
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Lagged(_)) => return Some(Live::Lagged),
                Err(TryRecvError::Closed) => return Some(Live::Shutdown),
            }
        }
        while self.peek_user.is_none()
            && let Some(user) = self.sub.user.as_mut()
        {
            match user.rx().try_recv() {
                Ok(UserMsg::Event(event)) => self.peek_user = Some(event),
                Ok(UserMsg::Revoked(session)) if Some(session) == self.session => {
                    return Some(Live::Revoked);
                }
                Ok(UserMsg::Revoked(_)) => continue,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => return Some(Live::Lagged),
                Err(TryRecvError::Closed) => return Some(Live::Shutdown),
            }
        }
        let take_user = match (&self.peek_global, &self.peek_user) {
            (Some(global), Some(user)) => user.id < global.id,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => return None,
        };
        let slot = if take_user {
            &mut self.peek_user
        } else {
            &mut self.peek_global
        };
        Some(Live::Event(slot.take().expect("slot checked above")))
    }

    /// Waits until either channel has something; stores an event in its peek slot.
    async fn wait_live(&mut self) -> Option<Live> {
        let global = &mut self.sub.global;
        let msg = match self.sub.user.as_mut() {
            Some(user) => {
                tokio::select! {
                    msg = global.recv() => msg,
                    event = user.rx().recv() => match event {
                        Ok(UserMsg::Event(event)) => {
                            self.peek_user = Some(event);
                            return None;
                        }
                        Ok(UserMsg::Revoked(session)) if Some(session) == self.session => {
                            return Some(Live::Revoked);
                        }
                        // Another of the user's sessions: look again.
                        Ok(UserMsg::Revoked(_)) => return None,
                        Err(RecvError::Lagged(_)) => return Some(Live::Lagged),
                        Err(RecvError::Closed) => return Some(Live::Shutdown),
                    },
                }
            }
            None => global.recv().await,
        };
        match msg {
            Ok(HubMsg::Event(event)) => {
                self.peek_global = Some(event);
                None
            }
            Ok(HubMsg::Heartbeat) => Some(Live::Heartbeat),
            Ok(HubMsg::Shutdown) => Some(Live::Shutdown),
            Err(RecvError::Lagged(_)) => Some(Live::Lagged),
            Err(RecvError::Closed) => Some(Live::Shutdown),
        }
    }
}
