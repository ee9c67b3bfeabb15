//! Admin operations on users and the global announcement.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use cyberhub_protocol::{
    AnnouncementRequest, AnnouncementResponse, BalanceAdjustRequest, BalanceAdjustResponse,
    CreateUserRequest, User,
};

use super::AppState;
use super::extract::{AdminUser, Json, Path};
use super::validate::{MAX_MONEY, check_len, check_password, check_range, check_username};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/users", post(create_user))
        .route("/v1/admin/users/{id}/balance", post(adjust_balance))
        .route("/v1/admin/announcements", post(announce))
}

#[tracing::instrument(skip_all, fields(admin = %admin.0.username, username = %req.username))]
async fn create_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<CreateUserRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    check_username(&req.username)?;
    check_password(&req.password)?;
    let hash = state.passwords.hash(req.password).await??;
    let user = state
        .store
        .create_user(&req.username, &hash, req.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[tracing::instrument(skip_all, fields(admin = %admin.0.username, user_id, delta = req.delta))]
async fn adjust_balance(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<i64>,
    Json(req): Json<BalanceAdjustRequest>,
) -> Result<Json<BalanceAdjustResponse>, ApiError> {
    if req.delta == 0 {
        return Err(ApiError::invalid("zero_delta", "delta must not be zero"));
    }
    check_range("delta", req.delta.abs(), 1, MAX_MONEY)?;
    check_len("reason", &req.reason, 1, 200)?;
    Ok(Json(
        state
            .store
            .adjust_balance(user_id, req.delta, &req.reason)
            .await?,
    ))
}

#[tracing::instrument(skip_all, fields(admin = %admin.0.username))]
async fn announce(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<AnnouncementRequest>,
) -> Result<(StatusCode, Json<AnnouncementResponse>), ApiError> {
    check_len("text", &req.text, 1, 500)?;
    let event_id = state.store.announce(&req.text).await?;
    Ok((StatusCode::CREATED, Json(AnnouncementResponse { event_id })))
}
