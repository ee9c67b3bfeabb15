//! One SSE session: `GET /v1/events` with the token and `Last-Event-ID`, parsed with
//! [`sse_stream`], with the `ready` timeout and the heartbeat watchdog around it. It only reports
//! what it sees; the transport loop decides what an ending means (reconnect, or fall back).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cyberhub_protocol::Ready;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{ACCEPT, CACHE_CONTROL};
use sse_stream::{Sse, SseByteStream};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::error::{describe, retry_after};
use crate::rest::{Rest, WireEvent, is_event_stream};

/// What a session reports while it runs.
pub(crate) trait SessionSink: Send {
    /// The `ready` frame: the stream is live.
    fn ready(&mut self, ready: &Ready);
    /// Every other event, in stream order.
    fn event(&mut self, event: WireEvent);
    /// The server's `retry:` advice, in ms.
    fn retry(&mut self, ms: u64);
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SseOutcome {
    /// Answered, but not with `200 text/event-stream` (a proxy's error page, a 401, a 429).
    Refused {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The request failed, or the body broke off before the server ended it.
    Network(String),
    /// The server ended the stream (a shutdown, a logout).
    Ended,
    /// No `ready` within the ready timeout (a buffering proxy, a stalled connection).
    NoReady(Duration),
    /// After `ready`, no byte for the watchdog's span.
    Silent(Duration),
    /// The loop stopped it (close, a switch).
    Cancelled,
}

impl SseOutcome {
    /// A refusal that says "later" rather than "not on this path": 429, or 503 with `Retry-After`.
    pub(crate) fn throttled(&self) -> Option<Duration> {
        match self {
            SseOutcome::Refused {
                status: 429,
                retry_after,
            } => Some(retry_after.unwrap_or_default()),
            SseOutcome::Refused {
                status: 503,
                retry_after: Some(wait),
            } => Some(*wait),
            _ => None,
        }
    }

    /// For notices and logs.
    pub(crate) fn describe(&self) -> String {
        match self {
            SseOutcome::Refused { status, .. } => format!("streaming refused: HTTP {status}"),
            SseOutcome::Network(e) => format!("network: {e}"),
            SseOutcome::Ended => "the server ended the stream".to_owned(),
            SseOutcome::NoReady(t) => format!(
                "no ready within {:.1} s: a buffering proxy?",
                t.as_secs_f64()
            ),
            SseOutcome::Silent(t) => format!("no byte for {:.1} s (watchdog)", t.as_secs_f64()),
            SseOutcome::Cancelled => "stopped".to_owned(),
        }
    }
}

/// How a session ended and whether it got as far as `ready`.
#[derive(Debug, Clone)]
pub(crate) struct SessionResult {
    pub outcome: SseOutcome,
    /// The stream delivered `ready`: streaming works on this path.
    pub got_ready: bool,
}

/// Timing of one session.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionTiming {
    pub ready_timeout: Duration,
    pub watchdog_heartbeats: u32,
}

/// Hands one parsed block to the sink: `retry:` first, then `ready` or the event. A block without
/// an event name or a numeric id is not one of ours and is skipped, as is a `ready` that does not
/// parse.
pub(crate) fn interpret(block: Sse, sink: &mut impl SessionSink) {
    if let Some(ms) = block.retry {
        sink.retry(ms);
    }
    let (Some(event), Some(data)) = (block.event, block.data) else {
        return;
    };
    if event == "ready" {
        if let Ok(ready) = serde_json::from_str::<Ready>(&data) {
            sink.ready(&ready);
        }
        return;
    }
    let Some(id) = block.id.and_then(|id| id.trim().parse::<i64>().ok()) else {
        return;
    };
    sink.event(WireEvent { id, event, data });
}

/// Runs one SSE request until it ends, and reports how.
pub(crate) async fn run_session(
    http: &Rest,
    cursor: Option<i64>,
    timing: SessionTiming,
    cancel: &CancellationToken,
    sink: &mut impl SessionSink,
) -> SessionResult {
    let started = Instant::now();
    // The ready timeout covers the whole way to `ready`: connecting, headers, and the first frame.
    let mut deadline = started + timing.ready_timeout;
    let mut request = http
        .request(Method::GET, "/v1/events")
        .header(ACCEPT, "text/event-stream")
        .header(CACHE_CONTROL, "no-store");
    if let Some(cursor) = cursor {
        request = request.header("last-event-id", cursor.to_string());
    }
    let result = |outcome, got_ready| SessionResult { outcome, got_ready };

    let response = tokio::select! {
        _ = cancel.cancelled() => return result(SseOutcome::Cancelled, false),
        _ = sleep_until(deadline) => return result(SseOutcome::NoReady(timing.ready_timeout), false),
        answer = request.send() => match answer {
            Ok(response) => response,
            Err(e) => return result(SseOutcome::Network(describe(&e)), false),
        },
    };
    if response.status().as_u16() != 200 || !is_event_stream(response.headers()) {
        let outcome = SseOutcome::Refused {
            status: response.status().as_u16(),
            retry_after: retry_after(response.headers()),
        };
        return result(outcome, false);
    }

    // The watchdog counts bytes, heartbeat comments included (the parser drops comments): each
    // chunk records when it arrived, and an expired deadline first looks whether one came since.
    let last_byte_ms = Arc::new(AtomicU64::new(0));
    let bytes = {
        let last_byte_ms = last_byte_ms.clone();
        response.bytes_stream().inspect(move |_| {
            let ms = started.elapsed().as_millis() as u64;
            last_byte_ms.store(ms, Ordering::Relaxed);
        })
    };
    let mut blocks = SseByteStream::new(bytes);
    let mut watchdog: Option<Duration> = None;
    let timer = sleep_until(deadline);
    tokio::pin!(timer);
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return result(SseOutcome::Cancelled, watchdog.is_some()),
            block = blocks.next() => match block {
                None => return result(SseOutcome::Ended, watchdog.is_some()),
                Some(Err(e)) => return result(SseOutcome::Network(describe(&e)), watchdog.is_some()),
                Some(Ok(block)) => {
                    let mut ready = None;
                    interpret(block, &mut ReadyTap { inner: sink, ready: &mut ready });
                    if let Some(heartbeat_secs) = ready {
                        let span = Duration::from_secs(heartbeat_secs.max(1)) * timing.watchdog_heartbeats.max(1);
                        watchdog = Some(span);
                        deadline = Instant::now() + span;
                        timer.as_mut().reset(deadline);
                    }
                }
            },
            _ = &mut timer => {
                let Some(span) = watchdog else {
                    return result(SseOutcome::NoReady(timing.ready_timeout), false);
                };
                let last = started + Duration::from_millis(last_byte_ms.load(Ordering::Relaxed));
                if last + span > Instant::now() {
                    deadline = last + span;
                    timer.as_mut().reset(deadline);
                } else {
                    return result(SseOutcome::Silent(span), true);
                }
            }
        }
    }
}

