//! One SSE stream: `retry:` and a `ready` frame first, then the feed's events (frames already
//! queued merged into one write) and heartbeats, and on shutdown a jittered `retry:` hint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use cyberhub_protocol::{Ready, names};
use rand::RngExt;
use serde::Deserialize;

use super::{StreamRequest, parse_cursor};
use crate::error::ApiError;
use crate::hub::{ClientGuard, Encoded, Feed, FeedItem, Transport};
use crate::state::AppState;

/// Frames already queued are merged into one write up to about this many bytes.
const MERGE_LIMIT: usize = 64 * 1024;

/// The response headers of an SSE stream (besides framing): no caching, no transformation, and no
/// buffering by nginx-style proxies.
pub const SSE_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache, no-transform"),
    ("x-accel-buffering", "no"),
];

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SseParams {
    /// Resume after this event id, for clients that cannot set `Last-Event-ID` on the first
    /// connection.
    #[param(value_type = Option<i64>, minimum = 0)]
    last_event_id: Option<String>,
}

/// An open SSE stream: `retry:` and `ready` first, then events and heartbeats, and on shutdown a
/// jittered `retry:` hint before the end.
pub struct SseSession {
    feed: Feed,
    preamble: Option<Bytes>,
    retry_ms: u64,
    shutdown_spread_ms: u64,
    /// After a write, the next one waits this long, gathering what arrives meanwhile into it.
    linger: Duration,
    last_write: Option<Instant>,
    /// An item taken from the feed and not yet written (kept here while lingering).
    held: Option<FeedItem>,
    done: bool,
    _guard: ClientGuard,
}

impl SseSession {
    /// Opens the stream ([`super::open`]); the cursor is `Last-Event-ID`, else `?last_event_id=`.
    pub async fn open(
        state: &AppState,
        request: &StreamRequest<'_>,
    ) -> Result<SseSession, ApiError> {
        let opened = super::open(state, request, Transport::Sse, |headers, uri| {
            let params = axum::extract::Query::<SseParams>::try_from_uri(uri)?.0;
            let header_cursor = headers
                .get("last-event-id")
                .map(|v| v.to_str().unwrap_or("\u{0}"));
            let cursor = parse_cursor(
                header_cursor.or(params.last_event_id.as_deref()),
                "Last-Event-ID",
            )?;
            Ok((cursor, ()))
        })
        .await?;
        let (mut feed, guard, user_id) = (opened.feed, opened.guard, opened.user_id);

        let config = &state.config;
        let ready = Ready {
            last_event_id: feed.cursor(),
            user_id,
            heartbeat_secs: config.heartbeat().as_secs(),
        };
        let ready = Encoded::new(
            feed.cursor(),
            None,
            names::READY,
            serde_json::to_string(&ready).expect("serializes"),
        );
        let mut preamble = BytesMut::from(format!("retry: {}\n\n", config.retry_ms).as_bytes());
        preamble.extend_from_slice(&ready.sse);
        if let Some(sync) = feed.take_opening_sync() {
            preamble.extend_from_slice(&sync.sse);
        }
        Ok(SseSession {
            feed,
            preamble: Some(preamble.freeze()),
            retry_ms: config.retry_ms,
            shutdown_spread_ms: config.shutdown_retry_spread_ms,
            linger: Duration::from_millis(config.stream_linger_ms),
            last_write: None,
            held: None,
            done: false,
            _guard: guard,
        })
    }

    /// The next bytes to send, or `None` when the stream is over. Every frame already queued is merged
    /// into one chunk, so a burst costs one write, not one per event.
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(preamble) = self.preamble.take() {
            return Some(preamble);
        }
        if self.done {
            return None;
        }
        if self.held.is_none() {
            match self.feed.next().await {
                Ok(item) => self.held = Some(item),
                Err(e) => {
                    // The client reconnects with its Last-Event-ID and resumes where it was.
                    tracing::warn!(error = %e, "stream ended on a database error");
                    return None;
                }
            }
        }
        // Under a flood, one write per linger window carries every event of the window: the write
        // (and the wake-up of the reader behind it) is what an event costs, not its bytes. An event
        // after a quiet spell goes out at once, and an idle stream holds no timer. The viewer's own
        // events (their balance, their items) never wait: they take the window's others along.
        // Nor does a replay: a client catching up is behind, and each write is as full as it gets.
        if let Some(last) = self.last_write
            && last.elapsed() < self.linger
            && !self.held.as_ref().is_some_and(is_own)
            && !self.feed.is_behind()
        {
            // The item waits in `held`, so dropping this future here loses nothing.
            let (feed, until) = (&mut self.feed, last + self.linger);
            Box::pin(async move {
                tokio::select! {
                    () = tokio::time::sleep_until(until.into()) => {}
                    () = feed.own_event() => {}
                }
            })
            .await;
        }
        let first = self.held.take().expect("held above");
        let mut events = 0u64;
        let first = self.frame(first, &mut events);
        if first.is_empty() {
            return None;
        }
        let mut merged: Option<BytesMut> = None;
        while !self.done && merged.as_ref().map_or(first.len(), |m| m.len()) < MERGE_LIMIT {
            let Some(item) = self.feed.try_next() else {
                break;
            };
            let next = self.frame(item, &mut events);
            merged
                .get_or_insert_with(|| BytesMut::from(&first[..]))
                .extend_from_slice(&next);
        }
        if events > 0 {
            delivered_counter().increment(events);
        }
        self.last_write = Some(Instant::now());
        Some(merged.map_or(first, BytesMut::freeze))
    }

    fn frame(&mut self, item: FeedItem, events: &mut u64) -> Bytes {
        match item {
            FeedItem::Event(event) | FeedItem::Sync(event) => {
                *events += 1;
                shared(&event)
            }
            FeedItem::Heartbeat => Bytes::from_static(b":\n\n"),
            FeedItem::Revoked => {
                // The session ended: no more events, and no retry hint. The client's reconnect
                // is answered 401 and it knows to sign in again.
                self.done = true;
                Bytes::new()
            }
            FeedItem::Shutdown => {
                self.done = true;
                // Spread the reconnects of a deploy over a window instead of one instant.
                let spread = rand::rng().random_range(0..=self.shutdown_spread_ms);
                Bytes::from(format!("retry: {}\n\n", self.retry_ms + spread))
            }
        }
    }
}

/// Whether an item is addressed to the viewer alone (an own event, or the end of their session).
fn is_own(item: &FeedItem) -> bool {
    matches!(item, FeedItem::Event(event) if event.user_id.is_some())
        || matches!(item, FeedItem::Revoked)
}

/// The delivery counter, looked up once: a labelled lookup per write would cost more than the write's
/// own bookkeeping.
fn delivered_counter() -> &'static metrics::Counter {
    static COUNTER: std::sync::OnceLock<metrics::Counter> = std::sync::OnceLock::new();
    COUNTER
        .get_or_init(|| metrics::counter!("cyberhub_events_delivered_total", "transport" => "sse"))
}

/// The event's frame; cloning `Bytes` shares the one encoding.
fn shared(event: &Arc<Encoded>) -> Bytes {
    event.sse.clone()
}
