use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::server::Server;

/// A raw connection to the server from the loopback address `source`.
async fn connect_from(server: &Server, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server.addr).await.unwrap()
}

/// Everything the server sends until it closes the connection (or `within` passes).
async fn read_all(stream: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(within, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

const HALF_A_LOGIN: &str = "POST /v1/auth/login HTTP/1.1\r\nhost: cyberhub\r\ncontent-type: application/json\r\ncontent-length: 44\r\n\r\n{\"username\":";

#[tokio::test]
async fn a_body_that_never_arrives_is_cut_off_with_408() {
    let server = Server::start(&["--body-timeout-secs", "1"]).await;
    let mut stream = connect_from(&server, "127.0.0.2").await;
    stream.write_all(HALF_A_LOGIN.as_bytes()).await.unwrap();
    let started = Instant::now();
    let answer = read_all(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "and the connection closed"
    );
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_and_the_server_keeps_answering_others() {
    let server = Server::start(&["--max-connections-per-ip", "50", "--login-rate-ip", "off"]).await;
    let mut held = Vec::new();
    for _ in 0..50 {
        let mut stream = connect_from(&server, "127.0.0.2").await;
        stream.write_all(HALF_A_LOGIN.as_bytes()).await.unwrap();
        held.push(stream);
    }
    // The 51st is answered at once, before it says anything.
    let mut surplus = connect_from(&server, "127.0.0.2").await;
    let answer = read_all(&mut surplus, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("too_many_connections"), "{answer}");

    let other = server.client_from("127.0.0.3");
    let health = other.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        server.login(&other, "alice", "alice-demo-1").await.status(),
        StatusCode::OK
    );

    // Once its connections close, the address is welcome again.
    drop(held);
    let again = server.client_from("127.0.0.2");
    let mut ok = false;
    for _ in 0..50 {
        if again
            .get(server.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "connections are counted down when they close");
}

#[tokio::test]
async fn past_the_total_cap_new_connections_are_refused_at_once() {
    let server = Server::start(&["--max-connections", "40", "--max-connections-per-ip", "0"]).await;
    let mut held = Vec::new();
    for i in 0..40 {
        let mut stream = connect_from(&server, &format!("127.0.0.{}", 2 + i % 4)).await;
        stream.write_all(HALF_A_LOGIN.as_bytes()).await.unwrap();
        held.push(stream);
    }
    let mut surplus = connect_from(&server, "127.0.0.9").await;
    let answer = read_all(&mut surplus, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    drop(held);
}

/// Sends a GET on a raw connection and reads until the end of the response head (or what came
/// before the server closed it: a refused connection may close before the request is written).
async fn get_head(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nhost: cyberhub\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while !out.windows(4).any(|w| w == b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A connection from 127.0.0.2 whose GET of `path` was answered 200; it stays open.
async fn held(server: &Server, path: &str) -> TcpStream {
    let mut stream = connect_from(server, "127.0.0.2").await;
    let head = get_head(&mut stream, path).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    stream
}

#[tokio::test]
async fn open_streams_and_long_polls_count_against_their_address_until_they_end() {
    let server = Server::start(&[
        "--max-connections-per-ip",
        "4",
        "--stream-rate-ip",
        "off",
        "--poll-rate-ip",
        "off",
    ])
    .await;
    let mut streams = vec![
        held(&server, "/v1/events").await,
        held(&server, "/v1/events").await,
    ];
    // The first poll of a connection answers at once; the connection stays open for the next.
    let mut polls = vec![
        held(&server, "/v1/events/poll").await,
        held(&server, "/v1/events/poll").await,
    ];

    // Four held, one streaming pair and one polling pair: the fifth is refused.
    let mut surplus = connect_from(&server, "127.0.0.2").await;
    let answer = read_all(&mut surplus, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");

    // A stream that ends gives its place back, and so does a polling connection.
    for ended in [streams.pop(), polls.pop()] {
        drop(ended);
        let mut admitted = false;
        for _ in 0..100 {
            let mut next = connect_from(&server, "127.0.0.2").await;
            let head = get_head(&mut next, "/v1/events").await;
            if head.starts_with("HTTP/1.1 200") {
                streams.push(next);
                admitted = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(admitted, "the ended connection's place is given back");
    }
}