/// Forwards to the session's sink and notes the `ready` frame's heartbeat for the watchdog.
struct ReadyTap<'a, S: SessionSink> {
    inner: &'a mut S,
    ready: &'a mut Option<u64>,
}

impl<S: SessionSink> SessionSink for ReadyTap<'_, S> {
    fn ready(&mut self, ready: &Ready) {
        *self.ready = Some(ready.heartbeat_secs);
        self.inner.ready(ready);
    }
    fn event(&mut self, event: WireEvent) {
        self.inner.event(event);
    }
    fn retry(&mut self, ms: u64) {
        self.inner.retry(ms);
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes_chunks::chunks;

    use super::*;

    #[derive(Default)]
    struct Record {
        seen: Vec<String>,
    }

    impl SessionSink for Record {
        fn ready(&mut self, ready: &Ready) {
            self.seen.push(format!(
                "ready {} hb{}",
                ready.last_event_id, ready.heartbeat_secs
            ));
        }
        fn event(&mut self, event: WireEvent) {
            self.seen
                .push(format!("{} {} {}", event.id, event.event, event.data));
        }
        fn retry(&mut self, ms: u64) {
            self.seen.push(format!("retry {ms}"));
        }
    }

    mod bytes_chunks {
        /// Splits `text` into pieces of `size` bytes, as a network might deliver it.
        pub fn chunks(text: &str, size: usize) -> Vec<Vec<u8>> {
            text.as_bytes().chunks(size).map(<[u8]>::to_vec).collect()
        }
    }

    const STREAM: &str = "retry: 200\n\nid: 5\nevent: ready\ndata: {\"last_event_id\":5,\"user_id\":2,\"heartbeat_secs\":15}\n\n:\n\nid: 6\nevent: balance:updated\ndata: {\"user_id\":2,\"balance\":145000,\"delta\":-5000,\"reason\":\"case_opened\"}\n\n: heartbeat\n\nid: 7\r\nevent: announcement\r\ndata: {\"text\":\"multi\\nline\"}\r\n\r\nevent: no-id\ndata: {}\n\nid: x\nevent: bad-id\ndata: {}\n\nid: 8\nevent: ready\ndata: not json\n\n";

    async fn parse_in_pieces(size: usize) -> Vec<String> {
        let pieces = chunks(STREAM, size)
            .into_iter()
            .map(|c| Ok::<_, Infallible>(bytes::Bytes::from(c)));
        let mut blocks = SseByteStream::new(futures_util::stream::iter(pieces));
        let mut record = Record::default();
        while let Some(block) = blocks.next().await {
            interpret(block.unwrap(), &mut record);
        }
        record.seen
    }

    #[tokio::test]
    async fn frames_parse_the_same_however_the_bytes_are_split() {
        let whole = parse_in_pieces(STREAM.len()).await;
        assert_eq!(
            whole,
            vec![
                "retry 200".to_owned(),
                "ready 5 hb15".to_owned(),
                r#"6 balance:updated {"user_id":2,"balance":145000,"delta":-5000,"reason":"case_opened"}"#.to_owned(),
                r#"7 announcement {"text":"multi\nline"}"#.to_owned(),
            ]
        );
        for size in [1, 2, 3, 7, 16, 64] {
            assert_eq!(
                parse_in_pieces(size).await,
                whole,
                "split every {size} bytes"
            );
        }
    }

    #[test]
    fn only_429_and_503_with_retry_after_are_throttling() {
        let refused = |status, retry_after| SseOutcome::Refused {
            status,
            retry_after,
        };
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(refused(429, secs(3)).throttled(), secs(3));
        assert_eq!(refused(429, None).throttled(), Some(Duration::ZERO));
        assert_eq!(refused(503, secs(2)).throttled(), secs(2));
        assert_eq!(refused(503, None).throttled(), None, "a proxy's 503 page");
        assert_eq!(refused(502, secs(2)).throttled(), None);
        assert_eq!(refused(401, None).throttled(), None);
    }
}
