//! Provably fair openings, for the member: the current seed pair, setting one's own client seed or
//! rotating (each reveals the old server seed), and one's openings with all a verifier needs.

use axum::extract::State;
use cyberhub_protocol::{ClientSeedRequest, Fairness, OpeningList, SeedRotation};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AuthUser, Json, Query};
use super::openapi::Errors;
use super::validate;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(current))
        .routes(routes!(client_seed))
        .routes(routes!(rotate))
        .routes(routes!(openings))
}

#[utoipa::path(get, path = "/v1/me/fairness", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Fairness, description = "The current pair: the server seed's hash, the client seed, the next opening's nonce"), Errors))]
async fn current(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<Fairness>, ApiError> {
    Ok(Json(state.store.fairness(caller.user.id).await?))
}

#[utoipa::path(put, path = "/v1/me/fairness/client-seed", tag = "me", security(("bearer" = [])),
    request_body = ClientSeedRequest,
    responses((status = 200, body = SeedRotation, description = "A new pair with this client seed; the old server seed revealed"), Errors))]
#[tracing::instrument(skip_all, fields(user_id = caller.user.id))]
async fn client_seed(
    State(state): State<AppState>,
    caller: AuthUser,
    Json(req): Json<ClientSeedRequest>,
) -> Result<Json<SeedRotation>, ApiError> {
    validate::client_seed(&req.client_seed)?;
    state.limits.write_user.check(&caller.user.id)?;
    Ok(Json(
        state
            .store
            .rotate_seeds(caller.user.id, Some(&req.client_seed))
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/me/fairness/rotate", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = SeedRotation, description = "A new pair; the old server seed revealed"), Errors))]
#[tracing::instrument(skip_all, fields(user_id = caller.user.id))]
async fn rotate(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<SeedRotation>, ApiError> {
    state.limits.write_user.check(&caller.user.id)?;
    Ok(Json(state.store.rotate_seeds(caller.user.id, None).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OpeningsParams {
    /// Only openings older than this opening id.
    #[param(minimum = 1)]
    before: Option<i64>,
    /// At most this many, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/v1/me/openings", tag = "me", security(("bearer" = [])), params(OpeningsParams),
    responses((status = 200, body = OpeningList, description = "The member's openings, newest first, each with its draw, the case's items and weights then, and the server seed once revealed"), Errors))]
async fn openings(
    State(state): State<AppState>,
    caller: AuthUser,
    Query(params): Query<OpeningsParams>,
) -> Result<Json<OpeningList>, ApiError> {
    let limit = params.limit.unwrap_or(20);
    validate::check_range("limit", limit, 1, 100)?;
    if let Some(before) = params.before {
        validate::check_range("before", before, 1, i64::MAX)?;
    }
    Ok(Json(OpeningList {
        openings: state
            .store
            .openings(caller.user.id, params.before, limit)
            .await?,
    }))
}
