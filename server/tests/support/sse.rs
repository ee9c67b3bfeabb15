//! A live SSE connection read with the `sse-stream` parser, one parsed frame at a time.
// Shared by several test binaries through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Response;
use serde_json::Value;

/// One parsed SSE frame.
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

/// A live SSE connection read with the `sse-stream` parser.
pub struct EventStream {
    inner: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<sse_stream::Sse, sse_stream::Error>> + Send>,
    >,
    pub retry: Option<u64>,
}

impl EventStream {
    /// Opens `GET url` (a server's `/v1/events`) as `token`'s member, or anonymously, resuming
    /// after `after` if given; returns once the stream's `ready` frame has been read.
    pub async fn open(
        http: &reqwest::Client,
        url: &str,
        token: Option<&str>,
        after: Option<i64>,
    ) -> EventStream {
        let mut request = http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(after) = after {
            request = request.header("last-event-id", after.to_string());
        }
        let mut stream = EventStream::from_response(request.send().await.unwrap());
        assert_eq!(stream.next().await.event, "ready");
        stream
    }

    pub fn from_response(res: Response) -> EventStream {
        EventStream {
            inner: Box::pin(sse_stream::SseByteStream::new(res.bytes_stream())),
            retry: None,
        }
    }

    /// The next event frame within `within`; `None` on timeout or end of stream (a connection cut
    /// in the middle of the body, as when the server behind a proxy dies, is an end too).
    pub async fn next_within(&mut self, within: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let item = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .ok()??;
            let sse = match item {
                Ok(sse) => sse,
                Err(sse_stream::Error::Body(_)) => return None,
                Err(e) => panic!("malformed SSE: {e}"),
            };
            if let Some(retry) = sse.retry {
                self.retry = Some(retry);
            }
            let (Some(event), Some(data)) = (sse.event, sse.data) else {
                continue;
            };
            return Some(Frame {
                id: sse.id.map(|id| id.parse().expect("numeric id")),
                event,
                data: serde_json::from_str(&data).expect("JSON data"),
            });
        }
    }

    /// The next event frame, failing the test after 5 s.
    pub async fn next(&mut self) -> Frame {
        self.next_within(Duration::from_secs(5))
            .await
            .expect("an event within 5 s")
    }

    /// The next frame named `event`, skipping others (failing the test after 5 s).
    pub async fn next_named(&mut self, event: &str) -> Frame {
        loop {
            let frame = self.next().await;
            if frame.event == event {
                return frame;
            }
        }
    }

    /// Reads `n` events (after the opening `ready`, which the caller takes first).
    pub async fn take(&mut self, n: usize) -> Vec<Frame> {
        let mut frames = Vec::with_capacity(n);
        for _ in 0..n {
            frames.push(self.next().await);
        }
        frames
    }

    /// Asserts nothing more arrives within `within`.
    pub async fn assert_quiet(&mut self, within: Duration) {
        if let Some(frame) = self.next_within(within).await {
            panic!("expected no more events, got {frame:?}");
        }
    }

    /// Reads until nothing arrives for `quiet`; returns the events seen.
    pub async fn drain_until_quiet(&mut self, quiet: Duration) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next_within(quiet).await {
            frames.push(frame);
        }
        frames
    }

    /// Reads until the stream ends (or 5 s pass); returns the events seen.
    pub async fn drain_to_end(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next_within(Duration::from_secs(5)).await {
            frames.push(frame);
        }
        frames
    }
}
