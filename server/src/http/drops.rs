//! The live drop feed's history, so a fresh page shows the feed at once; new drops arrive on the
//! stream as `drop:new`, with the same ids.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use cyberhub_protocol::DropList;
use serde::Deserialize;

use super::AppState;
use super::extract::{Json, Query};
use super::validate::check_range;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/drops", get(recent))
}

#[derive(Debug, Deserialize)]
struct Params {
    limit: Option<i64>,
}

/// `GET /v1/drops?limit=N`: the newest drops first, N at most 100 (default 20).
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
