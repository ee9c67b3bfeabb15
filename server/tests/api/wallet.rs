use cyberhub_protocol::{InventoryItem, OpenCaseResponse, SellResponse};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn opening_a_case_debits_the_price_and_adds_the_item() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.fund(user.id, 10_000).await;
    let case = app.simple_case(3_000, 2_500).await;

    let res = app.open_case(&token, case.id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let opened: OpenCaseResponse = res.json().await.unwrap();
    assert_eq!(opened.balance, 7_000);
    assert_eq!(
        (
            opened.item.name.as_str(),
            opened.item.value,
            opened.item.case_id
        ),
        ("Prize", 2_500, case.id)
    );
    assert_eq!(app.balance(&token).await, 7_000);
    assert_eq!(app.inventory(&token).await, vec![opened.item]);
}

#[tokio::test]
async fn draws_follow_the_weights() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.fund(user.id, 1_000).await;
    // Weight 0 is refused, so a near-zero weight stands in for "never": 1 in a billion.
    let body = case_body(
        "Weighted",
        1,
        &[
            ("Common", "common", 0, 999_999_999),
            ("Jackpot", "legendary", 0, 1),
        ],
    );
    let case: cyberhub_protocol::Case = app.create_case(&body).await.json().await.unwrap();
    for _ in 0..200 {
        let opened: OpenCaseResponse = app.open_case(&token, case.id).await.json().await.unwrap();
        assert_eq!(opened.item.name, "Common");
    }
}

#[tokio::test]
async fn not_enough_balance_is_a_409_and_changes_nothing() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.fund(user.id, 999).await;
    let case = app.simple_case(1_000, 10).await;
    assert_error(
        app.open_case(&token, case.id).await,
        StatusCode::CONFLICT,
        "insufficient_funds",
    )
    .await;
    assert_eq!(app.balance(&token).await, 999);
    assert!(app.inventory(&token).await.is_empty());
}

#[tokio::test]
async fn fifty_concurrent_openings_with_money_for_ten_succeed_exactly_ten_times() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.fund(user.id, 10 * 1_000 + 999).await;
    let case = app.simple_case(1_000, 1).await;
    let mut stream = app.stream(Some(&token), None).await;
    assert_eq!(stream.next().await.event, "ready");

    let opens = (0..50).map(|_| app.open_case(&token, case.id));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(opens)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        10
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        40
    );
    assert_eq!(app.balance(&token).await, 999);
    assert_eq!(app.inventory(&token).await.len(), 10);

    let frames = stream.take(30).await;
    stream
        .assert_quiet(std::time::Duration::from_millis(300))
        .await;
    let count = |name: &str| frames.iter().filter(|f| f.event == name).count();
    assert_eq!(
        (
            count("balance:updated"),
            count("inventory:updated"),
            count("drop:new")
        ),
        (10, 10, 10)
    );
    let balances: Vec<i64> = frames
        .iter()
        .filter(|f| f.event == "balance:updated")
        .map(|f| f.data["balance"].as_i64().unwrap())
        .collect();
    let expected: Vec<i64> = (0..10).map(|i| 10_999 - 1_000 * (i + 1)).collect();
    assert_eq!(balances, expected, "each debit announced once, in order");
}

#[tokio::test]
async fn selling_an_item_credits_its_value_and_removes_it() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.fund(user.id, 1_000).await;
    let case = app.simple_case(1_000, 700).await;
    let item: InventoryItem = app
        .open_case(&token, case.id)
        .await
        .json::<OpenCaseResponse>()
        .await
        .unwrap()
        .item;

    let res = app.sell(&token, item.id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let sold: SellResponse = res.json().await.unwrap();
    assert_eq!(
        (sold.item_id, sold.credited, sold.balance),
        (item.id, 700, 700)
    );
    assert!(app.inventory(&token).await.is_empty());

    let again = app.sell(&token, item.id).await;
    assert_error(again, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.balance(&token).await, 700, "an item sells once");
}

#[tokio::test]
async fn nobody_sells_another_users_item() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.new_user("alice").await;
    let (_, bob_token) = app.new_user("bob").await;
    app.fund(alice.id, 1_000).await;
    let case = app.simple_case(1_000, 700).await;
    let item = app
        .open_case(&alice_token, case.id)
        .await
        .json::<OpenCaseResponse>()
        .await
        .unwrap()
        .item;
    let res = app.sell(&bob_token, item.id).await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(app.balance(&bob_token).await, 0);
    assert_eq!(app.inventory(&alice_token).await.len(), 1);
}

#[tokio::test]
async fn admin_adjustments_never_take_a_balance_below_zero() {
    let app = spawn_app().await;
    let (user, token) = app.new_user("alice").await;
    app.fund(user.id, 500).await;
    assert_error(
        app.adjust_balance(user.id, -501).await,
        StatusCode::CONFLICT,
        "insufficient_funds",
    )
    .await;
    assert_eq!(
        app.adjust_balance(user.id, -500).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.balance(&token).await, 0);
    assert_error(
        app.adjust_balance(user.id, 0).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "zero_delta",
    )
    .await;
    assert_error(
        app.adjust_balance(9_999, 10).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let no_reason = app
        .post_json(
            &format!("/v1/admin/users/{}/balance", user.id),
            Some(&app.admin_token),
            &json!({"delta": 5, "reason": " "}),
        )
        .await;
    assert_error(
        no_reason,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_length",
    )
    .await;
    assert_eq!(app.balance(&token).await, 0);
}

#[tokio::test]
async fn the_drop_feed_history_lists_the_newest_drops_with_their_event_ids() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 10_000).await;
    let case = app.simple_case(1_000, 300).await;
    let mut anon = app.stream(None, None).await;
    assert_eq!(anon.next().await.event, "ready");
    for _ in 0..3 {
        assert_eq!(
            app.open_case(&token, case.id).await.status(),
            StatusCode::OK
        );
    }
    let mut streamed_ids = Vec::new();
    for _ in 0..3 {
        streamed_ids.push(anon.next_named("drop:new").await.id.unwrap());
    }
    let res = app.get("/v1/drops?limit=2", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: cyberhub_protocol::DropList = res.json().await.unwrap();
    let ids: Vec<i64> = list.drops.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        [streamed_ids[2], streamed_ids[1]],
        "newest first, ids as on the stream"
    );
    assert_eq!(list.drops[0].drop.username, "alice");
    assert_eq!(list.drops[0].drop.case_id, case.id);
    assert!(list.drops[0].at > 0);
    let all: cyberhub_protocol::DropList = app.get("/v1/drops", None).await.json().await.unwrap();
    assert_eq!(all.drops.len(), 3);
    for query in ["limit=0", "limit=101", "limit=many"] {
        let res = app.get(&format!("/v1/drops?{query}"), None).await;
        assert!(res.status().is_client_error(), "{query}");
    }
}

#[tokio::test]
async fn the_most_negative_delta_is_refused_not_overflowed() {
    // Found while writing the fuzz target for the bodies: `i64::MIN.abs()` overflows (a panic in
    // a debug build, a wrap to a negative number in a release one).
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 1_000).await;
    let res = app.adjust_balance(alice.id, i64::MIN).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "out_of_range").await;
    assert_eq!(app.balance(&token).await, 1_000);
}
