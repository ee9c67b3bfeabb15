//! The club chat: messages, moderation (delete, mute) and the flood guard. Every change emits its
//! `chat:*` event in the same transaction, like every other change.

use cyberhub_protocol::{
    ChatDeleted, ChatMessage, ChatMuteStatus, ChatMuted, ErrorCode, MuteResponse, Role, ServerEvent,
};

use super::tx::Tx;
use super::{Store, StoreError, now_ms};

/// The same text from the same sender within this window is refused as a repeat.
pub const DUPLICATE_WINDOW_MS: i64 = 30_000;

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    user_id: i64,
    username: String,
    role: String,
    text: String,
    sent_at: i64,
}

impl From<MessageRow> for ChatMessage {
    fn from(row: MessageRow) -> ChatMessage {
        ChatMessage {
            id: row.id,
            user_id: row.user_id,
            username: row.username,
            role: Role::parse(&row.role).unwrap_or(Role::User),
            text: row.text,
            sent_at: row.sent_at,
        }
    }
}

impl Store {
    /// Posts `text` (already validated) as `user_id`, unless they are muted or sent the same text
    /// within [`DUPLICATE_WINDOW_MS`]; emits `chat:message`.
    pub async fn send_chat_message(
        &self,
        user_id: i64,
        text: &str,
    ) -> Result<ChatMessage, StoreError> {
        let text = text.to_owned();
        transact!(self, |tx| send_chat_message(tx, user_id, &text))
    }

    /// Messages newest first, before the message id `before` if given; deleted ones left out.
    pub async fn chat_history(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rows: Vec<MessageRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, user_id, username, role, text, sent_at FROM chat_messages
                 WHERE deleted_at IS NULL AND id < $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(ChatMessage::from).collect())
    }

    /// The user's mute, if one is in force now.
    pub async fn chat_mute_status(&self, user_id: i64) -> Result<ChatMuteStatus, StoreError> {
        let now = now_ms();
        let row: Option<(i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT muted_until, reason FROM chat_mutes WHERE user_id = $1 AND muted_until > $2",
            )
            .bind(user_id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(ChatMuteStatus {
            muted_until: row.as_ref().map(|(until, _)| *until),
            reason: row.map(|(_, reason)| reason),
        })
    }

    /// Marks a message deleted (the row stays for audit) and emits `chat:deleted`; deleting it
    /// again changes and emits nothing.
    pub async fn delete_chat_message(&self, id: i64, by: i64) -> Result<(), StoreError> {
        transact!(self, |tx| delete_chat_message(tx, id, by))
    }

    /// Mutes `user_id` for `minutes` (0 lifts a mute) and tells them on their own stream with
    /// `chat:muted`. Lifting a mute that is not active changes and emits nothing.
    pub async fn mute(
        &self,
        user_id: i64,
        minutes: i64,
        reason: &str,
        by: i64,
    ) -> Result<MuteResponse, StoreError> {
        let reason = reason.to_owned();
        transact!(self, |tx| mute(tx, user_id, minutes, reason, by))
    }
}

async fn send_chat_message(
    tx: &mut impl Tx,
    user_id: i64,
    text: &str,
) -> Result<ChatMessage, StoreError> {
    let now = now_ms();
    if let Some((until, reason)) = tx.active_mute(user_id, now).await? {
        return Err(StoreError::Muted { until, reason });
    }
    if tx
        .sent_since(user_id, text, now - DUPLICATE_WINDOW_MS)
        .await?
    {
        return Err(StoreError::Conflict {
            code: ErrorCode::DuplicateMessage,
            message: "you sent this same message a moment ago".into(),
        });
    }
    let message = tx
        .insert_chat_message(user_id, text, now)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    tx.emit(&ServerEvent::ChatMessage(message.clone()), now)
        .await?;
    Ok(message)
}

async fn delete_chat_message(tx: &mut impl Tx, id: i64, by: i64) -> Result<(), StoreError> {
    match tx.chat_deleted_at(id).await? {
        None => Err(StoreError::NotFound("chat message")),
        Some(Some(_)) => Ok(()),
        Some(None) => {
            let now = now_ms();
            tx.mark_chat_deleted(id, now, by).await?;
            tx.emit(&ServerEvent::ChatDeleted(ChatDeleted { id }), now)
                .await?;
            Ok(())
        }
    }
}

async fn mute(
    tx: &mut impl Tx,
    user_id: i64,
    minutes: i64,
    reason: String,
    by: i64,
) -> Result<MuteResponse, StoreError> {
    if !tx.user_exists(user_id).await? {
        return Err(StoreError::NotFound("user"));
    }
    let now = now_ms();
    let muted_until = if minutes == 0 {
        if !tx.lift_mute(user_id, now).await? {
            return Ok(MuteResponse {
                user_id,
                muted_until: None,
            });
        }
        None
    } else {
        let until = now + minutes * 60_000;
        tx.set_mute(user_id, until, &reason, by, now).await?;
        Some(until)
    };
    let event = ChatMuted {
        user_id,
        muted_until,
        reason,
    };
    tx.emit(&ServerEvent::ChatMuted(event), now).await?;
    Ok(MuteResponse {
        user_id,
        muted_until,
    })
}
