use std::time::{Duration, Instant};

use cyberhub_protocol::PollResponse;
use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::raw::{head_and_body, read_response, read_until};

fn ids(frames: &[Frame]) -> Vec<i64> {
    frames
        .iter()
        .map(|f| f.id.expect("events carry ids"))
        .collect()
}

fn names(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| f.event.as_str()).collect()
}

#[tokio::test]
async fn a_stream_starts_with_retry_and_ready_and_tells_proxies_not_to_buffer() {
    let app = spawn_app().await;
    let head = app.announce("before").await;
    let res = app.streams.get(app.url("/v1/events")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["cache-control"], "no-cache, no-transform");
    assert_eq!(h["x-accel-buffering"], "no");
    // The first chunk arrives at once, before any event happens.
    let mut body = res.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(2), body.next())
        .await
        .expect("flushed at once")
        .unwrap()
        .unwrap();
    let text = String::from_utf8(first.to_vec()).unwrap();
    assert!(text.starts_with("retry: 2000\n\n"), "{text}");
    let ready = format!("id: {head}\nevent: ready\ndata: {{\"last_event_id\":{head},");
    assert!(text.contains(&ready), "{text}");
}

#[tokio::test]
async fn each_stream_gets_the_global_events_and_only_its_own_users_events_in_order() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.new_user("alice").await;
    let (_, bob_token) = app.new_user("bob").await;
    app.fund(alice.id, 5_000).await;
    let case = app.simple_case(1_000, 300).await;

    let mut alice_stream = app.stream(Some(&alice_token), None).await;
    let mut bob_stream = app.stream(Some(&bob_token), None).await;
    let mut anon_stream = app.stream(None, None).await;
    let ready = alice_stream.next().await;
    assert_eq!(
        (ready.event.as_str(), ready.data["user_id"].as_i64()),
        ("ready", Some(alice.id))
    );
    assert_eq!(bob_stream.next().await.event, "ready");
    assert!(anon_stream.next().await.data.get("user_id").is_none());

    app.open_case(&alice_token, case.id).await;
    app.announce("hello everyone").await;

    let alice_frames = alice_stream.take(4).await;
    assert_eq!(
        names(&alice_frames),
        [
            "balance:updated",
            "inventory:updated",
            "drop:new",
            "announcement"
        ]
    );
    assert!(ids(&alice_frames).windows(2).all(|w| w[0] < w[1]));
    assert_eq!(alice_frames[0].data["balance"], 4_000);
    assert_eq!(alice_frames[2].data["username"], "alice");

    for stream in [&mut bob_stream, &mut anon_stream] {
        let frames = stream.take(2).await;
        assert_eq!(names(&frames), ["drop:new", "announcement"]);
        assert_eq!(ids(&frames), ids(&alice_frames[2..]));
        stream.assert_quiet(Duration::from_millis(300)).await;
    }
    alice_stream.assert_quiet(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn resuming_replays_exactly_the_missed_events_then_continues_live() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    let (bob, _) = app.new_user("bob").await;
    let mut stream = app.stream(Some(&token), None).await;
    stream.next().await;
    app.fund(alice.id, 1_000).await;
    let last_seen = stream.next().await.id.unwrap();
    drop(stream);

    // Missed while away: two of alice's events, one of bob's, one global.
    app.fund(alice.id, 1).await;
    app.fund(bob.id, 1).await;
    app.announce("while you were away").await;
    app.fund(alice.id, 2).await;

    let mut stream = app.stream(Some(&token), Some(last_seen)).await;
    assert_eq!(
        stream.next().await.id,
        Some(last_seen),
        "ready carries the cursor"
    );
    let missed = stream.take(3).await;
    assert_eq!(
        names(&missed),
        ["balance:updated", "announcement", "balance:updated"]
    );
    assert_eq!(
        (
            missed[0].data["delta"].as_i64(),
            missed[2].data["delta"].as_i64()
        ),
        (Some(1), Some(2))
    );
    assert!(
        missed
            .iter()
            .all(|f| f.data.get("user_id").is_none_or(|u| u == alice.id))
    );

    let live_id = app.announce("live again").await;
    let live = stream.next().await;
    assert_eq!(
        (live.id, live.event.as_str()),
        (Some(live_id), "announcement")
    );
    stream.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn the_query_parameter_resumes_like_the_header() {
    let app = spawn_app().await;
    let first = app.announce("one").await;
    let second = app.announce("two").await;
    let res = app
        .streams
        .get(app.url(&format!("/v1/events?last_event_id={first}")))
        .send()
        .await
        .unwrap();
    let mut stream = EventStreamExt::from(res);
    assert_eq!(stream.next().await.event, "ready");
    assert_eq!(stream.next().await.id, Some(second));
}

#[tokio::test]
async fn resume_works_across_a_server_restart_on_the_same_database() {
    let mut app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    let mut stream = app.stream(Some(&token), None).await;
    stream.next().await;
    let seen = app.announce("before restart").await;
    assert_eq!(stream.next().await.id, Some(seen));

    app.restart().await;
    let retry_frames = stream.drain_to_end().await;
    assert!(
        retry_frames.is_empty(),
        "the stream ends cleanly on shutdown"
    );
    app.fund(alice.id, 700).await;
    app.announce("after restart").await;

    let mut stream = app.stream(Some(&token), Some(seen)).await;
    stream.next().await;
    let missed = stream.take(2).await;
    assert_eq!(names(&missed), ["balance:updated", "announcement"]);
    assert_eq!(missed[0].data["balance"], 700);
    stream.assert_quiet(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn events_committed_while_the_replay_runs_are_neither_lost_nor_repeated() {
    // Memory holds only the newest 100 events, so the replay reads most pages from the table.
    let app = spawn_app_with(|c| c.replay_memory_events = 100).await;
    // More than one replay page, written straight to the database file.
    let store = cyberhub_server::store::Store::open(&app.config.database_url)
        .await
        .unwrap();
    for i in 0..1_200 {
        store.announce(&format!("old {i}")).await.unwrap();
    }
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            for i in 0..300 {
                store.announce(&format!("new {i}")).await.unwrap();
                if i % 20 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }
    });
    let mut stream = app.stream(None, Some(0)).await;
    assert_eq!(stream.next().await.event, "ready");
    let frames = stream.take(1_500).await;
    writer.await.unwrap();
    assert_eq!(ids(&frames), (1..=1_500).collect::<Vec<i64>>());
    stream.assert_quiet(Duration::from_millis(1_500)).await;
}

#[tokio::test]
async fn the_session_cookie_authenticates_the_stream() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    let res = app
        .streams
        .get(app.url("/v1/events"))
        .header("cookie", format!("theme=dark; cyberhub_session={token}"))
        .send()
        .await
        .unwrap();
    let mut stream = EventStreamExt::from(res);
    assert_eq!(stream.next().await.data["user_id"], alice.id);
    app.fund(alice.id, 42).await;
    assert_eq!(stream.next().await.event, "balance:updated");
}

