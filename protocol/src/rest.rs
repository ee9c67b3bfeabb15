//! Request and response bodies of the REST API, and the error body every 4xx and 5xx carries.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::{BillingStatus, ErrorCode, FairDraw};

/// What a user may do: members open cases, admins also manage cases, users and balances.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    /// The spelling used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// How rare an item is; drives the colour of the live drop feed.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Rarity {
    Common,
    Uncommon,
    Rare,
    Epic,
    Legendary,
}

impl Rarity {
    /// The spelling used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Rarity::Common => "common",
            Rarity::Uncommon => "uncommon",
            Rarity::Rare => "rare",
            Rarity::Epic => "epic",
            Rarity::Legendary => "legendary",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Rarity> {
        Some(match s {
            "common" => Rarity::Common,
            "uncommon" => Rarity::Uncommon,
            "rare" => Rarity::Rare,
            "epic" => Rarity::Epic,
            "legendary" => Rarity::Legendary,
            _ => return None,
        })
    }
}

/// A user as they see themselves (`GET /v1/me`) and as admins see them.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// Minor units (kopecks).
    pub balance: i64,
}

/// `POST /v1/auth/login`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The answer to a login: an opaque bearer token (also set as an HttpOnly cookie scoped to the
/// stream endpoints) and the user it belongs to.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct LoginResponse {
    pub token: String,
    pub user: User,
}

/// One possible drop of a case, with its draw weight.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct CaseItem {
    pub id: i64,
    pub name: String,
    pub rarity: Rarity,
    /// What the item sells back for, in minor units.
    pub value: i64,
    /// Relative draw weight: an item's chance is its weight over the case's total weight.
    pub weight: i64,
}

/// A loot case as everyone sees it.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct Case {
    pub id: i64,
    pub name: String,
    /// Minor units.
    pub price: i64,
    pub image_url: String,
    pub items: Vec<CaseItem>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `GET /v1/cases`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct CaseList {
    pub cases: Vec<Case>,
}

/// An item as an admin submits it, in `POST`/`PUT /v1/admin/cases`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct CaseItemInput {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub rarity: Rarity,
    #[schema(minimum = 0, maximum = 1_000_000_000_000i64)]
    pub value: i64,
    #[schema(minimum = 1, maximum = 1_000_000_000i64)]
    pub weight: i64,
}

/// The body of `POST /v1/admin/cases` and `PUT /v1/admin/cases/{id}` (a full replacement).
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct CaseInput {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(minimum = 0, maximum = 1_000_000_000_000i64)]
    pub price: i64,
    /// An http(s) URL or a path starting with `/`; may be empty.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub image_url: String,
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<CaseItemInput>,
}

/// An item a user owns. It keeps the name, rarity and value it was won with, so editing or deleting
/// the case later does not change what the user holds.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct InventoryItem {
    pub id: i64,
    pub name: String,
    pub rarity: Rarity,
    pub value: i64,
    pub case_id: i64,
    pub case_name: String,
    pub won_at: i64,
}

/// `GET /v1/me/inventory`, newest first.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct Inventory {
    pub items: Vec<InventoryItem>,
}

/// `POST /v1/cases/{id}/open`: the item won and the balance after paying for the case, and what
/// the draw was made under (provably fair: `GET /v1/me/fairness`).
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct OpenCaseResponse {
    pub item: InventoryItem,
    pub balance: i64,
    /// The case item drawn (its id among the case's items).
    pub case_item_id: i64,
    pub fair: FairDraw,
    /// In how many milliseconds the drop shows in everyone's feed: the page's roulette runs this
    /// long, so nobody sees the result before the opener.
    pub reveal_in_ms: i64,
}

/// `POST /v1/me/inventory/{id}/sell`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct SellResponse {
    pub item_id: i64,
    pub credited: i64,
    pub balance: i64,
}

/// One line of the live drop feed as `GET /v1/drops` returns it: the `drop:new` event that announced
/// it, with its event id (so a client merging history and live events counts each drop once) and time.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct RecentDrop {
    /// The id of the `drop:new` event.
    pub id: i64,
    /// When it was won, Unix milliseconds.
    pub at: i64,
    #[serde(flatten)]
    pub drop: crate::DropNew,
}

/// `GET /v1/drops?limit=N`: the newest drops first.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct DropList {
    pub drops: Vec<RecentDrop>,
}

/// `POST /v1/admin/users`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct CreateUserRequest {
    #[schema(pattern = "^[A-Za-z0-9_.-]{3,32}$")]
    pub username: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[serde(default)]
    pub role: Role,
}

/// `POST /v1/admin/users/{id}/balance`: a signed change with a reason shown to the user.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct BalanceAdjustRequest {
    /// Signed, not zero.
    #[schema(minimum = -1_000_000_000_000i64, maximum = 1_000_000_000_000i64)]
    pub delta: i64,
    #[schema(min_length = 1, max_length = 200)]
    pub reason: String,
}

/// The balance after an admin adjustment.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct BalanceAdjustResponse {
    pub user_id: i64,
    pub delta: i64,
    pub balance: i64,
}

/// `POST /v1/admin/announcements`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct AnnouncementRequest {
    #[schema(min_length = 1, max_length = 500)]
    pub text: String,
}

/// The id of the `announcement` event that was emitted.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct AnnouncementResponse {
    pub event_id: i64,
}

/// `POST /v1/webhooks/topup` from the club's billing system, signed with
/// `X-CyberHub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct TopupRequest {
    /// The billing system's payment id; the same id is credited once.
    #[schema(min_length = 1, max_length = 128)]
    pub payment_id: String,
    pub user_id: i64,
    #[schema(minimum = 1, maximum = 1_000_000_000_000i64)]
    pub amount: i64,
}

/// The answer to a top-up. A repeated delivery of the same payment gets this same answer again.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug, PartialEq, Eq)]
#[ts(export)]
pub struct TopupResponse {
    pub payment_id: String,
    pub user_id: i64,
    pub amount: i64,
    /// The balance right after this payment was credited.
    pub balance: i64,
    pub credited_at: i64,
}

/// `GET /health`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct Health {
    /// `ok`, or `degraded` when the database does not answer or refuses writes.
    pub status: String,
    /// `active` while the event hub runs, `stopping` during shutdown.
    pub stream: String,
    /// Open stream connections, SSE and long-poll together.
    pub clients: u64,
    pub sse_clients: u64,
    pub poll_clients: u64,
    /// `ok`; `unavailable` when the database does not answer; or, on SQLite, why its storage
    /// refuses writes: `disk_full`, `read_only`, `io_error`. Writes then get 503 at once; reads
    /// and streams go on.
    pub database: String,
    /// The newest event id the hub has published.
    pub last_event_id: i64,
    pub version: String,
    /// The bridge to the club's billing system (SmartShell): `off` when not configured.
    pub billing: BillingStatus,
}

/// The body of every error answer.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A machine-readable `code` (stable, snake_case) and a human-readable `message`.
#[derive(Serialize, Deserialize, TS, ToSchema, Clone, Debug)]
#[ts(export)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// For a refusal that ends by itself (a chat mute, a rate limit): when it ends, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub until: Option<i64>,
}
