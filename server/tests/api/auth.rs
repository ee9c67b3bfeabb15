use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn login_returns_a_token_that_identifies_the_user() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    let me = app.me(&token).await;
    assert_eq!(me, user);
    assert_eq!(me.balance, 0);
}

#[tokio::test]
async fn login_sets_an_http_only_cookie_scoped_to_the_stream_endpoints() {
    let app = spawn_app().await;
    app.new_user("alice").await;
    let res = app
        .post_json(
            "/v1/auth/login",
            None,
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("cyberhub_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Path=/v1/events")
            && cookie.contains("SameSite=Lax")
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.new_user("alice").await;
    let wrong = app
        .post_json(
            "/v1/auth/login",
            None,
            &json!({"username": "alice", "password": "nope-nope"}),
        )
        .await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "bad_credentials").await;
    let unknown = app
        .post_json(
            "/v1/auth/login",
            None,
            &json!({"username": "nobody", "password": "nope-nope"}),
        )
        .await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "bad_credentials").await;
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let app = spawn_app().await;
    let (_, token) = app.new_user("alice").await;
    let res = app.post("/v1/auth/logout", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get("/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn missing_malformed_and_unknown_tokens_are_401() {
    let app = spawn_app().await;
    assert_error(
        app.get("/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/v1/me", Some("not-a-session")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let res = app
        .http
        .get(app.url("/v1/me"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn the_session_cookie_is_not_honoured_on_routes_that_change_state() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.fund(user.id, 10_000).await;
    let case = app.simple_case(1_000, 500).await;
    let res = app
        .http
        .post(app.url(&format!("/v1/cases/{}/open", case.id)))
        .header("cookie", format!("cyberhub_session={token}"))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(app.balance(&token).await, 10_000);
}

#[tokio::test]
async fn members_cannot_call_admin_routes() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    let calls = [
        app.post_json(
            "/v1/admin/cases",
            Some(&token),
            &case_body("X", 1, &[("a", "common", 1, 1)]),
        )
        .await,
        app.http
            .put(app.url("/v1/admin/cases/1"))
            .bearer_auth(&token)
            .json(&case_body("X", 1, &[("a", "common", 1, 1)]))
            .send()
            .await
            .unwrap(),
        app.http
            .delete(app.url("/v1/admin/cases/1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        app.post_json(
            "/v1/admin/users",
            Some(&token),
            &json!({"username": "mallory", "password": PASSWORD, "role": "admin"}),
        )
        .await,
        app.post_json(
            &format!("/v1/admin/users/{}/balance", user.id),
            Some(&token),
            &json!({"delta": 1000, "reason": "gift"}),
        )
        .await,
        app.post_json(
            "/v1/admin/announcements",
            Some(&token),
            &json!({"text": "hi"}),
        )
        .await,
    ];
    for res in calls {
        assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(app.balance(&token).await, 0);
    assert!(
        app.get("/v1/cases", None)
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()["cases"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn admins_create_users_with_valid_names_and_passwords_only() {
    let app = spawn_app().await;
    let admin = Some(app.admin_token.as_str());
    let dup = app
        .post_json(
            "/v1/admin/users",
            admin,
            &json!({"username": "root", "password": PASSWORD}),
        )
        .await;
    assert_error(dup, StatusCode::CONFLICT, "username_taken").await;
    let short = app
        .post_json(
            "/v1/admin/users",
            admin,
            &json!({"username": "bo", "password": PASSWORD}),
        )
        .await;
    assert_error(short, StatusCode::UNPROCESSABLE_ENTITY, "invalid_username").await;
    let weak = app
        .post_json(
            "/v1/admin/users",
            admin,
            &json!({"username": "bob", "password": "123"}),
        )
        .await;
    assert_error(weak, StatusCode::UNPROCESSABLE_ENTITY, "invalid_password").await;
    let bad_role = app
        .post_json(
            "/v1/admin/users",
            admin,
            &json!({"username": "bob", "password": PASSWORD, "role": "god"}),
        )
        .await;
    assert_error(bad_role, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let ok = app
        .post_json(
            "/v1/admin/users",
            admin,
            &json!({"username": "bob", "password": PASSWORD, "role": "admin"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let bob = app.login("bob", PASSWORD).await;
    assert_eq!(app.me(&bob).await.role, cyberhub_protocol::Role::Admin);
}

/// Reads `stream` until it ends; fails if it is still open after `within`. Returns what it carried.
async fn assert_ends_within(stream: &mut EventStream, within: Duration) -> Vec<Frame> {
    let deadline = tokio::time::Instant::now() + within;
    let mut frames = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "the stream is still open after {within:?}");
        match stream.next_within(left).await {
            Some(frame) => frames.push(frame),
            None => return frames,
        }
    }
}

#[tokio::test]
async fn logout_ends_the_tokens_streams_and_polls_at_once_and_no_other_session() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    let other_session = app.login("alice", PASSWORD).await;
    let head = app.committed_head().await;

    let mut bearer = app.stream(Some(&token), None).await;
    let cookie_res = app
        .streams
        .get(app.url("/v1/events"))
        .header("cookie", format!("cyberhub_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_res.status(), StatusCode::OK);
    let mut cookie = EventStream::from_response(cookie_res);
    let mut other = app.stream(Some(&other_session), None).await;
    for stream in [&mut bearer, &mut cookie, &mut other] {
        assert_eq!(stream.next().await.event, "ready");
    }
    let poll = {
        let (http, url, token) = (
            app.streams.clone(),
            app.url(&format!("/v1/events/poll?after={head}&timeout=30")),
            token.clone(),
        );
        tokio::spawn(async move { http.get(url).bearer_auth(token).send().await.unwrap() })
    };
    // The poll is waiting on the server (a poll that came after the logout would be refused as
    // well, and could not tell whether a waiting one is ended).
    app.wait_for_clients(3, 1).await;

    assert_eq!(
        app.post("/v1/auth/logout", Some(&token)).await.status(),
        StatusCode::NO_CONTENT
    );
    // The private balance event after the logout reaches nobody on that token.
    app.fund(alice.id, 500).await;
    for stream in [&mut bearer, &mut cookie] {
        let after = assert_ends_within(stream, Duration::from_secs(1)).await;
        assert!(
            after.iter().all(|f| f.event != "balance:updated"),
            "{after:?}"
        );
    }
    let polled = tokio::time::timeout(Duration::from_secs(1), poll)
        .await
        .expect("the waiting poll is answered at once")
        .unwrap();
    assert_error(polled, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Alice's other session goes on, and sees her balance move.
    assert_eq!(other.next_named("balance:updated").await.data["delta"], 500);
    // And the revoked token cannot open a stream again.
    let again = app
        .streams
        .get(app.url("/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_error(again, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn a_session_that_expires_ends_its_stream() {
    let app = spawn_app_with(|c| c.session_ttl_secs = 2).await;
    let (_, token) = app.new_user("alice").await;
    let mut stream = app.stream(Some(&token), None).await;
    assert_eq!(stream.next().await.event, "ready");
    // Expiry at 2 s, noticed within a second after.
    assert_ends_within(&mut stream, Duration::from_secs(4)).await;
    assert_error(
        app.get("/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn sessions_deleted_in_the_database_end_their_streams_within_a_second() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.new_user("alice").await;
    let (_, bob_token) = app.new_user("bob").await;
    let mut alice_stream = app.stream(Some(&alice_token), None).await;
    let mut bob_stream = app.stream(Some(&bob_token), None).await;
    assert_eq!(alice_stream.next().await.event, "ready");
    assert_eq!(bob_stream.next().await.event, "ready");

    // An operator deletes a user (their sessions go with them), as another process would.
    app.sql(&format!("DELETE FROM users WHERE id = {}", alice.id))
        .await;
    assert_ends_within(&mut alice_stream, Duration::from_secs(2)).await;

    // Deleting a session row alone does the same.
    app.sql("DELETE FROM sessions").await;
    assert_ends_within(&mut bob_stream, Duration::from_secs(2)).await;
    assert_error(
        app.get("/v1/me", Some(&bob_token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}