#[tokio::test]
async fn bad_tokens_and_cursors_are_refused() {
    let app = spawn_app().await;
    let res = app
        .streams
        .get(app.url("/v1/events"))
        .bearer_auth("bogus")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let res = app
        .streams
        .get(app.url("/v1/events"))
        .header("cookie", "cyberhub_session=bogus")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    for bad in ["abc", "-1", "1.5"] {
        let res = app
            .streams
            .get(app.url("/v1/events"))
            .header("last-event-id", bad)
            .send()
            .await
            .unwrap();
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_last_event_id").await;
        assert_error(
            app.poll(None, &format!("after={bad}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_last_event_id",
        )
        .await;
    }
    assert_error(
        app.poll(None, "after=1&timeout=soon").await,
        StatusCode::BAD_REQUEST,
        "invalid_timeout",
    )
    .await;
}

#[tokio::test]
async fn heartbeat_comments_keep_an_idle_stream_alive() {
    let app = spawn_app_with(|c| c.heartbeat_secs = 1).await;
    let res = app.streams.get(app.url("/v1/events")).send().await.unwrap();
    let mut body = res.bytes_stream();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(4);
    while !seen.contains(":\n\n") && Instant::now() < deadline {
        if let Ok(Some(Ok(chunk))) =
            tokio::time::timeout(Duration::from_millis(500), body.next()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert!(
        seen.contains("\n:\n\n") || seen.contains(":\n\n"),
        "no heartbeat in {seen:?}"
    );
}

#[tokio::test]
async fn a_viewers_own_event_cuts_the_linger_short_and_takes_the_waiting_ones_along() {
    let app = spawn_app_with(|c| c.stream_linger_ms = 4_000).await;
    let (user, token) = app.new_user("lingerer").await;
    let mut stream = app.stream(Some(&token), None).await;
    assert_eq!(stream.next().await.event, "ready");
    app.announce("first").await;
    assert_eq!(
        stream.next().await.data["text"],
        "first",
        "after a quiet spell: at once"
    );

    app.announce("second").await;
    stream.assert_quiet(Duration::from_millis(500)).await;
    let adjusted = Instant::now();
    assert_eq!(
        app.adjust_balance(user.id, 100).await.status(),
        StatusCode::OK
    );
    let frames = stream.take(2).await;
    assert_eq!(names(&frames), ["announcement", "balance:updated"]);
    assert_eq!(frames[0].data["text"], "second");
    assert!(
        adjusted.elapsed() < Duration::from_secs(2),
        "the balance waited for the 4 s window: {:?}",
        adjusted.elapsed()
    );
}

#[tokio::test]
async fn shutdown_ends_streams_with_a_jittered_retry_hint() {
    let mut app = spawn_app_with(|c| {
        c.retry_ms = 1_000;
        c.shutdown_retry_spread_ms = 5_000;
    })
    .await;
    let mut streams = Vec::new();
    for _ in 0..8 {
        let mut stream = app.stream(None, None).await;
        stream.next().await;
        streams.push(stream);
    }
    app.stop().await;
    let mut hints = Vec::new();
    for stream in &mut streams {
        assert!(stream.drain_to_end().await.is_empty());
        let retry = stream.retry.expect("a final retry hint");
        assert!((1_000..=6_000).contains(&retry), "{retry}");
        hints.push(retry);
    }
    hints.sort();
    hints.dedup();
    assert!(
        hints.len() > 1,
        "hints are spread, not identical: {hints:?}"
    );
}

#[tokio::test]
async fn resuming_from_before_retention_requires_a_resync() {
    let app = spawn_app_with(|c| {
        c.retention_max_events = 5;
        c.prune_interval_secs = 1;
    })
    .await;
    let mut last = 0;
    for i in 0..20 {
        last = app.announce(&format!("n{i}")).await;
    }
    // The next retention run (every second) keeps the newest five.
    eventually(Duration::from_secs(5), "a retention run", || async {
        app.sql_value("SELECT MIN(id) FROM events").await == Some(last - 4)
    })
    .await;

    let mut stream = app.stream(None, Some(1)).await;
    let ready = stream.next().await;
    assert_eq!(ready.event, "ready");
    let sync = stream.next().await;
    assert_eq!(sync.event, "sync:required");
    assert_eq!(
        (sync.data["reason"].as_str(), sync.id),
        (Some("expired"), Some(last))
    );
    let next = app.announce("fresh").await;
    assert_eq!(stream.next().await.id, Some(next));

    let polled: PollResponse = app.poll(None, "after=1").await.json().await.unwrap();
    assert_eq!(polled.events.len(), 1);
    assert_eq!(polled.events[0].event.name(), "sync:required");
    assert_eq!(polled.next, next);

    // A cursor inside the retained window still replays normally.
    let mut stream = app.stream(None, Some(last - 2)).await;
    stream.next().await;
    assert_eq!(ids(&stream.take(3).await), vec![last - 1, last, next]);
}

#[tokio::test]
async fn a_cursor_from_the_future_requires_a_resync() {
    let app = spawn_app().await;
    let head = app.announce("only event").await;
    let mut stream = app.stream(None, Some(head + 1_000)).await;
    stream.next().await;
    let sync = stream.next().await;
    assert_eq!(
        (sync.event.as_str(), sync.data["reason"].as_str(), sync.id),
        ("sync:required", Some("ahead"), Some(head))
    );
    let polled: PollResponse = app
        .poll(None, &format!("after={}", head + 1_000))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (polled.events[0].event.name(), polled.next),
        ("sync:required", head)
    );
}

#[tokio::test]
async fn long_poll_answers_at_once_when_events_are_waiting() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    let (bob, bob_token) = app.new_user("bob").await;
    app.fund(alice.id, 100).await;
    app.fund(bob.id, 100).await;
    let announced = app.announce("hi").await;

    let started = Instant::now();
    let polled: PollResponse = app
        .poll(Some(&token), "after=0&timeout=20")
        .await
        .json()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let names: Vec<&str> = polled.events.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        names,
        ["balance:updated", "announcement"],
        "alice sees hers and the global one, not bob's"
    );
    assert_eq!(polled.next, announced);

    let bobs: PollResponse = app
        .poll(Some(&bob_token), "after=0&timeout=20")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        bobs.events
            .iter()
            .all(|e| e.event.user_id().is_none_or(|u| u == bob.id))
    );
}

