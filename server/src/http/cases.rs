//! Cases: anyone lists and reads them, members open them, admins manage them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use cyberhub_protocol::{Case, CaseInput, CaseList, OpenCaseResponse};

use super::AppState;
use super::extract::{AdminUser, AuthUser, Json, Path};
use super::validate::{MAX_MONEY, check_len, check_range};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/cases", get(list))
        .route("/v1/cases/{id}", get(one))
        .route("/v1/cases/{id}/open", post(open))
        .route("/v1/admin/cases", post(create))
        .route("/v1/admin/cases/{id}", put(update).delete(delete))
}

async fn list(State(state): State<AppState>) -> Result<Json<CaseList>, ApiError> {
    Ok(Json(CaseList {
        cases: state.store.list_cases().await?,
    }))
}

async fn one(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Case>, ApiError> {
    Ok(Json(state.store.case(id).await?))
}

#[tracing::instrument(skip_all, fields(user_id = caller.user.id, case_id))]
async fn open(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(case_id): Path<i64>,
) -> Result<Json<OpenCaseResponse>, ApiError> {
    state.limits.write_user.check(&caller.user.id)?;
    Ok(Json(state.store.open_case(caller.user.id, case_id).await?))
}

#[tracing::instrument(skip_all, fields(admin = %admin.0.username))]
async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(input): Json<CaseInput>,
) -> Result<(StatusCode, Json<Case>), ApiError> {
    validate_case(&input)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_case(&input).await?),
    ))
}

#[tracing::instrument(skip_all, fields(admin = %admin.0.username, case_id))]
async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(case_id): Path<i64>,
    Json(input): Json<CaseInput>,
) -> Result<Json<Case>, ApiError> {
    validate_case(&input)?;
    Ok(Json(state.store.update_case(case_id, &input).await?))
}

#[tracing::instrument(skip_all, fields(admin = %admin.0.username, case_id))]
async fn delete(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(case_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_case(case_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The rules a case must meet before anything is written.
fn validate_case(input: &CaseInput) -> Result<(), ApiError> {
    check_len("name", &input.name, 1, 100)?;
    check_range("price", input.price, 0, MAX_MONEY)?;
    check_len("image_url", &input.image_url, 0, 2048)?;
    let url = input.image_url.as_str();
    if !(url.is_empty()
        || url.starts_with("https://")
        || url.starts_with("http://")
        || url.starts_with('/'))
    {
        return Err(ApiError::invalid(
            "invalid_image_url",
            "image_url must be an http(s) URL or a path starting with /",
        ));
    }
    if input.items.is_empty() {
        return Err(ApiError::invalid(
            "no_items",
            "a case needs at least one item",
        ));
    }
    if input.items.len() > 100 {
        return Err(ApiError::invalid(
            "too_many_items",
            "a case holds at most 100 items",
        ));
    }
    for item in &input.items {
        check_len("item name", &item.name, 1, 100)?;
        check_range("item value", item.value, 0, MAX_MONEY)?;
        check_range("item weight", item.weight, 1, 1_000_000_000)?;
    }
    Ok(())
}
