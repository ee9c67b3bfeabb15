//! The load client: one raw HTTP/1.1 connection per stream, the same code against CyberHub and
//! Nchan. It decodes chunked bodies and SSE frames just enough to time each event: every published
//! event carries a marker `#SEQ#` in its data, and `balance:updated` frames are timed by name.
//!
//! Deliberately minimal (no `sse-stream` here): with ten thousand connections on a two-core machine
//! the client competes with the server for CPU, so it must cost as little as possible.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Microseconds since the Unix epoch: comparable across the bench's processes on one machine.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// One stream connection to open.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnSpec {
    /// Request path and query.
    pub path: String,
    /// Extra request header lines, each ending in `\r\n`.
    pub headers: String,
}

/// What one connection saw.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ConnStats {
    /// `(seq, receipt time in µs)` of every marked event, when receipts are kept.
    pub receipts: Vec<(u32, u64)>,
    /// Receipt times of `balance:updated` frames.
    pub balance_times: Vec<u64>,
    /// Marked events seen (also when receipts are not kept).
    pub count: u64,
    /// Marked events seen more than once.
    pub duplicates: u64,
    /// The highest marker seen, and how many distinct markers there were.
    pub max_seq: u32,
    pub distinct: u64,
    pub reconnects: u64,
    /// Receipt time of the last marked event.
    pub last_us: u64,
    /// A bit per marker seen.
    pub seen: Vec<u64>,
}

impl ConnStats {
    fn record(&mut self, seq: u32, now: u64, keep: bool) {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & (1 << bit) != 0 {
            self.duplicates += 1;
            return;
        }
        self.seen[word] |= 1 << bit;
        self.count += 1;
        self.distinct += 1;
        self.max_seq = self.max_seq.max(seq);
        self.last_us = now;
        if keep {
            self.receipts.push((seq, now));
        }
    }

    /// Whether marker `seq` was seen.
    pub fn has(&self, seq: u32) -> bool {
        self.seen
            .get((seq / 64) as usize)
            .is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }

    /// How many of `expected` were never seen.
    pub fn missing(&self, expected: impl IntoIterator<Item = u32>) -> u64 {
        expected.into_iter().filter(|seq| !self.has(*seq)).count() as u64
    }

    /// What was recorded so far; receipts are handed over (only those of `only`, if given) and
    /// cleared, the counters and the seen set are kept.
    pub fn take(&mut self, only: Option<u32>) -> ConnStats {
        let mut receipts = std::mem::take(&mut self.receipts);
        if let Some(seq) = only {
            receipts.retain(|(s, _)| *s == seq);
        }
        ConnStats {
            receipts,
            balance_times: std::mem::take(&mut self.balance_times),
            count: self.count,
            duplicates: self.duplicates,
            max_seq: self.max_seq,
            distinct: self.distinct,
            reconnects: self.reconnects,
            last_us: self.last_us,
            seen: self.seen.clone(),
        }
    }
}

/// How a connection behaves.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Behaviour {
    pub keep_receipts: bool,
    /// Reconnect after the stream ends, resuming with `Last-Event-ID`.
    pub reconnect: bool,
    /// Long-poll instead of SSE (`path` then takes `after=` appended).
    pub long_poll: bool,
    /// Make one plain request, then keep the connection open and idle (the HTTP stack's own cost).
    pub hold: bool,
}

