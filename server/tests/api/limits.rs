//! The per-client limits on streams, polls and writes: over a limit the answer is at once a 429 (or
//! 503 for the server-wide caps) with `Retry-After` and the JSON error body, and nothing changes.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;

fn rules(s: &str) -> cyberhub_server::limits::RateRules {
    s.parse().unwrap()
}

/// `GET /v1/events` from the loopback address `source`, answered or refused.
async fn open_stream(app: &TestApp, source: &str, token: Option<&str>) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .local_address(Some(source.parse().unwrap()))
        .build()
        .unwrap();
    let mut req = http.get(app.url("/v1/events"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

async fn assert_refused(res: reqwest::Response, status: StatusCode, code: &str) {
    assert!(
        res.headers().contains_key("retry-after"),
        "{:?}",
        res.headers()
    );
    assert_error(res, status, code).await;
}

#[tokio::test]
async fn stream_opens_are_limited_per_address_and_per_user() {
    let app = spawn_app_with(|c| {
        c.stream_rate_ip = rules("3/1m");
        c.stream_rate_user = rules("2/1m");
    })
    .await;
    let (_, token) = app.new_user("alice").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let res = open_stream(&app, "127.0.0.2", None).await;
        assert_eq!(res.status(), StatusCode::OK);
        open.push(res);
    }
    assert_refused(
        open_stream(&app, "127.0.0.2", None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // Another address has its own budget; alice's own is two.
    for _ in 0..2 {
        let res = open_stream(&app, "127.0.0.3", Some(&token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        open.push(res);
    }
    assert_refused(
        open_stream(&app, "127.0.0.4", Some(&token)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn a_user_holds_at_most_their_share_of_open_streams() {
    let app = spawn_app_with(|c| c.max_streams_per_user = 2).await;
    let (_, token) = app.new_user("alice").await;
    let first = app.stream(Some(&token), None).await;
    let _second = app.stream(Some(&token), None).await;
    let third = app
        .streams
        .get(app.url("/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_refused(third, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
    let polled = app.poll(Some(&token), "after=0&timeout=1").await;
    assert_refused(polled, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
    // Anonymous streams are not hers.
    let _anon = app.stream(None, None).await;
    // Closing one makes room.
    drop(first);
    let mut opened = false;
    for _ in 0..50 {
        let res = app
            .streams
            .get(app.url("/v1/events"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::OK {
            opened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(opened, "a closed stream frees its place");
}

#[tokio::test]
async fn waiting_polls_are_capped_in_all() {
    let app = spawn_app_with(|c| c.max_poll_waiters = 2).await;
    let head = app.committed_head().await;
    let query = format!("/v1/events/poll?after={head}&timeout=5");
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let (http, url) = (app.streams.clone(), app.url(&query));
            tokio::spawn(async move { http.get(url).send().await.unwrap().status() })
        })
        .collect();
    app.wait_for_clients(0, 2).await;
    let refused = app.streams.get(app.url(&query)).send().await.unwrap();
    assert_refused(refused, StatusCode::SERVICE_UNAVAILABLE, "server_full").await;
    app.announce("wake up").await;
    for poll in waiting {
        assert_eq!(poll.await.unwrap(), StatusCode::OK);
    }
}

#[tokio::test]
async fn openings_over_the_write_limit_are_refused_and_change_nothing() {
    let app = spawn_app_with(|c| c.write_rate_user = rules("2/1m")).await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 10_000).await;
    let case = app.simple_case(1_000, 300).await;
    for _ in 0..2 {
        assert_eq!(
            app.open_case(&token, case.id).await.status(),
            StatusCode::OK
        );
    }
    let head = app.committed_head().await;
    assert_refused(
        app.open_case(&token, case.id).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    let item = app.inventory(&token).await[0].id;
    assert_refused(
        app.sell(&token, item).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert_eq!(app.balance(&token).await, 8_000);
    assert_eq!(app.inventory(&token).await.len(), 2);
    assert_eq!(app.committed_head().await, head);
}
