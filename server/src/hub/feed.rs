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

use super::{Encoded, Hub, HubMsg, PAGE, Subscription};
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
    /// The hub stopped.
    Closed,
}

/// A client's position in the stream. Not shared; each connection owns one.
pub struct Feed {
    hub: Hub,
    viewer: Option<i64>,
    /// The id of the newest event this client has been given (or skipped as not theirs).
    cursor: i64,
    sub: Subscription,
    peek_global: Option<Arc<Encoded>>,
    peek_user: Option<Arc<Encoded>>,
    backlog: VecDeque<Arc<Encoded>>,
    catching_up: bool,
    pending_sync: Option<Arc<Encoded>>,
}

/// What the live channels produced.
enum Live {
    Event(Arc<Encoded>),
    Heartbeat,
    Lagged,
    Closed,
}

impl Hub {
    /// Opens a feed for `viewer` (a user id, or `None` for global events only). `resume` is the
    /// client's last event id; without one the feed starts after the newest committed event.
    pub async fn open_feed(
        &self,
        viewer: Option<i64>,
        resume: Option<i64>,
    ) -> Result<Feed, StoreError> {
        let sub = self.subscribe(viewer);
        let head = sub.head;
        let mut feed = Feed {
            hub: self.clone(),
            viewer,
            cursor: head,
            sub,
            peek_global: None,
            peek_user: None,
            backlog: VecDeque::new(),
            catching_up: false,
            pending_sync: None,
        };
        let Some(from) = resume else {
            // A new stream starts after every event committed before it opened, even those the hub
            // has not published yet: whatever state the client reads next already includes them.
            let committed = self.inner.store.outbox_head().await?.last_id;
            feed.cursor = head.max(committed);
            return Ok(feed);
        };
        metrics::counter!("cyberhub_resumes_total").increment(1);
        if from < self.pruned_through() {
            feed.require_sync(SyncReason::Expired);
        } else if from > head && from > self.inner.store.outbox_head().await?.last_id {
            // The hub may trail the table by a moment, so only the table can say a cursor is from
            // the future (a replaced or restored database).
            feed.require_sync(SyncReason::Ahead);
        } else {
            feed.cursor = from;
            feed.catching_up = true;
        }
        Ok(feed)
    }
}

impl Feed {
    /// Where the feed stands: the id a client should resume from.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// The `sync:required` frame this feed opened with, if it could not resume.
    pub fn take_opening_sync(&mut self) -> Option<Arc<Encoded>> {
        self.pending_sync.take()
    }

    /// The next item. Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Result<FeedItem, StoreError> {
        loop {
            if let Some(sync) = self.pending_sync.take() {
                return Ok(FeedItem::Sync(sync));
            }
            if let Some(event) = self.backlog.pop_front() {
                self.cursor = event.id;
                return Ok(FeedItem::Event(event));
            }
            if self.catching_up {
                self.replay_page().await?;
                continue;
            }
            match self.next_live().await {
                Live::Event(event) if event.id <= self.cursor => continue,
                Live::Event(event) => {
                    self.cursor = event.id;
                    return Ok(FeedItem::Event(event));
                }
                Live::Heartbeat => return Ok(FeedItem::Heartbeat),
                Live::Lagged => {
                    // The channel overwrote events this feed had not taken: read them from the table.
                    metrics::counter!("cyberhub_feed_lagged_total").increment(1);
                    self.peek_global = None;
                    self.peek_user = None;
                    self.catching_up = true;
                }
                Live::Closed => return Ok(FeedItem::Closed),
            }
        }
    }

    /// Whether an event can be taken without waiting on the network or the database.
    pub fn has_buffered(&self) -> bool {
        self.pending_sync.is_some() || !self.backlog.is_empty()
    }

    /// Whether the feed still has to read the table before it is live.
    pub fn is_catching_up(&self) -> bool {
        self.catching_up
    }

    async fn replay_page(&mut self) -> Result<(), StoreError> {
        let from = self.cursor;
        let rows = self
            .hub
            .inner
            .store
            .events_visible_after(from, self.viewer, PAGE)
            .await?;
        if self.hub.pruned_through() > from {
            // Retention ran while we were behind: some of what we read may already be missing.
            self.require_sync(SyncReason::Expired);
            return Ok(());
        }
        self.catching_up = rows.len() as i64 == PAGE;
        self.backlog
            .extend(rows.into_iter().map(|row| Arc::new(Encoded::from_row(row))));
        Ok(())
    }

    /// Jumps to the newest published event and queues a `sync:required` frame carrying that id.
    fn require_sync(&mut self, reason: SyncReason) {
        metrics::counter!("cyberhub_sync_required_total").increment(1);
        let head = self.hub.head();
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

    /// Takes the next live event, lowest id first across the global and the user channel. The hub
    /// publishes in id order, so once one channel shows event N, every earlier event is already
    /// queued on its own channel: looking at both without waiting gives the right order.
    async fn next_live(&mut self) -> Live {
        loop {
            if self.peek_global.is_none() {
                match self.sub.global.try_recv() {
                    Ok(HubMsg::Event(event)) => self.peek_global = Some(event),
                    Ok(HubMsg::Heartbeat) => return Live::Heartbeat,
                    Err(TryRecvError::Empty) => {}
                    Err(TryRecvError::Lagged(_)) => return Live::Lagged,
                    Err(TryRecvError::Closed) => return Live::Closed,
                }
            }
            if self.peek_user.is_none()
                && let Some(user) = self.sub.user.as_mut()
            {
                match user.rx().try_recv() {
                    Ok(event) => self.peek_user = Some(event),
                    Err(TryRecvError::Empty) => {}
                    Err(TryRecvError::Lagged(_)) => return Live::Lagged,
                    Err(TryRecvError::Closed) => return Live::Closed,
                }
            }
            let take_user = match (&self.peek_global, &self.peek_user) {
                (Some(global), Some(user)) => user.id < global.id,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (None, None) => {
                    if let Some(live) = self.wait_live().await {
                        return live;
                    }
                    continue;
                }
            };
            let slot = if take_user {
                &mut self.peek_user
            } else {
                &mut self.peek_global
            };
            return Live::Event(slot.take().expect("slot checked above"));
        }
    }

    /// Waits until either channel has something; stores an event in its peek slot.
    async fn wait_live(&mut self) -> Option<Live> {
        let global = &mut self.sub.global;
        let msg = match self.sub.user.as_mut() {
            Some(user) => {
                tokio::select! {
                    msg = global.recv() => msg,
                    event = user.rx().recv() => match event {
                        Ok(event) => {
                            self.peek_user = Some(event);
                            return None;
                        }
                        Err(RecvError::Lagged(_)) => return Some(Live::Lagged),
                        Err(RecvError::Closed) => return Some(Live::Closed),
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
            Err(RecvError::Lagged(_)) => Some(Live::Lagged),
            Err(RecvError::Closed) => Some(Live::Closed),
        }
    }
}
