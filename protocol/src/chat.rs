//! The club chat: request and response bodies, and the payloads of the `chat:*` events.
//!
//! Members send with `POST /v1/chat/messages` and receive every message on the stream they already
//! hold (SSE or long-poll), so the chat crosses the same proxies as everything else.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::Role;

/// One chat message, as history returns it and as `chat:message` carries it.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct ChatMessage {
    /// The message's own id (not an event id); history pages back with `before`.
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    /// The sender's role when sending; admins' messages stand out in the room.
    pub role: Role,
    pub text: String,
    pub sent_at: i64,
}

/// `chat:deleted`: a moderator removed a message; clients drop it from view.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct ChatDeleted {
    pub id: i64,
}

/// `chat:muted`, to the muted user only: sending is refused until `muted_until`; `None` means a
/// moderator lifted the mute.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct ChatMuted {
    pub user_id: i64,
    pub muted_until: Option<i64>,
    pub reason: String,
}

/// `POST /v1/chat/messages`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct SendChatMessage {
    /// Trimmed; 1 to 500 characters; no control characters but newline.
    #[schema(min_length = 1, max_length = 500)]
    pub text: String,
}

/// The answer to a sent message (201).
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct ChatMessageResponse {
    pub message: ChatMessage,
}

/// `GET /v1/chat/messages?before=ID&limit=N`: newest first, deleted messages left out.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct ChatHistory {
    pub messages: Vec<ChatMessage>,
}

/// `POST /v1/admin/users/{id}/mute`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct MuteRequest {
    /// 1 to 43,200 (30 days); 0 lifts a mute.
    #[schema(minimum = 0, maximum = 43_200)]
    pub minutes: i64,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub reason: String,
}

/// `GET /v1/chat/mute`: whether the caller may send now, so a page loaded during a mute shows it
/// without waiting for a `chat:muted`. Both null when not muted (or the mute has run out).
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct ChatMuteStatus {
    /// Unix ms; sending is refused until then.
    pub muted_until: Option<i64>,
    pub reason: Option<String>,
}

/// Where a mute stands after a moderator's call.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct MuteResponse {
    pub user_id: i64,
    /// `None` once lifted.
    pub muted_until: Option<i64>,
}
