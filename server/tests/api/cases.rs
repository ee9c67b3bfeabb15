use cyberhub_protocol::{Case, CaseList, Rarity};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

async fn cases(app: &TestApp) -> Vec<Case> {
    app.get("/v1/cases", None)
        .await
        .json::<CaseList>()
        .await
        .unwrap()
        .cases
}

#[tokio::test]
async fn admins_create_update_and_delete_cases_that_anyone_can_read() {
    let app = spawn_app().await;
    let res = app
        .create_case(&case_body(
            "Starter",
            5_000,
            &[
                ("Mousepad", "common", 2_000, 90),
                ("Chair", "legendary", 90_000, 10),
            ],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Case = res.json().await.unwrap();
    assert_eq!(created.items.len(), 2);
    assert_eq!(created.items[1].rarity, Rarity::Legendary);

    let one: Case = app
        .get(&format!("/v1/cases/{}", created.id), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one, created);
    assert_eq!(cases(&app).await, vec![created.clone()]);

    let res = app
        .http
        .put(app.url(&format!("/v1/admin/cases/{}", created.id)))
        .bearer_auth(&app.admin_token)
        .json(&case_body(
            "Starter v2",
            6_000,
            &[("Keyboard", "epic", 7_000, 1)],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Case = res.json().await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.price, updated.items.len()),
        ("Starter v2", 6_000, 1)
    );

    let res = app
        .http
        .delete(app.url(&format!("/v1/admin/cases/{}", created.id)))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.get(&format!("/v1/cases/{}", created.id), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(cases(&app).await.is_empty());
}

#[tokio::test]
async fn invalid_cases_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let head_before = app.committed_head().await;
    let bad = [
        (
            case_body("Neg price", -1, &[("a", "common", 1, 1)]),
            "negative_value",
        ),
        (
            case_body("Neg weight", 10, &[("a", "common", 1, -5)]),
            "negative_value",
        ),
        (
            case_body("Zero weight", 10, &[("a", "common", 1, 0)]),
            "out_of_range",
        ),
        (
            case_body("Neg value", 10, &[("a", "common", -1, 1)]),
            "negative_value",
        ),
        (case_body("Empty", 10, &[]), "no_items"),
        (
            case_body("", 10, &[("a", "common", 1, 1)]),
            "invalid_length",
        ),
        (
            json!({"name": "Bad url", "price": 1, "image_url": "javascript:alert(1)", "items": [{"name": "a", "rarity": "common", "value": 1, "weight": 1}]}),
            "invalid_image_url",
        ),
    ];
    for (body, code) in bad {
        assert_error(
            app.create_case(&body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
    let wrong_rarity = case_body("Rarity", 10, &[("a", "mythic", 1, 1)]);
    assert_error(
        app.create_case(&wrong_rarity).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;
    let float_price = json!({"name": "Float", "price": 9.99, "items": [{"name": "a", "rarity": "common", "value": 1, "weight": 1}]});
    assert_error(
        app.create_case(&float_price).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;

    let malformed = app
        .http
        .post(app.url("/v1/admin/cases"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::BAD_REQUEST, "invalid_json").await;

    let huge = json!({"name": "x".repeat(100_000), "price": 1, "items": []});
    assert_error(
        app.create_case(&huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;

    assert!(cases(&app).await.is_empty());
    assert_eq!(
        app.committed_head().await,
        head_before,
        "no event was emitted"
    );
}

#[tokio::test]
async fn unknown_and_malformed_case_ids() {
    let app = spawn_app().await;
    assert_error(
        app.get("/v1/cases/999", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/v1/cases/abc", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
    let (_, token) = app.new_user("alice").await;
    assert_error(
        app.open_case(&token, 999).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let put = app
        .http
        .put(app.url("/v1/admin/cases/999"))
        .bearer_auth(&app.admin_token)
        .json(&case_body("Ghost", 1, &[("a", "common", 1, 1)]))
        .send()
        .await
        .unwrap();
    assert_error(put, StatusCode::NOT_FOUND, "not_found").await;
    let delete = app
        .http
        .delete(app.url("/v1/admin/cases/999"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_error(delete, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(
        app.get("/v1/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.post("/v1/cases", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