/// Runs one stream until the process ends. Signals `connected` once the first bytes arrived.
pub async fn run(
    addr: SocketAddr,
    src: IpAddr,
    spec: ConnSpec,
    behaviour: Behaviour,
    stats: Arc<Mutex<ConnStats>>,
    connected: tokio::sync::mpsc::UnboundedSender<bool>,
) {
    let mut connected = Some(connected);
    let mut last_id: Option<String> = None;
    let mut retry_ms: u64 = 1_000;
    loop {
        let result = if behaviour.long_poll {
            long_poll(
                addr,
                src,
                &spec,
                &stats,
                &mut connected,
                &mut last_id,
                behaviour,
            )
            .await
        } else {
            sse(
                addr,
                src,
                &spec,
                &stats,
                &mut connected,
                &mut last_id,
                &mut retry_ms,
                behaviour,
            )
            .await
        };
        if let Some(tx) = connected.take() {
            let _ = tx.send(false);
        }
        if !behaviour.reconnect {
            return;
        }
        stats.lock().unwrap().reconnects += 1;
        // An orderly end carries the server's (jittered) retry hint; after a crash or a refused
        // connection, wait a random share of it, as the SDKs do (full jitter).
        let wait = match result {
            End::Hinted => retry_ms,
            End::Abrupt => rand::rng().random_range(0..=retry_ms.max(1)),
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

enum End {
    /// The server ended the stream after a `retry:` hint.
    Hinted,
    Abrupt,
}

async fn connect(addr: SocketAddr, src: IpAddr) -> std::io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(src, 0))?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[allow(clippy::too_many_arguments)]
async fn sse(
    addr: SocketAddr,
    src: IpAddr,
    spec: &ConnSpec,
    stats: &Mutex<ConnStats>,
    connected: &mut Option<tokio::sync::mpsc::UnboundedSender<bool>>,
    last_id: &mut Option<String>,
    retry_ms: &mut u64,
    behaviour: Behaviour,
) -> End {
    let Ok(mut stream) = connect(addr, src).await else {
        return End::Abrupt;
    };
    let resume = last_id
        .as_ref()
        .map(|id| format!("last-event-id: {id}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\n{}{}\r\n",
        spec.path, spec.headers, resume
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return End::Abrupt;
    }
    let mut decoder = Decoder::default();
    // Large enough that a merged write of a busy second is one read, not several.
    let mut buf = vec![0u8; 16 * 1024];
    let mut hinted = false;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return if hinted { End::Hinted } else { End::Abrupt },
            Ok(n) => n,
        };
        if let Some(tx) = connected.take() {
            let _ = tx.send(true);
        }
        let now = now_us();
        let mut stats = stats.lock().unwrap();
        decoder.feed(&buf[..n], |frame| {
            if let Some(id) = frame.id {
                // Reuses the string: this runs for every frame of every client.
                let last = last_id.get_or_insert_default();
                last.clear();
                last.push_str(id);
            }
            if let Some(retry) = frame.retry {
                *retry_ms = retry;
                hinted = frame.event.is_none() && frame.data.is_none();
            }
            if frame.event == Some("balance:updated") {
                stats.balance_times.push(now);
            }
            // Markers ride on announcements (Nchan frames have no event name); a drop feed's
            // payloads are not searched.
            if frame.event.is_none_or(|e| e == "announcement")
                && let Some(seq) = frame.data.and_then(marker)
            {
                stats.record(seq, now, behaviour.keep_receipts);
            }
        });
    }
}

async fn long_poll(
    addr: SocketAddr,
    src: IpAddr,
    spec: &ConnSpec,
    stats: &Mutex<ConnStats>,
    connected: &mut Option<tokio::sync::mpsc::UnboundedSender<bool>>,
    last_id: &mut Option<String>,
    behaviour: Behaviour,
) -> End {
    let Ok(mut stream) = connect(addr, src).await else {
        return End::Abrupt;
    };
    let mut buf = Vec::with_capacity(4096);
    loop {
        let sep = if spec.path.contains('?') { '&' } else { '?' };
        let cursor = last_id
            .as_ref()
            .map(|id| format!("{sep}after={id}"))
            .unwrap_or_default();
        let request = format!(
            "GET {}{cursor} HTTP/1.1\r\nhost: bench\r\n{}\r\n",
            spec.path, spec.headers
        );
        if stream.write_all(request.as_bytes()).await.is_err() {
            return End::Abrupt;
        }
        buf.clear();
        let Some(body) = read_response(&mut stream, &mut buf).await else {
            return End::Abrupt;
        };
        if let Some(tx) = connected.take() {
            let _ = tx.send(true);
        }
        let now = now_us();
        let answer = serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
        if behaviour.hold {
            std::future::pending::<()>().await;
        }
        let mut stats = stats.lock().unwrap();
        for event in answer["events"].as_array().into_iter().flatten() {
            if event["event"] == "balance:updated" {
                stats.balance_times.push(now);
            }
            if let Some(seq) = event["data"]["text"].as_str().and_then(marker) {
                stats.record(seq, now, behaviour.keep_receipts);
            }
        }
        *last_id = Some(answer["next"].as_i64().unwrap_or(0).to_string());
    }
}

/// Reads one `content-length` response; returns its body.
async fn read_response<'a>(stream: &mut TcpStream, buf: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).ok()?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })?
                .parse()
                .ok()?;
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(&buf[end + 4..end + 4 + length]);
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The `#SEQ#` marker in an event's data.
pub fn marker(data: &str) -> Option<u32> {
    let start = data.find('#')? + 1;
    let len = data[start..].find('#')?;
    data[start..start + len].parse().ok()
}

/// One SSE frame, borrowed from the decoder's line buffer.
pub struct Frame<'a> {
    pub id: Option<&'a str>,
    pub event: Option<&'a str>,
    pub data: Option<&'a str>,
    pub retry: Option<u64>,
}

/// Decodes an HTTP/1.1 response (head, then a chunked or close-delimited body) into SSE frames.
#[derive(Default)]
pub struct Decoder {
    state: State,
    line: Vec<u8>,
    frame: Vec<u8>,
}

#[derive(Default, PartialEq)]
enum State {
    #[default]
    Head,
    ChunkSize {
        chunked: bool,
    },
    ChunkData(usize),
    ChunkEnd,
    Plain,
}

