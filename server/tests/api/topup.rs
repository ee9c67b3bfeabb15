use cyberhub_protocol::TopupResponse;
use cyberhub_server::http::webhooks::sign;
use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_signed_topup_credits_the_balance() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    let res = app.topup("pay-1", user.id, 25_000).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: TopupResponse = res.json().await.unwrap();
    assert_eq!(
        (answer.user_id, answer.amount, answer.balance),
        (user.id, 25_000, 25_000)
    );
    assert_eq!(app.balance(&token).await, 25_000);
}

#[tokio::test]
async fn the_same_payment_twice_credits_once_and_gets_the_first_answer() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    let first: TopupResponse = app
        .topup("pay-1", user.id, 10_000)
        .await
        .json()
        .await
        .unwrap();
    let second: TopupResponse = app
        .topup("pay-1", user.id, 10_000)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(app.balance(&token).await, 10_000);
}

#[tokio::test]
async fn concurrent_deliveries_of_one_payment_credit_once() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    let deliveries = (0..20).map(|_| app.topup("pay-race", user.id, 3_000));
    let answers = futures_util::future::join_all(deliveries).await;
    let mut bodies = Vec::new();
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
        bodies.push(res.json::<TopupResponse>().await.unwrap());
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every delivery gets the same answer"
    );
    assert_eq!(app.balance(&token).await, 3_000);
}

#[tokio::test]
async fn a_reused_payment_id_with_other_terms_is_a_conflict() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.topup("pay-1", user.id, 1_000).await;
    assert_error(
        app.topup("pay-1", user.id, 9_000).await,
        StatusCode::CONFLICT,
        "payment_mismatch",
    )
    .await;
    assert_eq!(app.balance(&token).await, 1_000);
}

#[tokio::test]
async fn bad_or_missing_signatures_credit_nothing() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    let body = format!(
        r#"{{"payment_id":"p","user_id":{},"amount":5000}}"#,
        user.id
    );
    let cases = [
        None,
        Some("sha256=00".to_owned()),
        Some("garbage".to_owned()),
        Some(sign(b"wrong secret", body.as_bytes())),
        // Signed for a different body: the signature covers the exact bytes.
        Some(sign(
            TOPUP_SECRET.as_bytes(),
            body.replace("5000", "50000").as_bytes(),
        )),
    ];
    for signature in cases {
        assert_error(
            app.topup_raw(&body, signature).await,
            StatusCode::UNAUTHORIZED,
            "bad_signature",
        )
        .await;
    }
    assert_eq!(app.balance(&token).await, 0);
    // The same payment id still works once properly signed: nothing was recorded.
    let good = app
        .topup_raw(&body, Some(sign(TOPUP_SECRET.as_bytes(), body.as_bytes())))
        .await;
    assert_eq!(good.status(), StatusCode::OK);
}

#[tokio::test]
async fn invalid_topups_are_refused() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    assert_error(
        app.topup("p1", user.id, 0).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "out_of_range",
    )
    .await;
    assert_error(
        app.topup("p2", user.id, -100).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "negative_value",
    )
    .await;
    assert_error(
        app.topup("p3", 9_999, 100).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let body = "{not json";
    let res = app
        .topup_raw(body, Some(sign(TOPUP_SECRET.as_bytes(), body.as_bytes())))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert_eq!(app.balance(&token).await, 0);
}

#[tokio::test]
async fn without_a_configured_secret_the_webhook_refuses_everything() {
    let app = spawn_app_with(|c| c.topup_secret = None).await;
    let (user, token) = app.new_user("alice").await;
    assert_error(
        app.topup("p1", user.id, 100).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "topup_not_configured",
    )
    .await;
    assert_eq!(app.balance(&token).await, 0);
}

#[tokio::test]
async fn during_a_rotation_the_previous_secret_is_still_accepted() {
    // The billing system still signs with TOPUP_SECRET while the server already has the new one.
    let app = spawn_app_with(|c| {
        c.topup_secret = Some("the-new-secret".into());
        c.topup_secret_previous = Some(TOPUP_SECRET.into());
    })
    .await;
    let (user, token) = app.new_user("alice").await;
    assert_eq!(
        app.topup("pay-old", user.id, 100).await.status(),
        StatusCode::OK
    );
    let body = format!(
        r#"{{"payment_id":"pay-new","user_id":{},"amount":200}}"#,
        user.id
    );
    let signed_new = sign(b"the-new-secret", body.as_bytes());
    assert_eq!(
        app.topup_raw(&body, Some(signed_new)).await.status(),
        StatusCode::OK
    );
    let body = format!(
        r#"{{"payment_id":"pay-forged","user_id":{},"amount":300}}"#,
        user.id
    );
    let forged = sign(b"some-other-secret", body.as_bytes());
    assert_error(
        app.topup_raw(&body, Some(forged)).await,
        StatusCode::UNAUTHORIZED,
        "bad_signature",
    )
    .await;
    assert_eq!(app.balance(&token).await, 300);
}
