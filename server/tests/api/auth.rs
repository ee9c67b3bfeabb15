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
