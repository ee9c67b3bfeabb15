//! Connections: the accept loop, and the split between the fast path and hyper.
//!
//! hyper keeps an 8 KiB read and an 8 KiB write buffer for the whole life of every HTTP/1 connection
//! (measured on this machine), which makes an idle SSE stream cost 10 to 20 KB. So each new
//! connection's request head is read here into a temporary buffer and parsed with `httparse`:
//!
//! - `GET /v1/events` that authenticates and parses is served by [`sse_raw`], a single task that
//!   writes the session's pre-encoded frames straight to the socket and keeps no HTTP state;
//! - `GET /v1/events/poll` is served by [`poll_raw`], request after request on its connection, as
//!   long as the requests are polls;
//! - everything else (every other route, and any stream or poll request the fast path declines, such
//!   as one with a bad token, whose error answer axum then writes) goes to hyper and the axum router,
//!   with the bytes already read put back in front of the socket ([`rewind`]).
//!
//! Both paths open their sessions from [`crate::stream`] and write the headers of
//! [`crate::http::headers`], so a stream or a poll behaves the same on either. The connection caps
//! themselves live in [`crate::limits`]; this loop applies them at `accept`.

mod poll_raw;
mod rewind;
mod sse_raw;
mod write_deadline;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use bytes::Bytes;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::http::client_ip::{PeerAddr, client_ip, is_trusted_proxy};
use crate::http::headers::Answer;
use crate::limits::conns::raise_file_limit;
use crate::limits::{Admitted, ConnectionLimits};
use crate::state::AppState;
use crate::stream::{SseSession, StreamRequest};
use rewind::Rewind;
use write_deadline::WriteDeadline;

