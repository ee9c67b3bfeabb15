//! Stream sessions: one SSE stream or one long-poll, independent of the HTTP stack that carries
//! it. The axum routes (`http::stream`) and the connection-level fast path (`net`) both open their
//! sessions here and pull their bytes from them, so a stream behaves the same, byte for byte, on
//! either path.
//!
//! Every opening takes the same steps, written once in [`open`]: who is asking, whether they may,
//! what they ask (the query and its cursor), the hub feed from that cursor, and the connection
//! counted open. [`sse`] and [`poll`] then turn the feed into the transport's bytes.

mod poll;
mod sse;

pub use poll::{PollParams, PollSession};
pub use sse::{SSE_HEADERS, SseParams, SseSession};

use cyberhub_protocol::ErrorCode;
use std::net::IpAddr;

use axum::http::{HeaderMap, StatusCode, Uri};

use crate::auth::credentials::stream_viewer;
use crate::error::ApiError;
use crate::hub::{ClientGuard, Feed, Transport, Viewer};
use crate::state::AppState;
use crate::store::SessionUser;

/// A stream request as either path has it: the head's headers and target, and the client's address.
pub struct StreamRequest<'a> {
    pub headers: &'a HeaderMap,
    pub uri: &'a Uri,
    pub ip: IpAddr,
}

/// An opened feed, the connection counted open while it lives, and what the query asked.
struct Opened<Q> {
    feed: Feed,
    guard: ClientGuard,
    user_id: Option<i64>,
    /// The cursor the client resumes after (`None`: from now).
    cursor: Option<i64>,
    query: Q,
}

/// The steps of every opening, in this order: who is asking (a token presented but not valid is a
/// 401, never a quiet fall back to the anonymous stream), whether they may (rate limits and caps,
/// before any work), what they ask (`query` reads the cursor and the transport's own parameters;
/// a bad one is a 400), the feed from that cursor, and the connection counted open. The errors are
/// the endpoint's 4xx answers.
async fn open<Q>(
    state: &AppState,
    request: &StreamRequest<'_>,
    transport: Transport,
    query: impl FnOnce(&HeaderMap, &Uri) -> Result<(Option<i64>, Q), ApiError>,
) -> Result<Opened<Q>, ApiError> {
    let viewer = stream_viewer(&state.store, request.headers).await?;
    admit(state, request.ip, viewer.as_ref(), transport)?;
    let (cursor, query) = query(request.headers, request.uri)?;
    let feed = state
        .hub
        .open_feed(viewer.as_ref().map(Viewer::from), cursor)
        .await?;
    Ok(Opened {
        feed,
        guard: state.hub.client_guard(transport),
        user_id: viewer.map(|u| u.id),
        cursor,
        query,
    })
}

/// Whether `viewer` at `ip` may open a feed over `transport` now: the rate limits per address and
/// per user, the user's open feeds, and the totals. A refusal is answered at once.
fn admit(
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
                code: ErrorCode::TooManyStreams,
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
            code: ErrorCode::ServerFull,
            message: "the server holds as many streams as it may; try again shortly".into(),
            retry_after: 5,
        });
    }
    Ok(())
}

/// Parses a client's cursor: absent or empty is `None`, anything but a non-negative integer is a 400.
pub fn parse_cursor(raw: Option<&str>, what: &str) -> Result<Option<i64>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    match raw.parse::<i64>() {
        Ok(id) if id >= 0 => Ok(Some(id)),
        _ => Err(ApiError::BadRequest {
            status: axum::http::StatusCode::BAD_REQUEST,
            code: ErrorCode::InvalidLastEventId,
            message: format!("{what} must be a non-negative integer event id"),
        }),
    }
}
