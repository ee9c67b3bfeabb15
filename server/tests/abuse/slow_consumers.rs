use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::server::Server;

/// Waits until `/health` counts `want` SSE clients; panics after `within`.
async fn wait_for_sse_clients(server: &Server, want: u64, within: Duration) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let health: serde_json::Value = http
            .get(server.url("/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["sse_clients"] == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {want} SSE clients, health says {}",
            health["sse_clients"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Posts `count` announcements of 500 characters as the demo admin, each accepted.
async fn announce_many(server: &Server, count: usize) {
    let http = reqwest::Client::new();
    let token = server.token(&http, "admin", "admin-demo-1").await;
    let text = "x".repeat(500);
    for _ in 0..count {
        let res = http
            .post(server.url("/v1/admin/announcements"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
}

#[tokio::test]
async fn streams_whose_readers_stopped_reading_are_ended_and_the_others_get_everything() {
    let server = Server::start(&[
        "--write-timeout-secs",
        "2",
        "--send-buffer-bytes",
        "8192",
        "--stream-linger-ms",
        "0",
    ])
    .await;
    // 50 anonymous streams with a tiny receive window that never read a byte.
    let mut stalled = Vec::new();
    for i in 0..50 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(2048).unwrap();
        socket
            .bind(format!("127.0.0.{}:0", 2 + i % 4).parse().unwrap())
            .unwrap();
        let mut stream = socket.connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /v1/events HTTP/1.1\r\nhost: cyberhub\r\n\r\n")
            .await
            .unwrap();
        stalled.push(stream);
    }
    // One member who reads.
    let reader = reqwest::Client::new()
        .get(server.url("/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(reader.status(), StatusCode::OK);
    let counting = tokio::spawn(async move {
        let mut body = reader.bytes_stream();
        let mut text = Vec::new();
        let mut seen = 0;
        while seen < 200 {
            let chunk = tokio::time::timeout(Duration::from_secs(20), body.next())
                .await
                .expect("the reading client keeps getting events")
                .unwrap()
                .unwrap();
            text.extend_from_slice(&chunk);
            seen = memchr_count(&text, b"event: announcement");
        }
        seen
    });
    wait_for_sse_clients(&server, 51, Duration::from_secs(5)).await;

    announce_many(&server, 200).await;
    assert_eq!(
        counting.await.unwrap(),
        200,
        "the reader got every announcement"
    );
    // 200 × 600 bytes do not fit in 2 KB + 16 KB of buffers: each stalled stream's writes stop,
    // and after 2 s without progress the server ends it.
    wait_for_sse_clients(&server, 0, Duration::from_secs(15)).await;
    drop(stalled);
}

#[tokio::test]
async fn a_long_poll_answer_arrives_whole_to_a_slow_reader_that_keeps_reading() {
    let server = Server::start(&[
        "--write-timeout-secs",
        "1",
        "--send-buffer-bytes",
        "4096",
        "--poll-rate-ip",
        "off",
    ])
    .await;
    let http = reqwest::Client::new();
    let start: serde_json::Value = http
        .get(server.url("/v1/events/poll"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after = start["next"].as_i64().unwrap();
    announce_many(&server, 100).await;

    // One answer of about 60 KB through 2 KB + 8 KB of buffers, read 1 KB every 40 ms: it takes
    // some 2 s, twice the write timeout, but no write waits as long as that.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    stream
        .write_all(
            format!("GET /v1/events/poll?after={after} HTTP/1.1\r\nhost: cyberhub\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the server keeps sending")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(
        started.elapsed() > Duration::from_millis(1500),
        "the reading took longer than the write timeout ({:?})",
        started.elapsed()
    );
    let text = String::from_utf8(answer).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body: serde_json::Value = serde_json::from_str(body).expect("the whole answer arrived");
    assert_eq!(body["events"].as_array().unwrap().len(), 100);
}

fn memchr_count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}
