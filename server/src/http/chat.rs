//! The club chat: members post with a plain POST and read on the stream they already hold;
//! anyone reads the history; admins delete messages and mute members.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use cyberhub_protocol::{
    ChatHistory, ChatMessageResponse, MuteRequest, MuteResponse, SendChatMessage,
};
use serde::Deserialize;

use super::AppState;
use super::extract::{AdminUser, AuthUser, Json, Path, Query};
use super::validate::{chat_text, check_len, check_range};
use crate::error::ApiError;

/// The longest mute: 30 days, in minutes.
const MAX_MUTE_MINUTES: i64 = 30 * 24 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/chat/messages", get(history).post(send))
        .route("/v1/admin/chat/messages/{id}", delete(remove))
        .route("/v1/admin/users/{id}/mute", post(mute))
}

/// Bearer token only (never the cookie, so no other site can post as a member). The text is
/// checked first, then the sender's rate limit, then (in the write) the mute and the flood guard.
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

#[derive(Debug, Deserialize)]
struct HistoryParams {
    before: Option<i64>,
    limit: Option<i64>,
}

/// Newest first; `before` pages back.
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

#[tracing::instrument(skip_all, fields(admin = %admin.0.username, user_id, minutes = req.minutes))]
async fn mute(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<i64>,
    Json(req): Json<MuteRequest>,
) -> Result<Json<MuteResponse>, ApiError> {
    check_range("minutes", req.minutes, 0, MAX_MUTE_MINUTES)?;
    check_len("reason", &req.reason, 0, 200)?;
    Ok(Json(
        state
            .store
            .mute(user_id, req.minutes, req.reason.trim(), admin.0.id)
            .await?,
    ))
}