impl Decoder {
    /// Feeds bytes; calls `on_frame` for every complete frame.
    pub fn feed(&mut self, mut bytes: &[u8], mut on_frame: impl FnMut(Frame<'_>)) {
        while !bytes.is_empty() {
            match self.state {
                State::Head => {
                    let (line, rest) = take_line(&mut self.line, bytes);
                    bytes = rest;
                    if let Some(line) = line {
                        if line.is_empty() {
                            self.state = State::ChunkSize { chunked: true };
                            if !self.frame.starts_with(b"chunked") {
                                self.state = State::Plain;
                            }
                            self.frame.clear();
                        } else if line
                            .to_ascii_lowercase()
                            .starts_with(b"transfer-encoding: chunked")
                        {
                            self.frame.extend_from_slice(b"chunked");
                        }
                    }
                }
                State::ChunkSize { .. } => {
                    let (line, rest) = take_line(&mut self.line, bytes);
                    bytes = rest;
                    if let Some(line) = line {
                        let size = std::str::from_utf8(&line)
                            .ok()
                            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                            .unwrap_or(0);
                        self.state = if size == 0 {
                            State::ChunkEnd
                        } else {
                            State::ChunkData(size)
                        };
                    }
                }
                State::ChunkData(left) => {
                    let n = left.min(bytes.len());
                    self.body(&bytes[..n], &mut on_frame);
                    bytes = &bytes[n..];
                    self.state = if n == left {
                        State::ChunkEnd
                    } else {
                        State::ChunkData(left - n)
                    };
                }
                State::ChunkEnd => {
                    let (line, rest) = take_line(&mut self.line, bytes);
                    bytes = rest;
                    if line.is_some() {
                        self.state = State::ChunkSize { chunked: true };
                    }
                }
                State::Plain => {
                    self.body(bytes, &mut on_frame);
                    bytes = &[];
                }
            }
        }
    }

    fn body(&mut self, mut bytes: &[u8], on_frame: &mut impl FnMut(Frame<'_>)) {
        while !bytes.is_empty() {
            // A frame ends at a blank line; the two newlines may straddle reads.
            let end = if self.frame.last() == Some(&b'\n') && bytes[0] == b'\n' {
                Some(0)
            } else {
                memchr::memmem::find(bytes, b"\n\n").map(|i| i + 1)
            };
            let Some(end) = end else {
                self.frame.extend_from_slice(bytes);
                return;
            };
            if self.frame.is_empty() {
                parse_frame(&bytes[..=end], on_frame);
            } else {
                self.frame.extend_from_slice(&bytes[..=end]);
                parse_frame(&self.frame, on_frame);
                self.frame.clear();
            }
            bytes = &bytes[end + 1..];
        }
    }
}

fn parse_frame(raw: &[u8], on_frame: &mut impl FnMut(Frame<'_>)) {
    let Ok(text) = std::str::from_utf8(raw) else {
        return;
    };
    let mut frame = Frame {
        id: None,
        event: None,
        data: None,
        retry: None,
    };
    for line in text.split('\n') {
        if let Some(v) = line.strip_prefix("id:") {
            frame.id = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("event:") {
            frame.event = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("data:") {
            frame.data = Some(v.trim());
        } else if let Some(v) = line.strip_prefix("retry:") {
            frame.retry = v.trim().parse().ok();
        }
    }
    on_frame(frame);
}

/// Appends to `pending` up to a `\n`; returns the complete line (without `\r\n`) and the rest.
fn take_line<'a>(pending: &mut Vec<u8>, bytes: &'a [u8]) -> (Option<Vec<u8>>, &'a [u8]) {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => {
            pending.extend_from_slice(&bytes[..i]);
            let mut line = std::mem::take(pending);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            (Some(line), &bytes[i + 1..])
        }
        None => {
            pending.extend_from_slice(bytes);
            (None, &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunked_sse_split_anywhere() {
        let body = "retry: 2000\n\nid: 4\nevent: announcement\ndata: {\"text\":\"#7#\"}\n\n:\n\n";
        let raw = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n",
            body.len()
        );
        for split in 1..raw.len() {
            let mut decoder = Decoder::default();
            let mut seen = Vec::new();
            for part in [&raw.as_bytes()[..split], &raw.as_bytes()[split..]] {
                decoder.feed(part, |f| {
                    seen.push((f.id.map(str::to_owned), f.data.and_then(marker), f.retry))
                });
            }
            assert_eq!(
                seen,
                vec![
                    (None, None, Some(2000)),
                    (Some("4".into()), Some(7), None),
                    (None, None, None)
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn counts_duplicates_and_gaps() {
        let mut stats = ConnStats::default();
        for seq in [1, 2, 2, 4] {
            stats.record(seq, 0, false);
        }
        assert_eq!(
            (stats.count, stats.duplicates, stats.missing(1..=4)),
            (3, 1, 1)
        );
    }
}
