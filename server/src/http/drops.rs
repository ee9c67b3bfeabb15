//! The live drop feed's history, so a fresh page shows the feed at once; new drops arrive on the
//! stream as `drop:new`, with the same ids.

use axum::extract::State;
use cyberhub_protocol::DropList;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Query};
use super::openapi::Errors;
use super::validate::check_range;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(recent))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Params {
    /// At most this many, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// `GET /v1/drops?limit=N`: the newest drops first, N at most 100 (default 20).
#[utoipa::path(get, path = "/v1/drops", tag = "cases", params(Params),
    responses((status = 200, body = DropList, description = "The newest drops, with their drop:new event ids"), Errors))]
async fn recent(
    State(state): State<AppState>,
    Query(params): Query<Params>,
) -> Result<Json<DropList>, ApiError> {
    let limit = params.limit.unwrap_or(20);
    check_range("limit", limit, 1, 100)?;
    Ok(Json(DropList {
        drops: state.store.recent_drops(limit).await?,
    }))
}
