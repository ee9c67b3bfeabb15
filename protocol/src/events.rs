//! The events of the live stream. Names keep the seed's Socket.IO event names.
//!
//! On SSE an event is a frame `id: N`, `event: NAME`, `data: JSON-of-the-payload`; on long-poll it is
//! an [`EventEnvelope`] `{"id": N, "event": NAME, "data": {...}}`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::{ChatDeleted, ChatMessage, ChatMuted, FairDraw, InventoryItem, Rarity};

/// Every event a client can receive, tagged by its wire name.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "event", content = "data")]
#[ts(export)]
pub enum ServerEvent {
    /// Global: a case was created, updated or deleted; refetch it (or drop it).
    #[serde(rename = "cases:updated")]
    CasesUpdated(CasesUpdated),
    /// Global: somebody won an item (the live drop feed).
    #[serde(rename = "drop:new")]
    DropNew(DropNew),
    /// Global: an admin's announcement.
    #[serde(rename = "announcement")]
    Announcement(Announcement),
    /// Per user: the balance changed.
    #[serde(rename = "balance:updated")]
    BalanceUpdated(BalanceUpdated),
    /// Per user: the inventory changed.
    #[serde(rename = "inventory:updated")]
    InventoryUpdated(InventoryUpdated),
    /// Global: a chat message was sent.
    #[serde(rename = "chat:message")]
    ChatMessage(ChatMessage),
    /// Global: a moderator deleted a chat message.
    #[serde(rename = "chat:deleted")]
    ChatDeleted(ChatDeleted),
    /// Per user: a moderator muted (or unmuted) this user in the chat.
    #[serde(rename = "chat:muted")]
    ChatMuted(ChatMuted),
    /// Control: the first frame of every stream, sent at once.
    #[serde(rename = "ready")]
    Ready(Ready),
    /// Control: the client's cursor cannot be resumed from; refetch all state.
    #[serde(rename = "sync:required")]
    SyncRequired(SyncRequired),
}

impl ServerEvent {
    /// The wire name (`event:` line of an SSE frame).
    pub fn name(&self) -> &'static str {
        match self {
            ServerEvent::CasesUpdated(_) => names::CASES_UPDATED,
            ServerEvent::DropNew(_) => names::DROP_NEW,
            ServerEvent::Announcement(_) => names::ANNOUNCEMENT,
            ServerEvent::BalanceUpdated(_) => names::BALANCE_UPDATED,
            ServerEvent::InventoryUpdated(_) => names::INVENTORY_UPDATED,
            ServerEvent::ChatMessage(_) => names::CHAT_MESSAGE,
            ServerEvent::ChatDeleted(_) => names::CHAT_DELETED,
            ServerEvent::ChatMuted(_) => names::CHAT_MUTED,
            ServerEvent::Ready(_) => names::READY,
            ServerEvent::SyncRequired(_) => names::SYNC_REQUIRED,
        }
    }

    /// The user this event is for, or `None` for a global or control event.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            ServerEvent::BalanceUpdated(e) => Some(e.user_id),
            ServerEvent::InventoryUpdated(e) => Some(e.user_id),
            ServerEvent::ChatMuted(e) => Some(e.user_id),
            _ => None,
        }
    }

    /// The payload alone, as JSON (the `data:` line of an SSE frame).
    pub fn data_json(&self) -> String {
        match self {
            ServerEvent::CasesUpdated(e) => to_json(e),
            ServerEvent::DropNew(e) => to_json(e),
            ServerEvent::Announcement(e) => to_json(e),
            ServerEvent::BalanceUpdated(e) => to_json(e),
            ServerEvent::InventoryUpdated(e) => to_json(e),
            ServerEvent::ChatMessage(e) => to_json(e),
            ServerEvent::ChatDeleted(e) => to_json(e),
            ServerEvent::ChatMuted(e) => to_json(e),
            ServerEvent::Ready(e) => to_json(e),
            ServerEvent::SyncRequired(e) => to_json(e),
        }
    }

    /// Rebuilds an event from its wire name and payload JSON, as a client parses an SSE frame or a
    /// long-poll envelope: the envelope is rebuilt around the raw payload, so the payload is parsed
    /// once, straight into its type. An error for a name this version does not know, or a payload
    /// that does not fit it.
    pub fn from_parts(name: &str, data: &str) -> Result<ServerEvent, serde_json::Error> {
        let name = serde_json::to_string(name)?;
        let mut envelope = String::with_capacity(name.len() + data.len() + 20);
        envelope.push_str("{\"event\":");
        envelope.push_str(&name);
        envelope.push_str(",\"data\":");
        envelope.push_str(data);
        envelope.push('}');
        serde_json::from_str(&envelope)
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail: no maps with non-string keys, no foreign types.
    serde_json::to_string(value).expect("event payloads always serialize")
}

/// The wire names, for code that matches on strings (SSE `event:` lines, database rows).
pub mod names {
    pub const CASES_UPDATED: &str = "cases:updated";
    pub const DROP_NEW: &str = "drop:new";
    pub const ANNOUNCEMENT: &str = "announcement";
    pub const BALANCE_UPDATED: &str = "balance:updated";
    pub const INVENTORY_UPDATED: &str = "inventory:updated";
    pub const CHAT_MESSAGE: &str = "chat:message";
    pub const CHAT_DELETED: &str = "chat:deleted";
    pub const CHAT_MUTED: &str = "chat:muted";
    pub const READY: &str = "ready";
    pub const SYNC_REQUIRED: &str = "sync:required";
}

