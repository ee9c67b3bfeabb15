//! The SSE fast path: one task per stream writes the session's frames to the socket, chunk-framed,
//! and holds no buffer between writes.

use std::io::IoSlice;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::FastRequest;
use super::write_deadline::write_within;
use crate::limits::Admitted;
use crate::state::AppState;
use crate::stream::{SSE_HEADERS, SseSession};

/// Writes the response head; whether the client took it. Runs in the connection's first task,
/// before the stream's own task starts.
pub async fn write_head(stream: &mut TcpStream, head: &ResponseHead) -> bool {
    let mut parts = [IoSlice::new(&head.bytes)];
    write_within(stream, &mut parts, head.write_timeout)
        .await
        .is_ok()
}

/// Writes every chunk the session yields, after the head, until the stream ends or the client goes
/// away; a write that makes no progress for `limit` ends it.
///
/// This future lives as long as the stream and is the bulk of what an idle stream costs, so what it
/// needs rarely (the last chunk, a write that must wait for the client) is boxed: a timer kept
/// inline would sit in every idle stream's memory. For the same reason it is an async block, not an
/// async fn: an async fn's state keeps its arguments twice, as passed and as the body's bindings
/// (rust-lang/rust#62958): 1,104 bytes as an async fn, 712 as this block.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would store its arguments twice"
)]
pub fn serve(
    mut stream: TcpStream,
    mut session: SseSession,
    limit: Duration,
    admitted: Admitted,
) -> impl std::future::Future<Output = ()> {
    async move {
        // Moved in, so the connection counts until this ends.
        let _admitted = &admitted;
        loop {
            let chunk = tokio::select! {
                chunk = session.next_chunk() => chunk,
                gone = client_gone(&stream) => {
                    if gone {
                        break;
                    }
                    continue;
                }
            };
            let Some(chunk) = chunk else { break };
            if write_chunk(&mut stream, &chunk, limit).await.is_err() {
                // Gone, or not reading: the client resumes from its Last-Event-ID when it comes back.
                return;
            }
        }
        // The terminating chunk, so the client sees a complete response rather than a cut one.
        let terminator = &mut [IoSlice::new(b"0\r\n\r\n")];
        let _ = Box::pin(write_within(&mut stream, terminator, limit)).await;
        let _ = stream.shutdown().await;
    }
}

/// Writes one chunk (size line, the frames, CRLF) straight from the shared frame bytes: one
/// vectored write, no copy, no allocation. Fails when a write makes no progress for `limit`.
async fn write_chunk(stream: &mut TcpStream, chunk: &[u8], limit: Duration) -> std::io::Result<()> {
    let mut size_line = [0u8; 18];
    let size_len = hex_line(chunk.len(), &mut size_line);
    let trailer: &[u8] = b"\r\n";
    let mut parts = [
        IoSlice::new(&size_line[..size_len]),
        IoSlice::new(chunk),
        IoSlice::new(trailer),
    ];
    let mut parts = &mut parts[..];
    // Almost always the socket's buffer takes it all at once: nothing to wait for, no timer.
    loop {
        match stream.try_write_vectored(parts) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => {
                IoSlice::advance_slices(&mut parts, written);
                if parts.is_empty() {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    // The client is behind: wait for room, boxed (see `serve`).
    Box::pin(write_within(stream, parts, limit)).await
}

/// Writes `n` in hex followed by CRLF into `out`; returns the length.
fn hex_line(mut n: usize, out: &mut [u8; 18]) -> usize {
    let mut digits = [0u8; 16];
    let mut len = 0;
    loop {
        digits[len] = b"0123456789abcdef"[n & 0xf];
        len += 1;
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        out[i] = digits[len - 1 - i];
    }
    out[len] = b'\r';
    out[len + 1] = b'\n';
    len + 2
}

/// The response head, prepared before the request is dropped.
pub struct ResponseHead {
    bytes: Vec<u8>,
    pub write_timeout: Duration,
}

/// Builds the response head (and counts the request, as the metrics middleware does on the other
/// path).
pub fn response_head(request: &FastRequest, state: &AppState) -> ResponseHead {
    crate::http::record_request("GET", "/v1/events", 200, request.received.elapsed());
    ResponseHead {
        bytes: head_text(request, state).into_bytes(),
        write_timeout: state.config.write_timeout(),
    }
}

fn head_text(request: &FastRequest, state: &AppState) -> String {
    let mut head = String::with_capacity(320);
    head.push_str("HTTP/1.1 200 OK\r\n");
    for (name, value) in SSE_HEADERS {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    super::common_headers(&mut head, request, state);
    head.push_str("transfer-encoding: chunked\r\n\r\n");
    head
}

/// Resolves when the socket turns readable: `true` if the client closed it (or it failed), `false`
/// if it merely sent bytes, which a stream has no use for and drops.
async fn client_gone(stream: &TcpStream) -> bool {
    // `poll_read_ready` parks in the socket's own reader slot: no waiter node in this future, which
    // every idle stream would otherwise carry.
    if std::future::poll_fn(|cx| stream.poll_read_ready(cx))
        .await
        .is_err()
    {
        return true;
    }
    let mut sink = [0u8; 256];
    match stream.try_read(&mut sink) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::hex_line;

    #[test]
    fn chunk_size_lines_are_lowercase_hex() {
        for (n, want) in [
            (0, "0\r\n"),
            (10, "a\r\n"),
            (255, "ff\r\n"),
            (65_536, "10000\r\n"),
        ] {
            let mut out = [0u8; 18];
            let len = hex_line(n, &mut out);
            assert_eq!(std::str::from_utf8(&out[..len]).unwrap(), want);
        }
    }
}
