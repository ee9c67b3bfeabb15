//! The signed-in user's own account: profile, inventory, selling items back.

use axum::extract::State;
use cyberhub_protocol::{Inventory, SellResponse, User};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AuthUser, Json, Path};
use super::openapi::Errors;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(inventory))
        .routes(routes!(sell))
}

#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = User, description = "The member with their balance"), Errors))]
async fn me(State(state): State<AppState>, caller: AuthUser) -> Result<Json<User>, ApiError> {
    Ok(Json(state.store.user(caller.user.id).await?))
}

#[utoipa::path(get, path = "/v1/me/inventory", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Inventory, description = "The member's items, newest first"), Errors))]
async fn inventory(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<Inventory>, ApiError> {
    Ok(Json(Inventory {
        items: state.store.inventory(caller.user.id).await?,
    }))
}

#[utoipa::path(post, path = "/v1/me/inventory/{id}/sell", tag = "me", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The inventory item")),
    responses((status = 200, body = SellResponse, description = "Sold for its value"), Errors))]
#[tracing::instrument(skip_all, fields(user_id = caller.user.id, item_id))]
async fn sell(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(item_id): Path<i64>,
) -> Result<Json<SellResponse>, ApiError> {
    state.limits.write_user.check(&caller.user.id)?;
    Ok(Json(state.store.sell_item(caller.user.id, item_id).await?))
}