/// The largest request head, on either path: the fast path hands a longer one to hyper, whose read
/// buffer is capped at the same size, so it answers 431.
const MAX_HEAD: usize = 16 * 1024;
/// hyper's limit on the number of headers; a head with more is hyper's to refuse.
const MAX_HEADERS: usize = 100;
/// How long a new connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// File descriptors kept back from the connection cap for the database, the runtime and logs.
const RESERVED_FILES: usize = 64;
/// What a refused connection is told, written before its request is read.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 5\r\nconnection: close\r\ncontent-length: 90\r\n\r\n{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many open connections; try later\"}}";

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
    let connections = connection_limits(&state);
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: back off instead of spinning; open
                    // connections keep being served.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let trusted = is_trusted_proxy(peer.ip(), &state.config.trusted_proxies);
        let admitted = match connections.admit(peer.ip(), trusted) {
            Ok(admitted) => admitted,
            Err(_) => {
                // Answered at once, without reading the request: whatever it is, there is no room.
                let _ = stream.try_write(TOO_MANY_CONNECTIONS);
                continue;
            }
        };
        // Frames are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        if state.config.send_buffer_bytes > 0 {
            // Bounds what a client that stops reading pins in kernel memory (otherwise the kernel
            // grows the buffer to megabytes for it).
            let _ = socket2::SockRef::from(&stream)
                .set_send_buffer_size(state.config.send_buffer_bytes);
        }
        tracker.spawn(connection(
            stream,
            admitted,
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

/// The caps on open connections, from the settings and the file limit.
fn connection_limits(state: &AppState) -> ConnectionLimits {
    let files = raise_file_limit().saturating_sub(RESERVED_FILES).max(1);
    let total = match state.config.max_connections {
        0 => files,
        n => n.min(files),
    };
    tracing::info!(
        total,
        per_address = state.config.max_connections_per_ip,
        "connection caps"
    );
    ConnectionLimits::new(state.config.max_connections_per_ip, total)
}

async fn connection(
    stream: TcpStream,
    admitted: Admitted,
    state: AppState,
    router: Router,
    tracker: TaskTracker,
) {
    // A stream moves to a task of its own, sized for the stream alone; the steps that run once are
    // boxed (hyper's connection state alone is several times larger than a stream's).
    match Box::pin(accept_stream(stream, &state)).await {
        Accepted::Stream(mut stream, session, head) => {
            if Box::pin(sse_raw::write_head(&mut stream, &head)).await {
                tracker.spawn(sse_raw::serve(
                    stream,
                    session,
                    head.write_timeout,
                    admitted,
                ));
            }
        }
        Accepted::Poll(stream, head, request) => {
            tracker.spawn(poll_raw::serve(
                stream, head, request, state, router, admitted,
            ));
        }
        Accepted::Other(stream, head) => {
            Box::pin(serve_hyper(stream, head, state, router)).await;
            drop(admitted);
        }
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
    /// A long-poll request (the head read so far, parsed), for the fast path's poll loop.
    Poll(TcpStream, Vec<u8>, FastRequest),
    /// Anything else, for hyper, with the bytes already read.
    Other(TcpStream, Bytes),
    /// The client went away or said nothing in time.
    Nothing,
}

async fn accept_stream(mut stream: TcpStream, state: &AppState) -> Accepted {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream, Vec::new())).await {
        Ok(Ok(head)) if !head.is_empty() => head,
        _ => return Accepted::Nothing,
    };
    match fast_request(&head) {
        Some(request) if request.route == Route::Stream => {
            // Declined (bad token or cursor, a limit) goes to axum, which answers with the usual
            // JSON error.
            let ip = request_ip(&stream, &request, state);
            if let Ok(session) = SseSession::open(state, &request.stream_request(ip)).await {
                let response_head = sse_raw::response_head(&request, state);
                return Accepted::Stream(stream, session, response_head);
            }
        }
        Some(request) => return Accepted::Poll(stream, head, request),
        None => {}
    }
    Accepted::Other(stream, Bytes::from(head))
}

/// Reads until `buf` holds a complete request head by httparse's own judgement (the parser hyper
/// uses, so bare-LF line endings count as they do there), or one it cannot parse, or `MAX_HEAD`
/// bytes, or EOF; returns it, with whatever followed the head. Whatever is not a complete head the
/// fast path serves goes to hyper, which answers it (400, 431) as it answers any other.
async fn read_head(stream: &mut TcpStream, mut buf: Vec<u8>) -> std::io::Result<Vec<u8>> {
    buf.reserve(1024);
    loop {
        if !buf.is_empty() && !matches!(parse_head(&buf), Ok(httparse::Status::Partial)) {
            return Ok(buf);
        }
        if buf.len() >= MAX_HEAD {
            return Ok(buf);
        }
        if buf.capacity() == buf.len() {
            buf.reserve(buf.len().min(MAX_HEAD - buf.len()));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(buf);
        }
    }
}

/// httparse with hyper's settings: its default parser configuration.
fn parse_head(head: &[u8]) -> httparse::Result<usize> {
    let mut parsed = [httparse::EMPTY_HEADER; MAX_HEADERS];
    httparse::Request::new(&mut parsed).parse(head)
}

/// The two endpoints the fast path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `GET /v1/events`
    Stream,
    /// `GET /v1/events/poll`
    Poll,
}

/// A request the fast path can serve.
struct FastRequest {
    route: Route,
    headers: HeaderMap,
    uri: Uri,
    /// The length of the head in the bytes read; anything after it is the next request.
    head_len: usize,
    /// When the head was complete, for the request-latency metric.
    received: Instant,
}

impl FastRequest {
    /// The request as a stream session reads it.
    fn stream_request(&self, ip: std::net::IpAddr) -> StreamRequest<'_> {
        StreamRequest {
            headers: &self.headers,
            uri: &self.uri,
            ip,
        }
    }
}

