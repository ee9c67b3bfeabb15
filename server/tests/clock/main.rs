//! The wall clock stepping back or forward under a running server (an NTP step, a clock set right,
//! a VM restored from a snapshot), through libfaketime (Debian's `libfaketime`), which moves the
//! process's wall clock while its monotonic clock runs on, as a real step does. Durations run on
//! the monotonic clock (rate limits, the session cache, timeouts); points in time shared with the
//! database or other nodes are wall time (a session's end, a mute's, a drop's reveal), so a step
//! moves them by at most the step, and no event is lost or held back by it.

#[path = "../support/database.rs"]
mod database;
#[path = "../support/server.rs"]
mod server;
#[path = "../support/sse.rs"]
mod sse;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use database::TestDatabase;
use server::Server;
use sse::EventStream;

const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The server under libfaketime, and the file that says how far its wall clock is off.
struct Stepped {
    server: Server,
    offset: PathBuf,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Stepped {
    async fn start(args: &[&str]) -> Stepped {
        assert!(
            Path::new(LIBFAKETIME).exists(),
            "no {LIBFAKETIME}: apt-get install libfaketime (scripts/test-deps.sh does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let offset = dir.path().join("offset");
        std::fs::write(&offset, "+0\n").unwrap();
        let server = Server::start_with_env(
            TestDatabase::create().await,
            &["serve", "--demo", "--demo-activity", "off"],
            args,
            "info",
            &[
                ("LD_PRELOAD", LIBFAKETIME),
                ("FAKETIME_TIMESTAMP_FILE", offset.to_str().unwrap()),
                // Read the file on every call, so a step takes effect at once.
                ("FAKETIME_NO_CACHE", "1"),
                // Only the wall clock steps; the monotonic clock runs on, as on a real machine.
                ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
            ],
        );
        Stepped {
            server,
            offset,
            _dir: dir,
            http: reqwest::Client::new(),
        }
    }

    /// Sets the wall clock `offset` from the real one (libfaketime's syntax: `-1h`, `+2m`, `+0`).
    fn step(&self, offset: &str) {
        std::fs::write(&self.offset, format!("{offset}\n")).unwrap();
    }

    async fn token(&self) -> String {
        self.server.token(&self.http, "alice", "alice-demo-1").await
    }

    async fn stream(&self, token: &str, after: Option<i64>) -> EventStream {
        EventStream::open(
            &self.http,
            &self.server.url("/v1/events"),
            Some(token),
            after,
        )
        .await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(self.server.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// Reads the events of one opening (balance, inventory, and its drop once revealed); returns
/// their ids and how long the drop took.
async fn opening_events(stream: &mut EventStream, opened_at: Instant) -> (Vec<i64>, Duration) {
    let mut ids = Vec::new();
    for name in ["balance:updated", "inventory:updated", "drop:new"] {
        ids.push(stream.next_named(name).await.id.unwrap());
    }
    (ids, opened_at.elapsed())
}

#[tokio::test]
async fn steps_of_the_wall_clock_lose_no_event_and_hold_no_drop_back_by_the_step() {
    let clock = Stepped::start(&["--drop-reveal-ms", "1000"]).await;
    let token = clock.token().await;
    let mut stream = clock.stream(&token, None).await;
    let mut seen = Vec::new();

    // A step back while a drop waits for its reveal: it goes out when its delay is over, not an
    // hour later.
    let opened_at = Instant::now();
    let (status, _) = clock.post(&token, "/v1/cases/1/open", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    clock.step("-1h");
    let (ids, took) = opening_events(&mut stream, opened_at).await;
    assert!(
        took < Duration::from_secs(5),
        "the drop came after {took:?}"
    );
    seen.extend(ids);

    // Openings go on, on either side of the real time, each with its events once, in order.
    for offset in ["-1h", "+1h", "+0"] {
        clock.step(offset);
        let opened_at = Instant::now();
        let (status, body) = clock.post(&token, "/v1/cases/1/open", Value::Null).await;
        assert_eq!(status, StatusCode::OK, "at {offset}: {body}");
        let (ids, took) = opening_events(&mut stream, opened_at).await;
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "at {offset}: the drop came after {took:?}"
        );
        seen.extend(ids);
    }
    let more = stream.drain_until_quiet(Duration::from_millis(1_500)).await;
    assert!(more.is_empty(), "nothing twice: {more:?}");
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seen.len(), sorted.len(), "each event once: {seen:?}");
    // A stream opened now from before the first opening replays the same events (drops each
    // after its opening's own events), whatever the clock said when each was written.
    let mut replay = clock.stream(&token, Some(seen[0] - 1)).await;
    let replayed: Vec<i64> = replay
        .take(seen.len())
        .await
        .iter()
        .map(|f| f.id.unwrap())
        .collect();
    assert_eq!(replayed, sorted);
}

#[tokio::test]
async fn a_forward_step_ends_a_session_that_is_past_its_end_at_once() {
    let clock = Stepped::start(&["--session-ttl-secs", "60"]).await;
    let token = clock.token().await;
    let me = || {
        clock
            .http
            .get(clock.server.url("/v1/me"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(
        me().await.unwrap().status(),
        StatusCode::OK,
        "fresh and cached"
    );
    let mut stream = clock.stream(&token, None).await;

    // Two minutes on: the session's end has passed. Neither the cache (which keeps sessions on
    // the monotonic clock) nor an open stream lets it live on.
    clock.step("+2m");
    assert_eq!(me().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let waited = Instant::now();
    let ended = stream.drain_to_end().await;
    assert!(
        waited.elapsed() < Duration::from_secs(4),
        "the stream ended: {ended:?}"
    );
}

#[tokio::test]
async fn rate_limits_run_on_the_monotonic_clock_so_a_step_neither_refills_nor_locks_out() {
    let clock = Stepped::start(&["--chat-rate", "2/3s"]).await;
    let token = clock.token().await;
    let mut n = 0;
    let mut send = || {
        n += 1;
        clock.post(
            &token,
            "/v1/chat/messages",
            serde_json::json!({ "text": format!("message {n}") }),
        )
    };
    assert_eq!(send().await.0, StatusCode::CREATED);
    assert_eq!(send().await.0, StatusCode::CREATED);
    assert_eq!(send().await.0, StatusCode::TOO_MANY_REQUESTS);
    clock.step("+1h");
    assert_eq!(
        send().await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "an hour on the wall is not time passed"
    );
    clock.step("-1h");
    assert_eq!(send().await.0, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(
        send().await.0,
        StatusCode::CREATED,
        "refilled by the real time passed, with the wall an hour back"
    );
}

#[tokio::test]
async fn a_forward_step_past_retention_tells_a_resuming_client_instead_of_skipping_silently() {
    let clock = Stepped::start(&[
        "--retention-max-age-secs",
        "3600",
        "--prune-interval-secs",
        "1",
    ])
    .await;
    let token = clock.token().await;
    let mut stream = clock.stream(&token, None).await;
    let (status, _) = clock.post(&token, "/v1/cases/1/open", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let first = stream.next_named("balance:updated").await.id.unwrap();

    // Two hours on, retention takes every event older than an hour: a client resuming from
    // before them is told to refetch.
    clock.step("+2h");
    let health = || clock.server.health(&clock.http);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut resumed = loop {
        let mut resumed = clock.stream(&token, Some(first - 1)).await;
        let frame = resumed.next().await;
        if frame.event == "sync:required" {
            assert_eq!(frame.data["reason"], "expired", "{frame:?}");
            break resumed;
        }
        assert!(
            Instant::now() < deadline,
            "retention never ran: {}",
            health().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // And it goes on from there with what comes next.
    let (status, _) = clock.post(&token, "/v1/cases/1/open", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert!(resumed.next_named("balance:updated").await.id.unwrap() > first);
}
