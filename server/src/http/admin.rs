//! Admin operations on users and the global announcement.

use axum::extract::State;
use axum::http::StatusCode;
use cyberhub_protocol::{
    AnnouncementRequest, AnnouncementResponse, BalanceAdjustRequest, BalanceAdjustResponse,
    CreateUserRequest, User,
};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, Json, Path};
use super::openapi::Errors;
use super::validate;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(adjust_balance))
        .routes(routes!(announce))
}

#[utoipa::path(post, path = "/v1/admin/users", tag = "admin", security(("bearer" = [])),
    request_body = CreateUserRequest,
    responses((status = 201, body = User, description = "Created"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username, username = %req.username))]
async fn create_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<CreateUserRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    validate::create_user(&req)?;
    let hash = state.passwords.hash(req.password).await??;
    let user = state
        .store
        .create_user(&req.username, &hash, req.role)
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(post, path = "/v1/admin/users/{id}/balance", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user")), request_body = BalanceAdjustRequest,
    responses((status = 200, body = BalanceAdjustResponse, description = "Adjusted; balance:updated to the user"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username, user_id, delta = req.delta))]
async fn adjust_balance(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<i64>,
    Json(req): Json<BalanceAdjustRequest>,
) -> Result<Json<BalanceAdjustResponse>, ApiError> {
    validate::balance_adjust(&req)?;
    Ok(Json(
        state
            .store
            .adjust_balance(user_id, req.delta, &req.reason)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/admin/announcements", tag = "admin", security(("bearer" = [])),
    request_body = AnnouncementRequest,
    responses((status = 201, body = AnnouncementResponse, description = "Broadcast as an announcement event"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username))]
async fn announce(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(req): Json<AnnouncementRequest>,
) -> Result<(StatusCode, Json<AnnouncementResponse>), ApiError> {
    validate::announcement(&req)?;
    let event_id = state.store.announce(&req.text).await?;
    Ok((StatusCode::CREATED, Json(AnnouncementResponse { event_id })))
}
