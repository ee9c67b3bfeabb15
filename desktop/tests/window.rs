//! `cyberhub-desk` as a member sees it: the real app in a real window under Xvfb (Mesa's software
//! GL), against the real server on loopback with its own SQLite file. What the window shows is
//! read back from the app's state file, written from the model in the frame that draws it, and
//! from a screenshot.
//!
//! Needs `target/debug/cyberhub` (`cargo build -p cyberhub-server`), Node for the proxy, and Xvfb
//! and ImageMagick (`scripts/test-deps.sh`).
#![cfg(target_os = "linux")]

mod support;

use std::time::Duration;

use support::server::Proxy;
use support::{Desk, Display, SignIn, TestServer, colour, member, now_ms, png_facts};

/// Signed in from the environment, the window shows the member's balance as the API has it, and
/// a screenshot shows the window; an opening made through the API moves the balance in the window
/// within a second.
#[tokio::test]
async fn signs_in_and_the_balance_follows_openings_within_a_second() {
    let server = TestServer::start(&[]).await;
    let (user, api) = member(&server, "desk_member", 200_000).await;
    let display = Display::start(1280, 800);
    let mut desk = Desk::start(
        &display,
        &server.url,
        SignIn::Credentials("desk_member", "desk_member-pass-1"),
        &["--lang", "ru"],
    );

    let shown = desk
        .wait_for(
            "the member, the cases and a green indicator",
            Duration::from_secs(20),
            |s| s["user"] == "desk_member" && s["counts"]["cases"] == 3 && colour(s) == "green",
        )
        .await;
    let balance = api.me().await.expect("me").balance;
    assert_eq!(balance, user.balance);
    assert_eq!(shown["balance"], balance, "{shown}");
    assert_eq!(shown["balance_text"], "2\u{a0}000,00\u{a0}₽", "{shown}");
    assert_eq!(shown["lang"], "ru");

    // The sign-in is kept for the next run, readable by the user alone.
    let token = std::fs::read_to_string(desk.token_file()).expect("the token file");
    assert!(!token.trim().is_empty());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(desk.token_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "token file mode {mode:o}");
    }

    let screenshot = support::keep_path("desk-window.png");
    display.screenshot(&screenshot).await;
    let (width, height, colours) = png_facts(&screenshot);
    assert_eq!((width, height), display.size, "{}", screenshot.display());
    // A blank (or black) screen has one or two colours; the window has text in many shades.
    assert!(
        colours > 200,
        "{} has only {colours} colours",
        screenshot.display()
    );
    println!(
        "screenshot: {} ({width}x{height}, {colours} colours)",
        screenshot.display()
    );

    let mut latencies = Vec::new();
    for _ in 0..8 {
        let opened = api.open_case(1).await.expect("open case 1");
        // The opening is committed once the call returns.
        let committed = now_ms();
        let state = desk
            .wait_for(
                "the balance after the opening",
                Duration::from_secs(1),
                |s| s["balance"] == opened.balance,
            )
            .await;
        let latency = state["painted_at_ms"].as_f64().unwrap() - committed;
        assert!(latency < 1000.0, "the balance moved after {latency:.0} ms");
        latencies.push(latency);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "opening committed -> repaint showing the balance, ms: {latencies:.0?} (median {:.0})",
        latencies[latencies.len() / 2]
    );
}

/// The indicator turns red when the server dies (with the reason on hover) and green again once
/// it is back on the same port and database; the member stays signed in (a saved token).
#[tokio::test]
async fn the_indicator_turns_red_while_the_server_is_down_and_green_when_it_is_back() {
    let server = TestServer::start(&[]).await;
    let (_, api) = member(&server, "desk_restart", 50_000).await;
    let display = Display::start(1280, 800);
    let token = api.token().expect("the member's token");
    let mut desk = Desk::start(
        &display,
        &server.url,
        SignIn::SavedToken(&token),
        &["--lang", "en"],
    );
    desk.wait_for(
        "a green indicator for the member",
        Duration::from_secs(20),
        |s| colour(s) == "green" && s["user"] == "desk_restart" && s["balance"] == 50_000,
    )
    .await;

    server.stop(libc::SIGKILL).await;
    let down = desk
        .wait_for("a red indicator", Duration::from_secs(10), |s| {
            colour(s) == "red" && s["indicator"]["reason"].is_string()
        })
        .await;
    println!("server down: {}", down["indicator"]);

    server.launch().await;
    let back = desk
        .wait_for("a green indicator again", Duration::from_secs(20), |s| {
            colour(s) == "green"
        })
        .await;
    assert_eq!(back["user"], "desk_restart");
    assert_eq!(back["balance"], 50_000);
    assert_eq!(back["indicator"]["reason"], serde_json::Value::Null);
}

/// Behind a proxy that refuses streams (502 on `GET /v1/events`) the app falls back to long-poll:
/// the indicator turns amber and says why.
#[tokio::test]
async fn behind_a_proxy_that_refuses_streams_the_indicator_turns_amber() {
    let server = TestServer::start(&[]).await;
    let proxy = Proxy::start(&server.url).await;
    proxy.command(serde_json::json!({"mode": "refuse"})).await;
    let display = Display::start(1280, 800);
    let mut desk = Desk::start(&display, &proxy.url, SignIn::Nobody, &["--lang", "en"]);
    let amber = desk
        .wait_for("an amber indicator", Duration::from_secs(20), |s| {
            colour(s) == "amber" && s["counts"]["cases"] == 3
        })
        .await;
    assert_eq!(amber["indicator"]["transport"], "poll");
    let reason = amber["indicator"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("long-poll"), "reason: {reason:?}");
    println!("behind the refusing proxy: {}", amber["indicator"]);
    proxy.close().await;
}