#[tokio::test]
async fn long_poll_waits_for_the_next_event_or_the_timeout() {
    let app = spawn_app().await;
    let head = app.announce("start").await;

    let started = Instant::now();
    let empty: PollResponse = app
        .poll(None, &format!("after={head}&timeout=1"))
        .await
        .json()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(empty.events.is_empty());
    assert_eq!(empty.next, head);
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    let query = format!("after={head}&timeout=20");
    let waiting = app.poll(None, &query);
    let publish = async {
        app.wait_for_clients(0, 1).await;
        app.announce("wake up").await
    };
    let started = Instant::now();
    let (res, id) = tokio::join!(waiting, publish);
    let polled: PollResponse = res.json().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(polled.events.len(), 1);
    assert_eq!((polled.events[0].id, polled.next), (id, id));
}

#[tokio::test]
async fn long_poll_without_a_cursor_answers_at_once_with_the_current_one() {
    let app = spawn_app().await;
    let head = app.announce("x").await;
    let started = Instant::now();
    let polled: PollResponse = app.poll(None, "timeout=20").await.json().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(polled.events.is_empty());
    assert_eq!(polled.next, head);
}

/// Wraps a raw response from a test that needed custom headers.
struct EventStreamExt;

impl EventStreamExt {
    #[allow(clippy::new_ret_no_self)]
    fn from(res: reqwest::Response) -> EventStream {
        assert_eq!(res.status(), StatusCode::OK);
        EventStream::from_response(res)
    }
}

