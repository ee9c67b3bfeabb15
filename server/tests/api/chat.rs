use std::collections::HashMap;
use std::time::Duration;

use cyberhub_protocol::{ErrorBody, ErrorCode, PollResponse};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// The ids of the `chat:message` frames among `frames`.
fn chat_ids(frames: &[Frame]) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f.event == "chat:message")
        .map(|f| f.data["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_message_reaches_every_stream_and_long_poll_in_order_once() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.new_user("alice").await;
    let (_, bob_token) = app.new_user("bob").await;
    let head = app.committed_head().await;
    let mut bob = app.stream(Some(&bob_token), None).await;
    let mut anon = app.stream(None, None).await;
    assert_eq!(bob.next().await.event, "ready");
    assert_eq!(anon.next().await.event, "ready");

    let first = app.chat(&alice_token, "  gg wp\r\nnext round?  ").await;
    let second = app.chat(&alice_token, "ready").await;
    assert_eq!(first.text, "gg wp\nnext round?", "trimmed, CRLF as LF");
    assert_eq!(
        (first.user_id, first.username.as_str()),
        (alice.id, "alice")
    );
    assert!(second.id > first.id);

    for stream in [&mut bob, &mut anon] {
        let frames = stream.take(2).await;
        assert!(frames.iter().all(|f| f.event == "chat:message"));
        assert!(frames[0].id < frames[1].id, "in id order");
        assert_eq!(chat_ids(&frames), [first.id, second.id]);
        assert_eq!(frames[0].data["text"], "gg wp\nnext round?");
        assert_eq!(frames[0].data["role"], "user");
        stream.assert_quiet(Duration::from_millis(300)).await;
    }
    let polled: PollResponse = app
        .poll(None, &format!("after={head}&timeout=1"))
        .await
        .json()
        .await
        .unwrap();
    let polled: Vec<i64> = polled
        .events
        .iter()
        .filter_map(|e| match &e.event {
            cyberhub_protocol::ServerEvent::ChatMessage(m) => Some(m.id),
            _ => None,
        })
        .collect();
    assert_eq!(polled, [first.id, second.id]);
}

#[tokio::test]
async fn history_pages_back_and_leaves_deleted_messages_out() {
    let app = spawn_app().await;
    let (_, token) = app.new_user("alice").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(app.chat(&token, &format!("message {i}")).await.id);
    }
    let newest: Vec<i64> = app
        .chat_history("limit=2")
        .await
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(newest, [ids[4], ids[3]]);
    let older: Vec<i64> = app
        .chat_history(&format!("before={}&limit=2", ids[3]))
        .await
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(older, [ids[2], ids[1]]);

    let mut anon = app.stream(None, None).await;
    assert_eq!(anon.next().await.event, "ready");
    assert_eq!(
        app.delete_chat(ids[2]).await.status(),
        StatusCode::NO_CONTENT
    );
    let deleted = anon.next().await;
    assert_eq!(deleted.event, "chat:deleted");
    assert_eq!(deleted.data, json!({ "id": ids[2] }));
    // Deleting again answers the same and emits nothing.
    let head = app.committed_head().await;
    assert_eq!(
        app.delete_chat(ids[2]).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.committed_head().await, head);
    anon.assert_quiet(Duration::from_millis(300)).await;
    assert_error(
        app.delete_chat(999_999).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let all: Vec<i64> = app.chat_history("").await.iter().map(|m| m.id).collect();
    assert_eq!(all, [ids[4], ids[3], ids[1], ids[0]]);
    // The row stays for audit.
    let deleted_by = app
        .sql_value(&format!(
            "SELECT deleted_by FROM chat_messages WHERE id = {}",
            ids[2]
        ))
        .await;
    assert!(deleted_by.is_some());

    for query in ["limit=0", "limit=201", "before=0", "limit=x"] {
        let res = app.get(&format!("/v1/chat/messages?{query}"), None).await;
        assert!(res.status().is_client_error(), "{query}");
    }
}

#[tokio::test]
async fn refused_messages_write_nothing_and_emit_nothing() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    let head = app.committed_head().await;
    let mut anon = app.stream(None, None).await;
    assert_eq!(anon.next().await.event, "ready");

    for (text, code) in [
        ("", "invalid_length"),
        (" \n\t ", "invalid_length"),
        (&"я".repeat(501), "invalid_length"),
        ("bell \u{7}", "invalid_characters"),
        ("lone \r return", "invalid_characters"),
    ] {
        assert_error(
            app.send_chat(&token, text).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
    // 500 characters of two bytes each are fine: the limit counts characters, not bytes.
    let long = app.chat(&token, &"я".repeat(500)).await;
    assert_eq!(long.text.chars().count(), 500);
    let head_after_long = app.committed_head().await;
    assert_eq!(head_after_long, head + 1);

    let wrong_type = app
        .post_json("/v1/chat/messages", Some(&token), &json!({ "text": 5 }))
        .await;
    assert_eq!(wrong_type.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(
        app.post_json("/v1/chat/messages", None, &json!({ "text": "hi" }))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let cookie_only = app
        .http
        .post(app.url("/v1/chat/messages"))
        .header("cookie", format!("cyberhub_session={token}"))
        .json(&json!({ "text": "from another site" }))
        .send()
        .await
        .unwrap();
    assert_error(cookie_only, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_error(
        app.send_chat(&token, &"я".repeat(500)).await,
        StatusCode::CONFLICT,
        "duplicate_message",
    )
    .await;

    assert_eq!(app.mute(alice.id, 5, "spam").await.status(), StatusCode::OK);
    let muted = app.send_chat(&token, "let me talk").await;
    assert_eq!(muted.status(), StatusCode::FORBIDDEN);
    let body: ErrorBody = muted.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::ChatMuted);
    assert!(body.error.until.unwrap() > cyberhub_server::store::now_ms() + 4 * 60_000);

    // Only the accepted message was written and emitted.
    assert_eq!(app.chat_history("").await.len(), 1);
    let frames = anon.drain_until_quiet(Duration::from_millis(300)).await;
    assert_eq!(chat_ids(&frames), [long.id]);
    // The mute emitted one event, to alice alone.
    assert_eq!(app.committed_head().await, head_after_long + 1);
}

#[tokio::test]
async fn a_sender_over_the_rate_limit_gets_429_until_the_window_refills() {
    let app = spawn_app().await;
    let (_, token) = app.new_user("alice").await;
    for i in 0..5 {
        app.chat(&token, &format!("burst {i}")).await;
    }
    let head = app.committed_head().await;
    let res = app.send_chat(&token, "one too many").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=2).contains(&retry_after),
        "5/10s refills one every 2 s"
    );
    let body: ErrorBody = res.json().await.unwrap();
    assert_eq!(body.error.code, ErrorCode::RateLimited);
    assert_eq!(app.committed_head().await, head, "nothing emitted");
    assert_eq!(app.chat_history("").await.len(), 5, "nothing written");

    // Another member is not affected.
    let (_, bob_token) = app.new_user("bob").await;
    app.chat(&bob_token, "hi").await;

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    app.chat(&token, "one too many").await;
}

#[tokio::test]
async fn a_mute_tells_the_user_ends_by_itself_and_can_be_lifted() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.new_user("alice").await;
    let (_, bob_token) = app.new_user("bob").await;
    let mut alice_stream = app.stream(Some(&alice_token), None).await;
    let mut bob_stream = app.stream(Some(&bob_token), None).await;
    assert_eq!(alice_stream.next().await.event, "ready");
    assert_eq!(bob_stream.next().await.event, "ready");

    let res = app.mute(alice.id, 1, "cool down").await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: cyberhub_protocol::MuteResponse = res.json().await.unwrap();
    let until = answer.muted_until.unwrap();
    let told = alice_stream.next().await;
    assert_eq!(told.event, "chat:muted");
    assert_eq!(
        told.data,
        json!({ "user_id": alice.id, "muted_until": until, "reason": "cool down" })
    );
    bob_stream.assert_quiet(Duration::from_millis(300)).await;
    // A page loaded now learns of the mute without waiting for an event; bob is not muted.
    assert_eq!(
        app.own_mute(&alice_token).await,
        json!({ "muted_until": until, "reason": "cool down" })
    );
    assert_eq!(
        app.own_mute(&bob_token).await,
        json!({ "muted_until": null, "reason": null })
    );
    assert_error(
        app.get("/v1/chat/mute", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.send_chat(&alice_token, "hello?").await,
        StatusCode::FORBIDDEN,
        "chat_muted",
    )
    .await;

    // A minute passes: move the end of the mute to just ahead instead of waiting for it.
    let soon = cyberhub_server::store::now_ms() + 300;
    app.sql(&format!(
        "UPDATE chat_mutes SET muted_until = {soon} WHERE user_id = {}",
        alice.id
    ))
    .await;
    eventually(Duration::from_secs(5), "the mute to run out", || async {
        app.own_mute(&alice_token).await["muted_until"] == json!(null)
    })
    .await;
    assert!(
        cyberhub_server::store::now_ms() >= soon,
        "ended before its end"
    );
    app.chat(&alice_token, "I am back").await;

    // minutes: 0 lifts a mute at once, and tells the user.
    app.mute(alice.id, 60, "again").await;
    assert_eq!(
        alice_stream.next_named("chat:muted").await.data["reason"],
        "again"
    );
    let lifted: cyberhub_protocol::MuteResponse =
        app.mute(alice.id, 0, "").await.json().await.unwrap();
    assert_eq!(lifted.muted_until, None);
    let told = alice_stream.next().await;
    assert_eq!(
        (told.event.as_str(), &told.data["muted_until"]),
        ("chat:muted", &json!(null))
    );
    assert_eq!(app.own_mute(&alice_token).await["muted_until"], json!(null));
    app.chat(&alice_token, "free to talk").await;
    // Lifting again emits nothing.
    let head = app.committed_head().await;
    app.mute(alice.id, 0, "").await;
    assert_eq!(app.committed_head().await, head);

    for (body, status) in [
        (
            json!({ "minutes": 43_201, "reason": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "minutes": -1, "reason": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({ "minutes": "5" }), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let res = app
            .post_json(
                &format!("/v1/admin/users/{}/mute", alice.id),
                Some(&app.admin_token),
                &body,
            )
            .await;
        assert_eq!(res.status(), status, "{body}");
    }
    assert_error(
        app.mute(999_999, 5, "x").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let by_member = app
        .post_json(
            &format!("/v1/admin/users/{}/mute", alice.id),
            Some(&bob_token),
            &json!({ "minutes": 5, "reason": "x" }),
        )
        .await;
    assert_error(by_member, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn twenty_members_sending_at_once_reach_every_stream_exactly_once() {
    let app = spawn_app().await;
    let mut tokens = Vec::new();
    for i in 0..20 {
        tokens.push(app.new_user(&format!("member{i}")).await.1);
    }
    let mut streams = vec![
        app.stream(None, None).await,
        app.stream(Some(&tokens[0]), None).await,
    ];
    for stream in &mut streams {
        assert_eq!(stream.next().await.event, "ready");
    }
    let app = &app;
    let sends = tokens.iter().enumerate().flat_map(|(i, token)| {
        (0..3)
            .map(move |n| async move { app.chat(token, &format!("member {i} says {n}")).await.id })
    });
    let mut sent: Vec<i64> = futures_util::future::join_all(sends).await;
    sent.sort_unstable();
    assert_eq!(sent.len(), 60);
    for stream in &mut streams {
        let frames = stream.take(60).await;
        let ids: Vec<i64> = frames.iter().map(|f| f.id.unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in event order");
        let mut got = chat_ids(&frames);
        let mut seen = HashMap::new();
        for id in &got {
            *seen.entry(*id).or_insert(0) += 1;
        }
        assert!(seen.values().all(|&n| n == 1), "each once");
        got.sort_unstable();
        assert_eq!(got, sent);
        stream.assert_quiet(Duration::from_millis(300)).await;
    }
}
