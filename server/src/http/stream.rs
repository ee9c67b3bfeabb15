//! The two read-only stream endpoints as axum routes: Server-Sent Events and the long-poll
//! fallback. Each is a thin wrapper of a session of [`crate::stream`], which the fast path in
//! `crate::net` serves from too; resume, visibility and `sync:required` live in the hub.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::client_ip::ClientIp;
use super::openapi::Errors;
use crate::error::ApiError;
use crate::state::AppState;
use crate::stream::{PollParams, PollSession, SSE_HEADERS, SseParams, SseSession, StreamRequest};

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
    let session = SseSession::open(
        &state,
        &StreamRequest {
            headers: &headers,
            uri: &uri,
            ip,
        },
    )
    .await?;
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
    let body = PollSession::open(
        &state,
        &StreamRequest {
            headers: &headers,
            uri: &uri,
            ip,
        },
    )
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
