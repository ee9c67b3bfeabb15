//! The two read-only stream endpoints: Server-Sent Events and the long-poll fallback. Both are thin
//! transports over a hub [`Feed`]; resume, visibility and `sync:required` live in the hub.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cyberhub_protocol::{Ready, names};
use futures_util::FutureExt;
use rand::RngExt;
use serde::Deserialize;

use super::AppState;
use super::extract::{Query, StreamViewer};
use crate::error::ApiError;
use crate::hub::{Encoded, Feed, FeedItem, Transport};

/// At most this many events in one long-poll answer; the client polls again at once for more.
const POLL_BATCH: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/events", get(sse))
        .route("/v1/events/poll", get(poll))
}

#[derive(Debug, Deserialize)]
struct SseParams {
    /// For clients that cannot set `Last-Event-ID` on the first connection.
    last_event_id: Option<String>,
}

/// `GET /v1/events`: `retry:`, a `ready` frame at once, the replay after the cursor, then live
/// events and heartbeat comments until the client leaves or the server shuts down.
async fn sse(
    State(state): State<AppState>,
    StreamViewer(viewer): StreamViewer,
    headers: HeaderMap,
    Query(params): Query<SseParams>,
) -> Result<Response, ApiError> {
    let header_cursor = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let resume = parse_cursor(
        header_cursor.or(params.last_event_id.as_deref()),
        "Last-Event-ID",
    )?;
    let user_id = viewer.as_ref().map(|u| u.id);
    let mut feed = state.hub.open_feed(user_id, resume).await?;
    let guard = state.hub.client_guard(Transport::Sse);

    let ready = Ready {
        last_event_id: feed.cursor(),
        user_id,
        heartbeat_secs: state.config.heartbeat().as_secs(),
    };
    let ready = Encoded::new(
        feed.cursor(),
        None,
        names::READY,
        serde_json::to_string(&ready).expect("serializes"),
    );
    let mut preamble = format!("retry: {}\n\n", state.config.retry_ms).into_bytes();
    preamble.extend_from_slice(&ready.sse);
    if let Some(sync) = feed.take_opening_sync() {
        preamble.extend_from_slice(&sync.sse);
    }

    let shutdown = state.shutdown.clone();
    let config = state.config.clone();
    let body = async_stream::stream! {
        let _guard = guard;
        yield Ok::<_, Infallible>(Bytes::from(preamble));
        loop {
            let item = tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    // Spread the reconnects of a deploy over a window instead of one instant.
                    let spread = rand::rng().random_range(0..=config.shutdown_retry_spread_ms);
                    yield Ok(Bytes::from(format!("retry: {}\n\n", config.retry_ms + spread)));
                    break;
                }
                item = feed.next() => item,
            };
            match item {
                Ok(FeedItem::Event(event)) | Ok(FeedItem::Sync(event)) => {
                    metrics::counter!("cyberhub_events_delivered_total", "transport" => "sse").increment(1);
                    yield Ok(event.sse.clone());
                }
                Ok(FeedItem::Heartbeat) => yield Ok(Bytes::from_static(b":\n\n")),
                Ok(FeedItem::Closed) => break,
                Err(e) => {
                    // The client reconnects with its Last-Event-ID and resumes where it was.
                    tracing::warn!(error = %e, "stream ended on a database error");
                    break;
                }
            }
        }
    };

    let mut response = Response::new(Body::from_stream(body));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    // no-transform and X-Accel-Buffering stop proxies (and nginx) from buffering or compressing.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct PollParams {
    after: Option<String>,
    timeout: Option<String>,
}

/// `GET /v1/events/poll?after=ID&timeout=SECONDS`: the visible events after `after` at once if there
/// are any, else the first ones to arrive within the timeout; `next` is the cursor to pass on.
/// Without `after` it answers at once with no events and the current cursor.
async fn poll(
    State(state): State<AppState>,
    StreamViewer(viewer): StreamViewer,
    Query(params): Query<PollParams>,
) -> Result<Response, ApiError> {
    let after = parse_cursor(params.after.as_deref(), "after")?;
    let timeout = match params.timeout.as_deref() {
        None => state.config.poll_timeout_secs,
        Some(t) => t.parse::<u64>().map_err(|_| ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_timeout",
            message: "timeout must be a whole number of seconds".into(),
        })?,
    }
    .min(state.config.poll_max_timeout_secs);
    let feed = state.hub.open_feed(viewer.map(|u| u.id), after).await?;
    let _guard = state.hub.client_guard(Transport::LongPoll);
    let (events, next) = match after {
        Some(_) => collect(feed, Duration::from_secs(timeout), &state).await?,
        None => (Vec::new(), feed.cursor()),
    };
    metrics::counter!("cyberhub_events_delivered_total", "transport" => "longpoll")
        .increment(events.len() as u64);

    let mut body =
        String::with_capacity(64 + events.iter().map(|e| e.data.len() + 48).sum::<usize>());
    body.push_str(r#"{"events":["#);
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&event.envelope_json());
    }
    body.push_str(&format!(r#"],"next":{next}}}"#));
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// Takes what the feed has without waiting; if that is nothing, waits up to `wait` for the first
/// event, then takes whatever else is already buffered with it.
async fn collect(
    mut feed: Feed,
    wait: Duration,
    state: &AppState,
) -> Result<(Vec<Arc<Encoded>>, i64), ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut events = Vec::new();
    while events.len() < POLL_BATCH {
        let item = if events.is_empty() {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(deadline) => break,
                item = feed.next() => item?,
            }
        } else if feed.has_buffered() || !feed.is_catching_up() {
            // Only what is ready now: a pending live receive is dropped unharmed (cancel-safe).
            match feed.next().now_or_never() {
                Some(item) => item?,
                None => break,
            }
        } else {
            // More history to read: answer now; the client asks again at once with `next`.
            break;
        };
        match item {
            FeedItem::Event(event) => events.push(event),
            FeedItem::Sync(sync) => {
                // Nothing before a resync matters to the client any more.
                events.clear();
                events.push(sync);
                break;
            }
            FeedItem::Heartbeat => {}
            FeedItem::Closed => break,
        }
    }
    let next = feed.cursor();
    Ok((events, next))
}

/// Parses a client's cursor: absent is `None`, anything but a non-negative integer is a 400.
fn parse_cursor(raw: Option<&str>, what: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(id) if id >= 0 => Ok(Some(id)),
        _ => Err(ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_last_event_id",
            message: format!("{what} must be a non-negative integer event id"),
        }),
    }
}