#[tokio::test]
async fn a_stream_is_the_same_on_the_fast_path_and_on_a_kept_alive_connection() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 100).await;
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\nlast-event-id: 0\r\n\r\n"
    );

    // The stream as the first request of its connection: the fast path.
    let mut fast = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    fast.write_all(request.as_bytes()).await.unwrap();
    let mut fast_raw = Vec::new();
    read_until(&mut fast, &mut fast_raw, "\"test funding\"}\n\n").await;

    // The stream after another request on a kept-alive connection: hyper and the axum route.
    let mut kept = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut health = Vec::new();
    read_until(&mut kept, &mut health, "\"version\"").await;
    read_until(&mut kept, &mut health, "}").await;
    kept.write_all(request.as_bytes()).await.unwrap();
    let mut kept_raw = Vec::new();
    read_until(&mut kept, &mut kept_raw, "\"test funding\"}\n\n").await;

    let (fast_head, fast_body) = head_and_body(&fast_raw);
    let (kept_head, kept_body) = head_and_body(&kept_raw);
    assert_eq!(fast_head, kept_head);
    assert_eq!(fast_body, kept_body);
    assert!(
        fast_body.starts_with("retry: 2000\n\nid: 0\nevent: ready\n"),
        "{fast_body}"
    );
    assert_eq!(app.health().await.sse_clients, 2);
}

