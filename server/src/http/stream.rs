//! The two read-only stream endpoints: Server-Sent Events and the long-poll fallback. Both are thin
//! transports over a hub [`Feed`]; resume, visibility and `sync:required` live in the hub.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::IpAddr;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::client_ip::ClientIp;
use super::extract::stream_viewer;
use super::openapi::Errors;
use super::sse::{SSE_HEADERS, SseParams, SseSession, parse_cursor};
use crate::error::ApiError;
use crate::hub::{ClientGuard, Encoded, Feed, FeedItem, Transport, Viewer};
use crate::store::SessionUser;

/// At most this many events in one long-poll answer; the client polls again at once for more.
const POLL_BATCH: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sse))
        .routes(routes!(poll))
}

/// `GET /v1/events`: `retry:`, a `ready` frame at once, the replay after the cursor, then live
/// events and heartbeat comments until the client leaves or the server shuts down. Most streams are
/// served by the connection-level fast path in `crate::net`; this route serves the rest (a stream
/// requested on a kept-alive connection) and every error answer, with the same session.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(
        ("Last-Event-ID" = Option<i64>, Header, minimum = 0, description = "Resume after this event id"),
        SseParams,
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = String,
            description = "`retry:`, a `ready` frame, then one frame per event (`id:`, `event:`, one JSON `data:` line; \
                the data is the payload of the ServerEvent of that name) and `:` heartbeats, until the client leaves"),
        Errors
    ))]
async fn sse(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let session = SseSession::open(&state, &headers, &uri, ip).await?;
    let body = futures_util::stream::unfold(session, |mut session| async move {
        let chunk = session.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), session))
    });
    let mut response = Response::new(Body::from_stream(body));
    for (name, value) in SSE_HEADERS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PollParams {
    /// The last event id seen (`next` of the previous answer); without it the answer comes at once
    /// with no events and the current cursor.
    #[param(value_type = Option<i64>, minimum = 0)]
    after: Option<String>,
    /// Seconds to wait for a first event (default 25); more than the server's maximum (60) waits
    /// that maximum.
    #[param(value_type = Option<u32>)]
    timeout: Option<String>,
}

/// `GET /v1/events/poll?after=ID&timeout=SECONDS`: the visible events after `after` at once if there
/// are any, else the first ones to arrive within the timeout; `next` is the cursor to pass on.
/// Without `after` it answers at once with no events and the current cursor. Most polls are served
/// by the connection-level fast path in `crate::net`; this route serves the rest and every error.
#[utoipa::path(get, path = "/v1/events/poll", tag = "events",
    security((), ("bearer" = []), ("session_cookie" = [])),
    params(PollParams),
    responses((status = 200, body = cyberhub_protocol::PollResponse, description = "The events after `after`, and the cursor to pass next"), Errors))]
async fn poll(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let body = PollSession::open(&state, &headers, &uri, ip)
        .await?
        .answer()
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// Whether `viewer` at `ip` may open a feed over `transport` now: the rate limits per address and
/// per user, the user's open feeds, and the totals. A refusal is answered at once.
pub fn admit(
    state: &AppState,
    ip: IpAddr,
    viewer: Option<&SessionUser>,
    transport: Transport,
) -> Result<(), ApiError> {
    let (limits, config) = (&state.limits, &state.config);
    let (by_ip, by_user) = match transport {
        Transport::Sse => (&limits.stream_ip, &limits.stream_user),
        Transport::LongPoll => (&limits.poll_ip, &limits.poll_user),
    };
    by_ip.check(&ip)?;
    if let Some(user) = viewer {
        by_user.check(&user.id)?;
        if state.hub.user_feeds(user.id) >= config.max_streams_per_user {
            return Err(ApiError::Full {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_streams",
                message: format!(
                    "this account has {} streams open already; close one first",
                    config.max_streams_per_user
                ),
                retry_after: 5,
            });
        }
    }
    let (sse, polls) = state.hub.client_counts();
    let full = match transport {
        Transport::Sse => config.max_streams > 0 && sse as usize >= config.max_streams,
        Transport::LongPoll => polls as usize >= config.max_poll_waiters,
    };
    if full {
        return Err(ApiError::Full {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "server_full",
            message: "the server holds as many streams as it may; try again shortly".into(),
            retry_after: 5,
        });
    }
    Ok(())
}

/// One long-poll request, independent of the HTTP stack that carries it.
pub struct PollSession {
    feed: Feed,
    /// How long to wait for a first event; `None` answers at once (no cursor given).
    wait: Option<Duration>,
    _guard: ClientGuard,
}

impl PollSession {
    /// Authenticates, parses `after` and `timeout`, opens the feed. The errors are the endpoint's 4xx.
    pub async fn open(
        state: &AppState,
        headers: &HeaderMap,
        uri: &Uri,
        ip: IpAddr,
    ) -> Result<PollSession, ApiError> {
        let viewer = stream_viewer(state, headers).await?;
        admit(state, ip, viewer.as_ref(), Transport::LongPoll)?;
        let params = axum::extract::Query::<PollParams>::try_from_uri(uri)?.0;
        let after = parse_cursor(params.after.as_deref(), "after")?;
        let timeout = match params.timeout.as_deref() {
            None => state.config.poll_timeout_secs,
            Some(t) => t
                .parse::<u32>()
                .map(u64::from)
                .map_err(|_| ApiError::BadRequest {
                    status: StatusCode::BAD_REQUEST,
                    code: "invalid_timeout",
                    message: "timeout must be a whole number of seconds".into(),
                })?,
        }
        .min(state.config.poll_max_timeout_secs);
        let feed = state
            .hub
            .open_feed(viewer.as_ref().map(Viewer::from), after)
            .await?;
        let guard = state.hub.client_guard(Transport::LongPoll);
        Ok(PollSession {
            feed,
            wait: after.map(|_| Duration::from_secs(timeout)),
            _guard: guard,
        })
    }

    /// Waits as the request asks and returns the JSON answer `{"events":[...],"next":N}`.
    pub async fn answer(self) -> Result<String, ApiError> {
        let (events, next) = match self.wait {
            Some(wait) => collect(self.feed, wait).await?,
            None => (Vec::new(), self.feed.cursor()),
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
        Ok(body)
    }
}

/// Takes what the feed has without waiting; if that is nothing, waits up to `wait` for the first
/// event, then takes whatever else is already queued with it.
async fn collect(mut feed: Feed, wait: Duration) -> Result<(Vec<Arc<Encoded>>, i64), ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut events = Vec::new();
    while events.len() < POLL_BATCH {
        let item = if events.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                item = feed.next() => item?,
            }
        } else {
            // Only what is there now; more history waits for the client's next poll.
            match feed.try_next() {
                Some(item) => item,
                None => break,
            }
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
            FeedItem::Shutdown => break,
            // Signed out while waiting: nothing of theirs goes out any more.
            FeedItem::Revoked => return Err(ApiError::Unauthenticated),
        }
    }
    let next = feed.cursor();
    Ok((events, next))
}
