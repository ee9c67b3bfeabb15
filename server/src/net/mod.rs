//! Connections: the accept loop, and the split between the SSE fast path and hyper.
//!
//! hyper keeps an 8 KiB read and an 8 KiB write buffer for the whole life of every HTTP/1 connection
//! (../shared/PERFORMANCE-NOTES.md), which makes an idle SSE stream cost 10 to 20 KB. So each new
//! connection's request head is read here into a temporary buffer and parsed with `httparse`:
//!
//! - `GET /v1/events` that authenticates and parses is served by [`sse_raw`], a single task that
//!   writes the session's pre-encoded frames straight to the socket and keeps no HTTP state;
//! - everything else (every other route, and any stream request the fast path declines, such as one
//!   with a bad token, whose error answer axum then writes) goes to hyper and the axum router, with
//!   the bytes already read put back in front of the socket ([`rewind`]).
//!
//! Both paths pull their bytes from the same [`SseSession`], so a stream behaves the same on either.

mod rewind;
mod sse_raw;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::task::TaskTracker;

use crate::http::AppState;
use crate::http::sse::SseSession;
use rewind::Rewind;

/// The largest request head read before giving the connection to hyper (which answers 431).
const MAX_HEAD: usize = 16 * 1024;
/// How long a new connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds a listener with a deep accept queue, so a reconnect storm waits in the kernel instead of
/// being refused.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// Accepts connections until `state.shutdown` is cancelled, then waits (up to the grace period) for
/// the open ones: streams end at once with a retry hint, other requests finish.
pub async fn serve(listener: TcpListener, state: AppState, router: Router) {
    let tracker = TaskTracker::new();
    let shutdown = state.shutdown.clone();
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, mostly: back off instead of spinning; open
                    // connections keep being served.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Frames are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        tracker.spawn(connection(
            stream,
            state.clone(),
            router.clone(),
            tracker.clone(),
        ));
    }
    drop(listener);
    tracker.close();
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            open = tracker.len(),
            "connections still open after the grace period; closing anyway"
        );
    }
}

async fn connection(stream: TcpStream, state: AppState, router: Router, tracker: TaskTracker) {
    // A stream moves to a task of its own, sized for the stream alone; the steps that run once are
    // boxed (hyper's connection state alone is several times larger than a stream's).
    match Box::pin(accept_stream(stream, &state)).await {
        Accepted::Stream(stream, session, head) => {
            tracker.spawn(sse_raw::serve(stream, session, head));
        }
        Accepted::Other(stream, head) => Box::pin(serve_hyper(stream, head, state, router)).await,
        Accepted::Nothing => {}
    }
}

/// What the first request on a connection turned out to be.
// Short-lived: the stream variant moves into its own task at once, so boxing it would only add an
// allocation per stream.
#[allow(clippy::large_enum_variant)]
enum Accepted {
    /// A stream the fast path serves, with its response head ready.
    Stream(TcpStream, SseSession, sse_raw::ResponseHead),
    /// Anything else, for hyper, with the bytes already read.
    Other(TcpStream, Bytes),
    /// The client went away or said nothing in time.
    Nothing,
}

async fn accept_stream(mut stream: TcpStream, state: &AppState) -> Accepted {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) if !head.is_empty() => head,
        _ => return Accepted::Nothing,
    };
    if let Some(request) = sse_request(&head) {
        // Declined (bad token or cursor) goes to axum, which answers with the usual JSON error.
        if let Ok(session) = SseSession::open(state, &request.headers, &request.uri).await {
            let response_head = sse_raw::response_head(&request, state);
            return Accepted::Stream(stream, session, response_head);
        }
    }
    Accepted::Other(stream, Bytes::from(head))
}

/// Reads until the end of the request head (or `MAX_HEAD` bytes, or EOF); returns what was read.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if buf.len() >= MAX_HEAD {
            return Ok(buf);
        }
        if buf.capacity() == buf.len() {
            buf.reserve(buf.len().min(MAX_HEAD - buf.len()));
        }
        let scan_from = buf.len().saturating_sub(3);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(buf);
        }
        if buf[scan_from..].windows(4).any(|w| w == b"\r\n\r\n") {
            return Ok(buf);
        }
    }
}

/// A stream request the fast path can serve.
struct SseRequest {
    headers: HeaderMap,
    uri: Uri,
    /// HTTP/1.0 clients get a close-delimited body instead of chunked encoding.
    http10: bool,
    /// When the head was complete, for the request-latency metric.
    received: Instant,
}

/// Parses `head`; `Some` only for a plain `GET /v1/events` without a body or an upgrade.
fn sse_request(head: &[u8]) -> Option<SseRequest> {
    let mut parsed = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut parsed);
    if !matches!(request.parse(head), Ok(httparse::Status::Complete(_))) {
        return None;
    }
    let path = request.path?;
    if request.method? != "GET" || (path != "/v1/events" && !path.starts_with("/v1/events?")) {
        return None;
    }
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(header.value).ok()?;
        headers.append(name, value);
    }
    let has_body = headers.contains_key("transfer-encoding")
        || headers
            .get("content-length")
            .is_some_and(|v| v.as_bytes() != b"0");
    if has_body || headers.contains_key("upgrade") || headers.contains_key("expect") {
        return None;
    }
    Some(SseRequest {
        headers,
        uri: path.parse().ok()?,
        http10: request.version? == 0,
        received: Instant::now(),
    })
}

/// Serves the connection with hyper and the axum router, replaying `head` first.
async fn serve_hyper(stream: TcpStream, head: Bytes, state: AppState, router: Router) {
    let io = TokioIo::new(Rewind::new(head, stream));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(Duration::from_secs(30)));
    let conn = builder.serve_connection(io, TowerToHyperService::new(router));
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = state.shutdown.cancelled() => {
            // Finish the request in flight, then close instead of keeping the connection alive.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
