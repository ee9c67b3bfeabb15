//! The signed-in user's own account: profile, inventory, selling items back.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use cyberhub_protocol::{Inventory, SellResponse, User};

use super::AppState;
use super::extract::{AuthUser, Json, Path};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me))
        .route("/v1/me/inventory", get(inventory))
        .route("/v1/me/inventory/{id}/sell", post(sell))
}

async fn me(State(state): State<AppState>, caller: AuthUser) -> Result<Json<User>, ApiError> {
    Ok(Json(state.store.user(caller.user.id).await?))
}

async fn inventory(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<Inventory>, ApiError> {
    Ok(Json(Inventory {
        items: state.store.inventory(caller.user.id).await?,
    }))
}

#[tracing::instrument(skip_all, fields(user_id = caller.user.id, item_id))]
async fn sell(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(item_id): Path<i64>,
) -> Result<Json<SellResponse>, ApiError> {
    state.limits.write_user.check(&caller.user.id)?;
    Ok(Json(state.store.sell_item(caller.user.id, item_id).await?))
}
