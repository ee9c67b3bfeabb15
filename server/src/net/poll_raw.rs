//! The long-poll fast path: a kept-alive connection whose requests are long-polls is served here,
//! one request after another, without hyper's per-connection buffers; a waiting poll holds only its
//! feed and this task. The first request on the connection that is anything else (or a poll the fast
//! path declines, so that axum answers its error) hands the connection to hyper, bytes and all.

use std::io::IoSlice;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::write_deadline::write_within;
use super::{FastRequest, Route, fast_request, read_head, serve_hyper};
use crate::error::ApiError;
use crate::limits::Admitted;
use crate::state::AppState;
use crate::stream::PollSession;

/// How long a kept-alive connection may idle between two polls.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves long-polls on this connection until it closes or sends something else.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
pub fn serve(
    mut stream: TcpStream,
    mut bytes: Vec<u8>,
    mut request: FastRequest,
    state: AppState,
    router: Router,
    admitted: Admitted,
) -> impl Future<Output = ()> {
    // An async block rather than an async fn, as in `sse_raw::serve`: 1,152 bytes instead of 1,528.
    async move {
        // Moved in and held until the connection closes, also when hyper takes it over.
        let _admitted = &admitted;
        loop {
            let rest = bytes.split_off(request.head_len.min(bytes.len()));
            let ip = super::request_ip(&stream, &request, &state);
            let opened = Box::pin(PollSession::open(&state, &request.stream_request(ip))).await;
            let Ok(session) = opened else {
                // axum answers this one (and whatever follows) with the usual JSON error.
                bytes.extend_from_slice(&rest);
                return Box::pin(serve_hyper(stream, Bytes::from(bytes), state, router)).await;
            };
            let keep_alive = !asks_to_close(&request);
            let answer = tokio::select! {
                answer = Box::pin(session.answer()) => answer,
                // The client left while the poll waited: nothing to answer.
                () = closed(&stream) => return,
            };
            let (status, body) = match answer {
                Ok(body) => (StatusCode::OK, body),
                // The same answer axum would give (a revoked session's 401, a database failure's 500).
                Err(e) => error_answer(e).await,
            };
            let keep_alive =
                keep_alive && status == StatusCode::OK && !state.shutdown.is_cancelled();
            let response = response(status, &body, keep_alive, &request, &state);
            crate::http::record_request(
                "GET",
                "/v1/events/poll",
                status.as_u16(),
                request.received.elapsed(),
            );
            // Like a stream's writes: cut off only when a write makes no progress, so a slow
            // client still gets a long answer whole.
            let parts = &mut [IoSlice::new(response.as_bytes())];
            let written = write_within(&mut stream, parts, state.config.write_timeout()).await;
            if written.is_err() || !keep_alive {
                let _ = stream.shutdown().await;
                return;
            }
            // The next request on the connection: another poll stays here, anything else goes to hyper.
            bytes = match tokio::time::timeout(IDLE_TIMEOUT, read_head(&mut stream, rest)).await {
                Ok(Ok(bytes)) if !bytes.is_empty() => bytes,
                _ => return,
            };
            match fast_request(&bytes) {
                Some(next) if next.route == Route::Poll => request = next,
                _ => return Box::pin(serve_hyper(stream, Bytes::from(bytes), state, router)).await,
            }
        }
    }
}

/// The status and JSON body of an error, as the axum route answers it.
async fn error_answer(err: ApiError) -> (StatusCode, String) {
    let response = err.into_response();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn asks_to_close(request: &FastRequest) -> bool {
    request
        .headers
        .get("connection")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
}

/// A complete response, with the headers the axum route's answer carries.
fn response(
    status: StatusCode,
    body: &str,
    keep_alive: bool,
    request: &FastRequest,
    state: &AppState,
) -> String {
    let mut out = String::with_capacity(320 + body.len());
    out.push_str(&format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncache-control: no-store\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    ));
    super::common_headers(&mut out, request, state);
    out.push_str(&format!("content-length: {}\r\n", body.len()));
    if !keep_alive {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

/// Resolves when the client closes the connection (or it fails). Bytes it sends meanwhile (a
/// pipelined request) are left unread for the next round, and then this waits no more.
async fn closed(stream: &TcpStream) {
    let mut byte = [0u8; 1];
    match stream.peek(&mut byte).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}
