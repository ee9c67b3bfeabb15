//! The club chat: messages, moderation (delete, mute) and the flood guard. Every change emits its
//! `chat:*` event in the same transaction, like every other change.

use cyberhub_protocol::{ChatDeleted, ChatMessage, ChatMuted, MuteResponse, Role, ServerEvent};
use rusqlite::{OptionalExtension, params};

use super::outbox::emit;
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
        self.write(move |tx| {
            let now = now_ms();
            let mute: Option<(i64, String)> = tx
                .prepare_cached(
                    "SELECT muted_until, reason FROM chat_mutes WHERE user_id = ?1 AND muted_until > ?2",
                )?
                .query_row([user_id, now], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((until, reason)) = mute {
                return Err(StoreError::Muted { until, reason });
            }
            let repeated = tx
                .prepare_cached(
                    "SELECT 1 FROM chat_messages WHERE user_id = ?1 AND sent_at > ?2 AND text = ?3",
                )?
                .exists(params![user_id, now - DUPLICATE_WINDOW_MS, text])?;
            if repeated {
                return Err(StoreError::Conflict {
                    code: "duplicate_message",
                    message: "you sent this same message a moment ago".into(),
                });
            }
            let message = tx
                .prepare_cached(
                    "INSERT INTO chat_messages (user_id, username, role, text, sent_at)
                     SELECT id, username, role, ?2, ?3 FROM users WHERE id = ?1
                     RETURNING id, user_id, username, role, text, sent_at",
                )?
                .query_row(params![user_id, text, now], |r| {
                    Ok(MessageRow {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        username: r.get(2)?,
                        role: r.get(3)?,
                        text: r.get(4)?,
                        sent_at: r.get(5)?,
                    })
                })
                .optional()?
                .map(ChatMessage::from)
                .ok_or(StoreError::NotFound("user"))?;
            emit(tx, &ServerEvent::ChatMessage(message.clone()))?;
            Ok(message)
        })
        .await
    }

    /// Messages newest first, before the message id `before` if given; deleted ones left out.
    pub async fn chat_history(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rows: Vec<MessageRow> = sqlx::query_as(
            "SELECT id, user_id, username, role, text, sent_at FROM chat_messages
             WHERE deleted_at IS NULL AND id < $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(ChatMessage::from).collect())
    }

    /// Marks a message deleted (the row stays for audit) and emits `chat:deleted`; deleting it
    /// again changes and emits nothing.
    pub async fn delete_chat_message(&self, id: i64, by: i64) -> Result<(), StoreError> {
        self.write(move |tx| {
            let deleted_at: Option<Option<i64>> = tx
                .prepare_cached("SELECT deleted_at FROM chat_messages WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            match deleted_at {
                None => Err(StoreError::NotFound("chat message")),
                Some(Some(_)) => Ok(()),
                Some(None) => {
                    tx.prepare_cached(
                        "UPDATE chat_messages SET deleted_at = ?2, deleted_by = ?3 WHERE id = ?1",
                    )?
                    .execute(params![id, now_ms(), by])?;
                    emit(tx, &ServerEvent::ChatDeleted(ChatDeleted { id }))?;
                    Ok(())
                }
            }
        })
        .await
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
        self.write(move |tx| {
            let exists = tx
                .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
                .exists([user_id])?;
            if !exists {
                return Err(StoreError::NotFound("user"));
            }
            let now = now_ms();
            if minutes == 0 {
                let lifted = tx
                    .prepare_cached(
                        "UPDATE chat_mutes SET muted_until = ?2 WHERE user_id = ?1 AND muted_until > ?2",
                    )?
                    .execute([user_id, now])?;
                if lifted > 0 {
                    let event = ChatMuted {
                        user_id,
                        muted_until: None,
                        reason,
                    };
                    emit(tx, &ServerEvent::ChatMuted(event))?;
                }
                return Ok(MuteResponse {
                    user_id,
                    muted_until: None,
                });
            }
            let until = now + minutes * 60_000;
            tx.prepare_cached(
                "INSERT INTO chat_mutes (user_id, muted_until, reason, muted_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (user_id) DO UPDATE SET muted_until = excluded.muted_until,
                     reason = excluded.reason, muted_by = excluded.muted_by,
                     created_at = excluded.created_at",
            )?
            .execute(params![user_id, until, reason, by, now])?;
            let event = ChatMuted {
                user_id,
                muted_until: Some(until),
                reason,
            };
            emit(tx, &ServerEvent::ChatMuted(event))?;
            Ok(MuteResponse {
                user_id,
                muted_until: Some(until),
            })
        })
        .await
    }
}
