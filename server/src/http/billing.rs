//! The billing bridge for admins: link a member to a SmartShell client (the client's payments that
//! waited are credited at once), unlink, and see the bridge with the payments no member is linked
//! to and the refunds that could not be taken back in full.

use axum::extract::State;
use axum::http::StatusCode;
use cyberhub_protocol::{BillingReport, SmartShellLink, SmartShellLinkRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, Json, Path};
use super::openapi::Errors;
use super::validate;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(link, unlink))
        .routes(routes!(report))
}

#[utoipa::path(put, path = "/v1/admin/users/{id}/smartshell", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The member")), request_body = SmartShellLinkRequest,
    responses((status = 200, body = SmartShellLink, description = "Linked; the client's payments that waited are credited (balance:updated to the member)"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username, user_id))]
async fn link(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<i64>,
    Json(req): Json<SmartShellLinkRequest>,
) -> Result<Json<SmartShellLink>, ApiError> {
    validate::client_uuid(&req.client_uuid)?;
    let linked = state
        .store
        .link_smartshell(user_id, req.client_uuid.trim())
        .await?;
    tracing::info!(client_uuid = %linked.client_uuid, credited = linked.credited.len(), "linked to SmartShell");
    Ok(Json(linked))
}

#[utoipa::path(delete, path = "/v1/admin/users/{id}/smartshell", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The member")),
    responses((status = 204, description = "Unlinked; what was credited stays"), Errors))]
async fn unlink(
    State(state): State<AppState>,
    _admin: AdminUser,
    Path(user_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.store.unlink_smartshell(user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/admin/billing", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = BillingReport, description = "The bridge, the payments waiting for a link, the refunds not taken back in full"), Errors))]
async fn report(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> Result<Json<BillingReport>, ApiError> {
    Ok(Json(BillingReport {
        status: state.billing.status(),
        unmatched: state.store.unmatched_payments().await?,
        shortfalls: state.store.refund_shortfalls().await?,
    }))
}
