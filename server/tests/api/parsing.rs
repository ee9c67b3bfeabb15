//! The connection-level fast path and hyper must read requests the same way: whatever the fast path
//! serves, hyper would serve alike, and whatever hyper refuses, the fast path refuses with the same
//! status. One table of odd heads, each sent both ways: as the first request on a connection (the
//! fast path looks at it) and after a first request (hyper has the connection by then).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

const WARM_UP: &[u8] = b"GET /health HTTP/1.1\r\nhost: cyberhub\r\n\r\n";

/// What a server said to `head`: the status lines of every response, in order, and whether it
/// closed the connection.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status_lines: Vec<String>,
    closed: bool,
}

async fn send(app: &TestApp, warm_up: bool, head: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    if warm_up {
        stream.write_all(WARM_UP).await.unwrap();
        let first = read_for(&mut stream, Duration::from_millis(300)).await;
        assert!(first.0.starts_with("HTTP/1.1 200"), "warm-up: {}", first.0);
    }
    stream.write_all(head).await.unwrap();
    let (text, closed) = read_for(&mut stream, Duration::from_millis(700)).await;
    let status_lines = text
        .split("\r\n")
        .filter(|line| line.starts_with("HTTP/1."))
        .map(str::to_owned)
        .collect();
    Answer {
        status_lines,
        closed,
    }
}

/// Reads for `within` (or until the server closes): the text, and whether it closed.
async fn read_for(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

fn odd_heads() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let long_header = format!(
        "GET /v1/events/poll HTTP/1.1\r\nhost: x\r\nx-padding: {}\r\n\r\n",
        "a".repeat(17_000)
    );
    let many_headers = format!(
        "GET /v1/events/poll HTTP/1.1\r\nhost: x\r\n{}\r\n",
        (0..70)
            .map(|i| format!("x-h{i}: v\r\n"))
            .collect::<String>()
    );
    let too_many_headers = format!(
        "GET /v1/events/poll HTTP/1.1\r\nhost: x\r\n{}\r\n",
        (0..120)
            .map(|i| format!("x-h{i}: v\r\n"))
            .collect::<String>()
    );
    // (name, bytes, the status the server must give on both paths)
    vec![
        ("plain poll", b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), "HTTP/1.1 200 OK"),
        (
            "two content lengths smuggling a second request",
            b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\ncontent-length: 44\r\n\r\nGET /v1/cases HTTP/1.1\r\nhost: x\r\n\r\nxxxxxx".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        ("bare LF line endings", b"GET /v1/events/poll HTTP/1.1\nhost: x\n\n".to_vec(), "HTTP/1.1 200 OK"),
        ("a head over 16 KB", long_header.into_bytes(), "HTTP/1.1 431 Request Header Fields Too Large"),
        ("HTTP/1.0", b"GET /v1/events/poll HTTP/1.0\r\n\r\n".to_vec(), "HTTP/1.0 200 OK"),
        ("HTTP/1.0 stream", b"GET /v1/events HTTP/1.0\r\n\r\n".to_vec(), "HTTP/1.0 200 OK"),
        (
            "a chunked body on a GET",
            b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            "HTTP/1.1 200 OK",
        ),
        ("a single zero length", b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".to_vec(), "HTTP/1.1 200 OK"),
        ("an invalid length", b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("obsolete line folding", b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\nx-a: b\r\n c\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("space before the colon", b"GET /v1/events/poll HTTP/1.1\r\nhost : x\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("a NUL in a value", b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\nx-a: b\0c\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("a lowercase method", b"get /v1/events/poll HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), "HTTP/1.1 405 Method Not Allowed"),
        ("HTTP/1.2", b"GET /v1/events/poll HTTP/1.2\r\nhost: x\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("two spaces in the request line", b"GET  /v1/events/poll HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("a bad header name", b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\nx@y: 1\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("an absolute URI", b"GET http://cyberhub/v1/events/poll HTTP/1.1\r\nhost: cyberhub\r\n\r\n".to_vec(), "HTTP/1.1 200 OK"),
        ("70 headers", many_headers.into_bytes(), "HTTP/1.1 200 OK"),
        ("120 headers", too_many_headers.into_bytes(), "HTTP/1.1 431 Request Header Fields Too Large"),
        ("a bad cursor on the stream", b"GET /v1/events HTTP/1.1\r\nhost: x\r\nlast-event-id: abc\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
        ("a plain stream", b"GET /v1/events HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), "HTTP/1.1 200 OK"),
        ("a stream with a lone CR", b"GET /v1/events HTTP/1.1\r\nhost: x\rx\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request"),
    ]
}

#[tokio::test]
async fn the_fast_path_and_hyper_answer_every_odd_head_alike() {
    let app = spawn_app().await;
    let app = &app;
    let answers = futures_util::future::join_all(odd_heads().into_iter().map(
        |(name, head, want)| async move {
            let fast = send(app, false, &head).await;
            let via_hyper = send(app, true, &head).await;
            (name, want, fast, via_hyper)
        },
    ))
    .await;
    let mut differences = Vec::new();
    for (name, want, fast, via_hyper) in answers {
        let fast_status = fast
            .status_lines
            .first()
            .map(String::as_str)
            .unwrap_or("(none)");
        let hyper_status = via_hyper
            .status_lines
            .first()
            .map(String::as_str)
            .unwrap_or("(none)");
        if fast_status != want || hyper_status != want {
            differences.push(format!(
                "{name}: fast path {fast_status:?}, hyper {hyper_status:?}, want {want:?}"
            ));
        }
        // Nothing after a refused head is ever run as a request of its own.
        if !want.contains(" 200 ") && fast.status_lines.len() > 1 {
            differences.push(format!(
                "{name}: the fast path answered twice: {:?}",
                fast.status_lines
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
