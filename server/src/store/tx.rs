//! The statements a write transaction is made of, in the domain's terms. The rules (the balance
//! guard's consequences, the idempotent top-up, the weighted draw, which events a change emits,
//! the chat's flood guard) are written once, in the topic modules of this store, over this trait;
//! each backend implements it in its own dialect (`sqlite::SqliteTx`, `postgres::PgTx`).
//!
//! The methods are `async` for PostgreSQL, whose statements wait on the network. SQLite's run on the
//! writer thread and never wait, so a rule's future completes in one poll there.

use cyberhub_protocol::{
    Case, CaseInput, CaseItem, ChatMessage, InventoryItem, Role, ServerEvent, TopupResponse,
};

use super::StoreError;
use super::billing::{SmartShellPayment, SmartShellRow};
use super::fairness::PairRow;

/// What an opening was drawn under and from, as its record keeps it.
pub struct WinRecord<'a> {
    pub pair_id: i64,
    pub nonce: i64,
    /// The case's items and weights at the opening (JSON).
    pub items_json: &'a str,
}

/// A write transaction in progress. Everything a rule does through it commits together or not at
/// all; events emitted through it reach the hub after the commit.
#[allow(async_fn_in_trait)]
pub trait Tx {
    // ---- accounts and sessions ----

    /// Inserts an account; `None` when the username is taken.
    async fn insert_user(
        &mut self,
        username: &str,
        password_hash: &str,
        role: Role,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Whether an account with this id exists.
    async fn user_exists(&mut self, user_id: i64) -> Result<bool, StoreError>;
    /// The id of the account with this username.
    async fn user_id_by_name(&mut self, username: &str) -> Result<Option<i64>, StoreError>;
    async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Deletes sessions (the database records each revocation). Returns how many went.
    async fn delete_session(&mut self, token_hash: &str) -> Result<u64, StoreError>;
    async fn delete_sessions_of(&mut self, user_id: i64) -> Result<u64, StoreError>;
    async fn delete_expired_sessions(&mut self, now: i64) -> Result<u64, StoreError>;
    /// Forgets revocation records older than `before` (every server has read them).
    async fn forget_revocations(&mut self, before: i64) -> Result<(), StoreError>;

    // ---- cases ----

    /// A case with its items, as this transaction sees it.
    async fn case(&mut self, case_id: i64) -> Result<Option<Case>, StoreError>;
    async fn insert_case(&mut self, input: &CaseInput, now: i64) -> Result<i64, StoreError>;
    /// Replaces a case's fields; `false` when there is no such case.
    async fn update_case(
        &mut self,
        case_id: i64,
        input: &CaseInput,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Replaces a case's items with `input.items`, in order.
    async fn replace_items(&mut self, case_id: i64, input: &CaseInput) -> Result<(), StoreError>;
    /// Deletes a case and its items; `false` when there is no such case.
    async fn delete_case(&mut self, case_id: i64) -> Result<bool, StoreError>;

    // ---- money and items ----

    /// Adds `delta` to a balance unless that would take it below zero or above `max`, and writes
    /// its ledger line, as one step: the guard cannot act on a stale read, and no balance moves
    /// without its line. The new balance and the username, or `None` (nothing written) when the
    /// guard refused or there is no such user.
    async fn add_to_balance(
        &mut self,
        user_id: i64,
        delta: i64,
        max: i64,
        reason: &str,
        note: Option<&str>,
        now: i64,
    ) -> Result<Option<(i64, String)>, StoreError>;
    /// A user's balance.
    async fn balance(&mut self, user_id: i64) -> Result<Option<i64>, StoreError>;
    /// Puts a won item into a user's inventory and records the opening that won it, with what it
    /// was drawn under and from; returns the item's inventory id.
    async fn record_win(
        &mut self,
        user_id: i64,
        case: &Case,
        won: &CaseItem,
        draw: &WinRecord<'_>,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// Removes an item from its owner's inventory and returns it; `None` when the user has no such
    /// item (another user's item is indistinguishable from a missing one).
    async fn take_inventory_item(
        &mut self,
        user_id: i64,
        item_id: i64,
    ) -> Result<Option<InventoryItem>, StoreError>;
    /// Makes concurrent deliveries of one payment wait for each other until this transaction ends.
    async fn lock_payment(&mut self, payment_id: &str) -> Result<(), StoreError>;
    /// A payment already credited.
    async fn payment(&mut self, payment_id: &str) -> Result<Option<TopupResponse>, StoreError>;
    async fn insert_payment(&mut self, payment: &TopupResponse) -> Result<(), StoreError>;

    // ---- chat ----

    /// The end and reason of a mute still running at `now`.
    async fn active_mute(
        &mut self,
        user_id: i64,
        now: i64,
    ) -> Result<Option<(i64, String)>, StoreError>;
    /// Whether the user sent exactly `text` after `since`.
    async fn sent_since(
        &mut self,
        user_id: i64,
        text: &str,
        since: i64,
    ) -> Result<bool, StoreError>;
    /// Stores a message with the sender's name and role as they are now; `None` when there is no
    /// such user.
    async fn insert_chat_message(
        &mut self,
        user_id: i64,
        text: &str,
        now: i64,
    ) -> Result<Option<ChatMessage>, StoreError>;
    /// `None` for no such message; `Some(None)` for one not deleted; `Some(Some(at))` for one that is.
    async fn chat_deleted_at(&mut self, message_id: i64)
    -> Result<Option<Option<i64>>, StoreError>;
    async fn mark_chat_deleted(
        &mut self,
        message_id: i64,
        now: i64,
        by: i64,
    ) -> Result<(), StoreError>;
    /// Ends a mute running at `now`; returns whether there was one.
    async fn lift_mute(&mut self, user_id: i64, now: i64) -> Result<bool, StoreError>;
    async fn set_mute(
        &mut self,
        user_id: i64,
        until: i64,
        reason: &str,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    // ---- provably fair openings ----

    /// The member's current seed pair.
    async fn current_pair(&mut self, user_id: i64) -> Result<Option<PairRow>, StoreError>;
    /// Stores a new current pair; its id, or `None` when the member has one already.
    async fn insert_pair(
        &mut self,
        user_id: i64,
        pair: &PairRow,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Takes the next nonce of the member's current pair: the pair, with the nonce taken as its
    /// `next_nonce`; `None` when the member has no current pair.
    async fn take_nonce(&mut self, user_id: i64) -> Result<Option<PairRow>, StoreError>;
    /// Ends a pair, its seed in the open: the nonce its next opening would have had, or `None`
    /// when it had ended already.
    async fn reveal_pair(
        &mut self,
        pair_id: i64,
        seed: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;
    /// Writes an event to be published at `due_at` (Unix ms).
    async fn schedule_event(
        &mut self,
        event: &ServerEvent,
        due_at: i64,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Takes the scheduled events due at `now` (and any due after `latest`, which only a clock
    /// that stepped back can make), oldest first, at most `limit`; another transaction taking them
    /// at once gets others.
    async fn take_due_events(
        &mut self,
        now: i64,
        latest: i64,
        limit: i64,
    ) -> Result<Vec<ServerEvent>, StoreError>;

    /// Stores a setting the nodes of one database share.
    async fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    // ---- the billing bridge ----

    /// What the store knows of a SmartShell payment: who it was credited to, its amount, and when
    /// it was credited and refunded.
    async fn smartshell_payment(
        &mut self,
        club: i64,
        payment_id: i64,
    ) -> Result<Option<SmartShellRow>, StoreError>;
    /// Records a payment seen for the first time, neither credited nor refunded yet.
    async fn insert_smartshell_payment(
        &mut self,
        club: i64,
        payment: &SmartShellPayment,
        now: i64,
    ) -> Result<(), StoreError>;
    async fn mark_smartshell_credited(
        &mut self,
        club: i64,
        payment_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<(), StoreError>;
    async fn mark_smartshell_refunded(
        &mut self,
        club: i64,
        payment_id: i64,
        now: i64,
        reversed: i64,
        shortfall: i64,
    ) -> Result<(), StoreError>;
    /// The member linked to a SmartShell client.
    async fn linked_user(&mut self, client_uuid: &str) -> Result<Option<i64>, StoreError>;
    /// Removes a member's link; whether there was one.
    async fn delete_link(&mut self, user_id: i64) -> Result<bool, StoreError>;
    async fn insert_link(
        &mut self,
        user_id: i64,
        client_uuid: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// A client's payments waiting for a link (not credited, not refunded): club, id, amount.
    async fn unmatched_of(&mut self, client_uuid: &str)
    -> Result<Vec<(i64, i64, i64)>, StoreError>;
    async fn set_billing_state(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    // ---- the outbox ----

    /// Appends an event to the outbox; returns its id. Ids become visible in id order.
    async fn emit(&mut self, event: &ServerEvent, now: i64) -> Result<i64, StoreError>;
    /// Appends several events, in order (a backend may write them in one statement).
    async fn emit_all(&mut self, events: &[ServerEvent], now: i64) -> Result<(), StoreError> {
        for event in events {
            self.emit(event, now).await?;
        }
        Ok(())
    }
    /// Deletes the events up to `cutoff` and raises the retention watermark to it.
    async fn prune_events(&mut self, cutoff: i64) -> Result<u64, StoreError>;
}
