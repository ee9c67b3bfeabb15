//! The club chat: members post with a plain POST and read on the stream they already hold;
//! anyone reads the history; admins delete messages and mute members.

use axum::extract::State;
use axum::http::StatusCode;
use cyberhub_protocol::{
    ChatHistory, ChatMessageResponse, ChatMuteStatus, MuteRequest, MuteResponse, SendChatMessage,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{AdminUser, AuthUser, Json, Path, Query};
use super::openapi::Errors;
use super::validate::{self, chat_text, check_range};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(history, send))
        .routes(routes!(own_mute))
        .routes(routes!(remove))
        .routes(routes!(mute))
}

/// Bearer token only (never the cookie, so no other site can post as a member). The text is
/// checked first, then the sender's rate limit, then (in the write) the mute and the flood guard.
#[utoipa::path(post, path = "/v1/chat/messages", tag = "chat", security(("bearer" = [])),
    request_body = SendChatMessage,
    responses((status = 201, body = ChatMessageResponse, description = "Posted; chat:message emitted"), Errors))]
#[tracing::instrument(skip_all, fields(user_id = caller.user.id))]
async fn send(
    State(state): State<AppState>,
    caller: AuthUser,
    Json(req): Json<SendChatMessage>,
) -> Result<(StatusCode, Json<ChatMessageResponse>), ApiError> {
    let text = chat_text(&req.text)?;
    state.limits.chat_send.check(&caller.user.id)?;
    let message = state.store.send_chat_message(caller.user.id, &text).await?;
    Ok((StatusCode::CREATED, Json(ChatMessageResponse { message })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HistoryParams {
    /// Only messages older than this message id.
    #[param(minimum = 1)]
    before: Option<i64>,
    /// At most this many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Newest first; `before` pages back.
#[utoipa::path(get, path = "/v1/chat/messages", tag = "chat", params(HistoryParams),
    responses((status = 200, body = ChatHistory, description = "Newest first, deleted ones left out"), Errors))]
async fn history(
    State(state): State<AppState>,
    Query(params): Query<HistoryParams>,
) -> Result<Json<ChatHistory>, ApiError> {
    let limit = params.limit.unwrap_or(50);
    check_range("limit", limit, 1, 200)?;
    if let Some(before) = params.before {
        check_range("before", before, 1, i64::MAX)?;
    }
    let messages = state.store.chat_history(params.before, limit).await?;
    Ok(Json(ChatHistory { messages }))
}

/// The caller's own mute: a page loaded while muted shows it at once.
#[utoipa::path(get, path = "/v1/chat/mute", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = ChatMuteStatus, description = "The mute in force, or nulls"), Errors))]
async fn own_mute(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<ChatMuteStatus>, ApiError> {
    Ok(Json(state.store.chat_mute_status(caller.user.id).await?))
}

#[utoipa::path(delete, path = "/v1/admin/chat/messages/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The chat message")),
    responses((status = 204, description = "Marked deleted; chat:deleted emitted the first time"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username, message_id))]
async fn remove(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(message_id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .delete_chat_message(message_id, admin.0.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/admin/users/{id}/mute", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user")), request_body = MuteRequest,
    responses((status = 200, body = MuteResponse, description = "Muted (or lifted); chat:muted to the user"), Errors))]
#[tracing::instrument(skip_all, fields(admin = %admin.0.username, user_id, minutes = req.minutes))]
async fn mute(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<i64>,
    Json(req): Json<MuteRequest>,
) -> Result<Json<MuteResponse>, ApiError> {
    validate::mute(&req)?;
    Ok(Json(
        state
            .store
            .mute(user_id, req.minutes, req.reason.trim(), admin.0.id)
            .await?,
    ))
}