/// An event with its id, as the long-poll endpoint returns it.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct EventEnvelope {
    /// The event's position in the outbox; pass the last one seen to resume.
    pub id: i64,
    #[serde(flatten)]
    pub event: ServerEvent,
}

/// `GET /v1/events/poll`: the events after the cursor, and the cursor to pass next.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct PollResponse {
    pub events: Vec<EventEnvelope>,
    /// Pass as `after` on the next poll.
    pub next: i64,
}

/// What happened to a case.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum CaseAction {
    Created,
    Updated,
    Deleted,
}

/// `cases:updated`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct CasesUpdated {
    pub case_id: i64,
    pub action: CaseAction,
}

/// `drop:new`: one line of the live feed.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct DropNew {
    pub username: String,
    /// The case's name.
    pub case: String,
    pub case_id: i64,
    /// The item's name.
    pub item: String,
    pub rarity: Rarity,
    pub value: i64,
}

/// `announcement`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct Announcement {
    pub text: String,
}

/// Why a balance moved.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BalanceReason {
    /// A case was paid for.
    CaseOpened,
    /// An item was sold back.
    ItemSold,
    /// A payment arrived from the club's billing system.
    Topup,
    /// An admin adjusted the balance; `note` carries the admin's reason.
    Adjustment,
    /// A payment from the club's billing system was refunded there after it was credited, and is
    /// taken back (as far as the balance allows).
    Refund,
    /// Never sent by the server: the SDKs report the balance they refetched after `sync:required`
    /// with it (the delta is from the last balance they had seen).
    Sync,
}

/// `balance:updated`: the new balance and the change that led to it.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct BalanceUpdated {
    pub user_id: i64,
    pub balance: i64,
    pub delta: i64,
    pub reason: BalanceReason,
    /// The admin's reason for an adjustment, the payment id for a top-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub note: Option<String>,
}

/// What happened to an inventory item.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum InventoryAction {
    Added,
    Removed,
}

/// `inventory:updated`: one item added (won) or removed (sold).
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct InventoryUpdated {
    pub user_id: i64,
    pub action: InventoryAction,
    pub item: InventoryItem,
    /// For an item won: what the draw was made under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fair: Option<FairDraw>,
}

/// `ready`: the first frame of a stream. `last_event_id` is where the stream stands: resume from it.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct Ready {
    pub last_event_id: i64,
    /// The authenticated user, or `None` for an anonymous stream of global events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub user_id: Option<i64>,
    /// Seconds between heartbeat comments.
    pub heartbeat_secs: u64,
}

/// Why a client must refetch its state.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SyncReason {
    /// Events after the client's cursor were pruned by retention.
    Expired,
    /// The client's cursor is ahead of the newest event (the database was replaced).
    Ahead,
    /// The client's cursor is further behind than one replay may reach
    /// (`CYBERHUB_REPLAY_MAX_EVENTS`): refetching is cheaper than replaying that much.
    TooFarBehind,
    /// The client's cursor names an event of a history the database no longer has: PostgreSQL
    /// failed over to a replica that had not received it (or was restored to an earlier point).
    /// What the client showed since the fork may never have happened.
    Failover,
}

/// `sync:required`: refetch cases, balance and inventory; the stream continues from `last_event_id`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct SyncRequired {
    pub reason: SyncReason,
    pub last_event_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_flat_id_event_data() {
        let env = EventEnvelope {
            id: 7,
            event: ServerEvent::Announcement(Announcement { text: "hi".into() }),
        };
        let json = serde_json::to_string(&env).unwrap();
        assert_eq!(
            json,
            r#"{"id":7,"event":"announcement","data":{"text":"hi"}}"#
        );
        assert_eq!(serde_json::from_str::<EventEnvelope>(&json).unwrap(), env);
    }

    #[test]
    fn an_sse_frame_parses_back_into_its_event() {
        let ev = ServerEvent::CasesUpdated(CasesUpdated {
            case_id: 3,
            action: CaseAction::Deleted,
        });
        let back = ServerEvent::from_parts(ev.name(), &ev.data_json()).unwrap();
        assert_eq!(back, ev);
        // A name this version does not know, a payload that does not fit, or one that tries to
        // close the envelope early is an error, never another event.
        for (name, data) in [
            ("from:the-future", "{}"),
            ("announcement", r#"{"txt":1}"#),
            ("announcement", "not json"),
            (
                "announcement",
                r#"{"text":"x"},"event":"chat:deleted","data":{"id":1}"#,
            ),
        ] {
            assert!(
                ServerEvent::from_parts(name, data).is_err(),
                "{name} {data}"
            );
        }
    }

    #[test]
    fn optional_note_is_left_out_when_absent() {
        let ev = BalanceUpdated {
            user_id: 1,
            balance: 500,
            delta: -100,
            reason: BalanceReason::CaseOpened,
            note: None,
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"user_id":1,"balance":500,"delta":-100,"reason":"case_opened"}"#
        );
    }
}