#[tokio::test]
async fn long_polls_are_the_same_on_the_fast_path_and_on_a_kept_alive_connection() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 100).await;
    let poll = format!(
        "GET /v1/events/poll?after=0&timeout=5 HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\n\r\n"
    );

    // Long-polls as the first requests of a connection: the fast path, request after request.
    let mut fast = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    fast.write_all(poll.as_bytes()).await.unwrap();
    let (fast_head, fast_body) = read_response(&mut fast).await;

    // The same poll after another request on a kept-alive connection: hyper and the axum route.
    let mut kept = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    read_response(&mut kept).await;
    kept.write_all(poll.as_bytes()).await.unwrap();
    let (kept_head, kept_body) = read_response(&mut kept).await;

    assert_eq!(fast_head, kept_head);
    assert_eq!(fast_body, kept_body);
    assert!(
        fast_body.contains(r#""event":"balance:updated""#),
        "{fast_body}"
    );

    // A second poll on the fast connection waits for the next event and gets it.
    let next: PollResponse = serde_json::from_str(&fast_body).unwrap();
    let wait = format!(
        "GET /v1/events/poll?after={}&timeout=5 HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\n\r\n",
        next.next
    );
    fast.write_all(wait.as_bytes()).await.unwrap();
    let announced = app.announce("while polling").await;
    let (_, body) = read_response(&mut fast).await;
    let polled: PollResponse = serde_json::from_str(&body).unwrap();
    assert_eq!(
        polled.events.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![announced]
    );

    // Anything else on that connection is answered by the router as usual.
    fast.write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = read_response(&mut fast).await;
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(body.contains(r#""status":"ok""#), "{body}");
}

#[tokio::test]
async fn a_cursor_further_behind_than_a_replay_may_reach_gets_sync_required() {
    let app = spawn_app_with(|c| c.replay_max_events = 5).await;
    for i in 0..10 {
        app.announce(&format!("a{i}")).await;
    }
    let head = app.committed_head().await;
    let mut far = app.stream(None, Some(0)).await;
    assert_eq!(far.next().await.event, "ready");
    let sync = far.next().await;
    assert_eq!(sync.event, "sync:required");
    assert_eq!(sync.data["reason"], "too_far_behind");
    assert_eq!(sync.data["last_event_id"], head);
    far.assert_quiet(Duration::from_millis(200)).await;

    // Within reach, the replay is exact.
    let mut near = app.stream(None, Some(head - 3)).await;
    assert_eq!(near.next().await.event, "ready");
    assert_eq!(ids(&near.take(3).await), [head - 2, head - 1, head]);

    let polled: PollResponse = app.poll(None, "after=0").await.json().await.unwrap();
    assert_eq!(polled.events.len(), 1);
    assert_eq!(polled.next, head);
}

#[tokio::test]
async fn a_replay_does_not_wait_out_the_linger_between_pages() {
    // 1,200 missed events are three replay pages; with a 10 s linger between writes they would take
    // twenty seconds to arrive if a catching-up stream lingered like a flooded one. (The bound
    // leaves room for a busy machine: the replay itself takes well under a second.)
    let app = spawn_app_with(|c| c.stream_linger_ms = 10_000).await;
    let from = app.committed_head().await;
    let publishes = (0..1_200).map(|i| {
        let app = &app;
        async move { app.announce(&format!("missed {i}")).await }
    });
    futures_util::future::join_all(publishes).await;
    // The hub publishes the commits a moment after they are answered; a stream opened before that
    // would take the last of them live (and lingering) rather than from the replay.
    let head = app.committed_head().await;
    eventually(
        Duration::from_secs(5),
        "the hub to publish the burst",
        || async { app.health().await.last_event_id >= head },
    )
    .await;
    let started = Instant::now();
    let mut stream = app.stream(None, Some(from)).await;
    assert_eq!(stream.next().await.event, "ready");
    let frames = stream.take(1_200).await;
    assert!(ids(&frames).windows(2).all(|w| w[0] < w[1]));
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the replay took {:?}",
        started.elapsed()
    );
}