/// Parses `head`; `Some` only for what the fast path serves: a complete HTTP/1.1 `GET` of one of
/// the two stream endpoints, without a body (no `Content-Length` or `Transfer-Encoding` at all), an
/// expectation or an upgrade, whose every header hyper would also accept. Everything else goes to
/// hyper, so the two paths cannot disagree on what a request is: a head that both could read is
/// read the same way, and anything odd (conflicting lengths, HTTP/1.0, a malformed line) is hyper's
/// alone to answer.
fn fast_request(head: &[u8]) -> Option<FastRequest> {
    let mut parsed = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut parsed);
    let Ok(httparse::Status::Complete(head_len)) = request.parse(head) else {
        return None;
    };
    let path = request.path?;
    let route = match path.split('?').next() {
        Some("/v1/events") => Route::Stream,
        Some("/v1/events/poll") => Route::Poll,
        _ => return None,
    };
    if request.method? != "GET" || request.version? != 1 {
        return None;
    }
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(header.value).ok()?;
        headers.append(name, value);
    }
    let declined = ["content-length", "transfer-encoding", "expect", "upgrade"];
    if declined.iter().any(|name| headers.contains_key(*name)) {
        return None;
    }
    Some(FastRequest {
        route,
        headers,
        uri: path.parse().ok()?,
        head_len,
        received: Instant::now(),
    })
}

/// The client's address: the peer's, or the one a trusted proxy names.
fn request_ip(stream: &TcpStream, request: &FastRequest, state: &AppState) -> std::net::IpAddr {
    let peer = stream
        .peer_addr()
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    client_ip(peer, &request.headers, &state.config.trusted_proxies)
}

/// What the fast path makes of `head` (any bytes), checked against what must always hold: it
/// never panics, and whatever it serves is a complete head of a plain GET without a body. For
/// the fuzz target and its regression tests.
#[cfg(any(test, feature = "fuzz-targets"))]
pub fn check_head(head: &[u8]) {
    let complete = !matches!(parse_head(head), Ok(httparse::Status::Partial));
    if let Some(request) = fast_request(head) {
        assert!(complete, "served a head httparse calls partial");
        assert!(request.head_len <= head.len());
        for declined in ["content-length", "transfer-encoding", "expect", "upgrade"] {
            assert!(
                !request.headers.contains_key(declined),
                "served a head with {declined}"
            );
        }
    }
}

/// The headers hyper and the layers add on the other path: request id, date, and the header
/// policy's for an API answer that says its own `Cache-Control` (security headers, CORS for an
/// allowed origin).
fn common_headers(head: &mut String, request: &FastRequest, state: &AppState) {
    let request_id = request
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    head.push_str(&format!("x-request-id: {request_id}\r\n"));
    head.push_str(&format!(
        "date: {}\r\n",
        httpdate::fmt_http_date(std::time::SystemTime::now())
    ));
    let origin = request.headers.get(ORIGIN);
    for (name, value) in state.headers.for_answer(Answer::Api, origin, true) {
        // Header values are visible ASCII here: a non-ASCII origin is never on the allow-list.
        let value = value.to_str().unwrap_or_default();
        head.push_str(&format!("{name}: {value}\r\n"));
    }
}

/// A random UUID v4, as the request-id layer makes them.
fn new_request_id() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Serves the connection with hyper and the axum router, replaying `head` first.
async fn serve_hyper(stream: TcpStream, head: Bytes, state: AppState, router: Router) {
    // Every request learns the connection's address (limits key on it).
    let peer = stream.peer_addr().ok().map(PeerAddr);
    let router = router.map_request(move |mut request: axum::extract::Request<_>| {
        if let Some(peer) = peer {
            request.extensions_mut().insert(peer);
        }
        request
    });
    let io = TokioIo::new(WriteDeadline::new(
        Rewind::new(head, stream),
        state.config.write_timeout(),
    ));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(HEAD_TIMEOUT))
        .max_buf_size(MAX_HEAD);
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

#[cfg(test)]
mod tests {
    use super::TOO_MANY_CONNECTIONS;
    use cyberhub_protocol::{ErrorBody, ErrorCode};

    #[test]
    fn the_answer_to_a_refused_connection_is_the_apis_error_shape() {
        let text = std::str::from_utf8(TOO_MANY_CONNECTIONS).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
        let parsed: ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.error.code, ErrorCode::TooManyConnections);
    }
}
