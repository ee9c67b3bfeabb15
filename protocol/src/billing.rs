//! The billing bridge: members linked to clients of the club's SmartShell, the payments it has
//! seen, and how it is doing.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// How the bridge to the club's billing system is doing, on this node.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum BillingState {
    /// Not configured: nothing polls.
    Off,
    /// Polling, and the last poll succeeded.
    Ok,
    /// Polling, and the last poll failed (see `last_error`); it retries with backoff.
    Degraded,
    /// Configured, but another node holds the lease and polls (PostgreSQL, several nodes).
    Standby,
}

/// The bridge in `/health` and `GET /v1/admin/billing`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export, optional_fields)]
pub struct BillingStatus {
    pub state: BillingState,
    /// When a poll last succeeded, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<i64>,
    /// Why the last poll failed, while it is failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// `PUT /v1/admin/users/{id}/smartshell`: link a member to a client of the club's SmartShell.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct SmartShellLinkRequest {
    /// The client's uuid in SmartShell.
    #[schema(min_length = 1, max_length = 64)]
    pub client_uuid: String,
}

/// A payment credited to a member.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct BillingCredit {
    /// SmartShell's id of the payment.
    pub payment_id: i64,
    /// Kopecks.
    pub amount: i64,
}

/// The answer to a link: the payments of that client that waited for it, now credited.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct SmartShellLink {
    pub user_id: i64,
    pub client_uuid: String,
    pub credited: Vec<BillingCredit>,
    /// The member's balance after them.
    pub balance: i64,
}

/// A payment of a client that no member is linked to (yet): credited when one is.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct UnmatchedPayment {
    pub payment_id: i64,
    pub client_uuid: String,
    /// Kopecks.
    pub amount: i64,
    /// When SmartShell took it, as SmartShell writes it (club-local `YYYY-MM-DD HH:MM:SS`).
    pub paid_at: String,
}

/// A payment refunded in SmartShell after it was credited, of which not all could be taken back
/// (the member had spent it): the rest is for the club to settle.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct RefundShortfall {
    pub payment_id: i64,
    pub user_id: i64,
    pub username: String,
    /// Kopecks credited for the payment.
    pub amount: i64,
    /// Kopecks taken back.
    pub reversed: i64,
    /// Kopecks that could not be taken back.
    pub shortfall: i64,
    pub refunded_at: i64,
}

/// `GET /v1/admin/billing`: the bridge's state, the payments waiting for a link, and refunds that
/// could not be taken back in full.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct BillingReport {
    pub status: BillingStatus,
    pub unmatched: Vec<UnmatchedPayment>,
    pub shortfalls: Vec<RefundShortfall>,
}
