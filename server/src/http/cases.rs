//! Cases: anyone lists and reads them, members open them, admins manage them.

use axum::extract::State;
use axum::http::StatusCode;
use cyberhub_protocol::{Case, CaseInput, CaseList, OpenCaseResponse};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, AuthUser, Json, Path};
use super::openapi::Errors;
use super::validate::case_input;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one))
        .routes(routes!(open))
        .routes(routes!(create))
        .routes(routes!(update, delete))
}

#[utoipa::path(get, path = "/v1/cases", tag = "cases",
    responses((status = 200, body = CaseList, description = "Every case with its items"), Errors))]
async fn list(State(state): State<AppState>) -> Result<Json<CaseList>, ApiError> {
    Ok(Json(CaseList {
        cases: state.store.list_cases().await?,
    }))
}

#[utoipa::path(get, path = "/v1/cases/{id}", tag = "cases",
    params(("id" = i64, Path, description = "The case")),
    responses((status = 200, body = Case, description = "The case with its items"), Errors))]
async fn one(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Json<Case>, ApiError> {
    Ok(Json(state.store.case(id).await?))
}

#[utoipa::path(post, path = "/v1/cases/{id}/open", tag = "cases", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The case")),
    responses((status = 200, body = OpenCaseResponse, description = "Paid for, drawn, and in the inventory"), Errors))]
#[tracing::instrument(skip_all, fields(user_id = caller.user.id, case_id))]
async fn open(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(case_id): Path<i64>,
) -> Result<Json<OpenCaseResponse>, ApiError> {
    state.limits.write_user.check(&caller.user.id)?;
    Ok(Json(state.store.open_case(caller.user.id, case_id).await?))
}

#[utoipa::path(post, path = "/v1/admin/cases", tag = "admin", security(("bearer" = [])),
    request_body = CaseInput,
    responses((status = 201, body = Case, description = "Created; cases:updated emitted"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username))]
async fn create(
    State(state): State<AppState>,
    admin: AdminUser,
    Json(input): Json<CaseInput>,
) -> Result<(StatusCode, Json<Case>), ApiError> {
    case_input(&input)?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_case(&input).await?),
    ))
}

#[utoipa::path(put, path = "/v1/admin/cases/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The case")), request_body = CaseInput,
    responses((status = 200, body = Case, description = "Replaced; cases:updated emitted"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username, case_id))]
async fn update(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(case_id): Path<i64>,
    Json(input): Json<CaseInput>,
) -> Result<Json<Case>, ApiError> {
    case_input(&input)?;
    Ok(Json(state.store.update_case(case_id, &input).await?))
}

#[utoipa::path(delete, path = "/v1/admin/cases/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The case")),
    responses((status = 204, description = "Deleted; cases:updated emitted"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username, case_id))]
async fn delete(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(case_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_case(case_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
