//! Raw HTTP/1.1 over a TCP connection, for tests that must see the bytes: which path answered
//! (the fast path serves a stream that is the first request of its connection; hyper and axum one
//! that follows another request), and every header as sent.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads from `conn` until `needle` has arrived; returns everything read.
pub async fn read_until(conn: &mut tokio::net::TcpStream, buf: &mut Vec<u8>, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(buf).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in {:?}",
            String::from_utf8_lossy(buf)
        );
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "connection closed early");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A response head as comparable lines: the status line, then every header with its value, sorted,
/// except the two that differ on every response by design (date, request id), kept by name only.
pub fn comparable_head(head: &str) -> Vec<String> {
    let mut lines: Vec<String> = head
        .lines()
        .skip(1)
        .map(|l| l.to_ascii_lowercase())
        .map(|l| {
            if l.starts_with("date:") || l.starts_with("x-request-id:") {
                l[..l.find(':').unwrap()].to_owned()
            } else {
                l
            }
        })
        .collect();
    lines.sort();
    lines.insert(0, head.lines().next().unwrap().to_owned());
    lines
}

/// Splits a chunked HTTP response into its head (status line and sorted headers) and body.
pub fn head_and_body(raw: &[u8]) -> (Vec<String>, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, mut rest) = text.split_once("\r\n\r\n").unwrap();
    let names = comparable_head(head);
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size, 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    (names, body)
}

/// Reads one `content-length` response from `conn`: its status line and sorted headers (date and
/// request id by name only), and its body.
pub async fn read_response(conn: &mut tokio::net::TcpStream) -> (Vec<String>, String) {
    let mut raw = Vec::new();
    read_until(conn, &mut raw, "\r\n\r\n").await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("content-length");
    let head_len = head.len() + 4;
    while raw.len() < head_len + length {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the body");
        raw.extend_from_slice(&chunk[..n]);
    }
    (
        comparable_head(head),
        String::from_utf8_lossy(&raw[head_len..head_len + length]).into_owned(),
    )
}

/// A connection whose next request hyper and the axum router answer: it has carried one request
/// (`/health`) already, and the fast path serves only the first request of a connection.
pub async fn kept_alive(addr: std::net::SocketAddr) -> TcpStream {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    read_response(&mut conn).await;
    conn
}

/// Sends `request` on `conn` and returns the response head's lines (see [`comparable_head`]) once
/// the head has arrived; the body is left unread.
pub async fn head_of(conn: &mut TcpStream, request: &str) -> Vec<String> {
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    read_until(conn, &mut raw, "\r\n\r\n").await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    comparable_head(text.split_once("\r\n\r\n").unwrap().0)
}
