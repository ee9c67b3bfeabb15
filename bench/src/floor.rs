//! The floor: the least an SSE fan-out server can do on this machine, run as a third target so the
//! other two are measured against it in the same run.
//!
//! No authentication, no database, no resume, no per-user routing: the request head is read into a
//! small buffer, a subscriber gets the response head and then every published frame from one
//! broadcast channel (frames already queued merged into one write), and `POST /pub` broadcasts its
//! body. The same 2-worker tokio runtime, `TCP_NODELAY` and chunked framing as CyberHub's stream path.
//! Whatever fan-out latency this shows is what the kernel, the loopback and the load clients cost.

use std::io::IoSlice;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::broadcast;

/// Serves until killed.
pub fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(listen)?;
        let listener = socket.listen(4096)?;
        let (frames, _) = broadcast::channel::<Bytes>(2048);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            tokio::spawn(connection(stream, frames.clone()));
        }
    })
}

async fn connection(mut stream: TcpStream, frames: broadcast::Sender<Bytes>) {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(end) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            break end + 4;
        }
        // Straight into the heap buffer: a stack array here would live in every stream's future.
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if buf.len() > 16 * 1024 {
            return;
        }
    };
    if buf.starts_with(b"GET /sub") {
        let live = frames.subscribe();
        drop(buf);
        subscriber(stream, live).await;
    } else if buf.starts_with(b"POST /pub") {
        let length = content_length(&buf[..head_end]);
        while buf.len() < head_end + length {
            buf.reserve(head_end + length - buf.len());
            match stream.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]);
        let _ = frames.send(Bytes::from(format!("data: {body}\n\n")));
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
    } else {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await;
    }
}

async fn subscriber(mut stream: TcpStream, mut live: broadcast::Receiver<Bytes>) {
    let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                 transfer-encoding: chunked\r\n\r\n";
    if stream.write_all(head).await.is_err() {
        return;
    }
    loop {
        let first = match live.recv().await {
            Ok(frame) => frame,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let mut merged: Option<BytesMut> = None;
        while let Ok(next) = live.try_recv() {
            merged
                .get_or_insert_with(|| BytesMut::from(&first[..]))
                .extend_from_slice(&next);
        }
        let chunk = merged.map_or(first, BytesMut::freeze);
        let size = format!("{:x}\r\n", chunk.len());
        let mut parts = [
            IoSlice::new(size.as_bytes()),
            IoSlice::new(&chunk),
            IoSlice::new(b"\r\n"),
        ];
        let mut parts = &mut parts[..];
        while !parts.is_empty() {
            match stream.write_vectored(parts).await {
                Ok(0) | Err(_) => return,
                Ok(n) => IoSlice::advance_slices(&mut parts, n),
            }
        }
    }
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}
