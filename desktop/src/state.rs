//! What the window shows, in one place. The SDK's hooks and the REST calls write it from the network
//! runtime; the UI thread reads it once per frame. Every write goes through [`Shared::update`], which
//! asks egui for a repaint afterwards: the window redraws when something changed, and only then.
//!
//! Lists are loaded over REST once the stream's starting position is fixed, so every later change
//! also arrives as an event. Events that arrive while a load is in flight are kept in a journal and
//! applied again on top of the loaded list; applying an event is idempotent (by id), so whether the
//! load saw the change or not, the list ends right.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use cyberhub_sdk::protocol::{
    BalanceReason, BalanceUpdated, Case, ChatMessage, ChatMuteStatus, ChatMuted, InventoryAction,
    InventoryItem, InventoryUpdated, RecentDrop, User,
};
use cyberhub_sdk::{
    ConnectionState, ConnectionStatus, ResyncSnapshot, TransportKind, TransportNotice,
};

/// Drops kept in the live feed.
pub const FEED_LEN: usize = 30;
/// Chat messages kept (the newest).
pub const CHAT_LEN: usize = 100;
/// Announcements shown at once (the newest).
const BANNERS: usize = 3;

/// A refused or failed call, kept as data and put into words when drawn (so a language switch
/// applies to errors already shown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The server's stable code, or `network_error`, `invalid_response`.
    pub code: String,
    /// The SDK's description, shown for codes the window has no text for.
    pub message: String,
    pub retry_after_secs: Option<u64>,
    /// When a refusal ends by itself (a mute, a rate limit), Unix ms.
    pub until: Option<i64>,
}

impl Problem {
    /// Whole seconds until trying again may succeed, when the server said.
    pub fn wait_secs(&self, now_ms: i64) -> Option<u64> {
        self.retry_after_secs
            .or_else(|| {
                self.until
                    .map(|until| ((until - now_ms).max(0) as u64).div_ceil(1000))
            })
            .filter(|secs| *secs > 0)
    }
}

impl From<cyberhub_sdk::Error> for Problem {
    fn from(error: cyberhub_sdk::Error) -> Problem {
        let until = match &error {
            cyberhub_sdk::Error::Api { until, .. } => *until,
            _ => None,
        };
        Problem {
            code: error.code().to_owned(),
            message: error.to_string(),
            retry_after_secs: error.retry_after().map(|d| d.as_secs()),
            until,
        }
    }
}

/// A list (or the user) as loaded over REST: nothing yet, the data, or why it failed.
#[derive(Debug)]
pub struct Loadable<T> {
    pub data: Option<T>,
    pub error: Option<Problem>,
}

impl<T> Default for Loadable<T> {
    fn default() -> Self {
        Loadable {
            data: None,
            error: None,
        }
    }
}

impl<T> Loadable<T> {
    fn set(&mut self, result: Result<T, Problem>) {
        match result {
            Ok(data) => {
                self.data = Some(data);
                self.error = None;
            }
            Err(problem) => self.error = Some(problem),
        }
    }

    /// Failed and has nothing to show: worth loading again once connected.
    pub fn failed(&self) -> bool {
        self.data.is_none() && self.error.is_some()
    }
}

/// An event that changes a list, as the journal keeps it.
#[derive(Clone, Debug)]
pub enum Live {
    Balance(BalanceUpdated),
    Inventory(InventoryUpdated),
    Drop(RecentDrop),
    Chat(ChatMessage),
    ChatDeleted(i64),
}

/// The answer of one REST load.
#[derive(Debug)]
pub enum Loaded {
    Me(Result<User, Problem>),
    Inventory(Result<Vec<InventoryItem>, Problem>),
    Mute(Result<ChatMuteStatus, Problem>),
    Drops(Result<Vec<RecentDrop>, Problem>),
    Chat(Result<Vec<ChatMessage>, Problem>),
}

impl Loaded {
    /// A load of the signed-in member's own data: dropped when the member changed meanwhile.
    fn is_member(&self) -> bool {
        matches!(self, Loaded::Me(_) | Loaded::Inventory(_) | Loaded::Mute(_))
    }
}

/// Taken when a load or call starts; says which session it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    session: u64,
}

/// An announcement shown as a banner until dismissed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Banner {
    pub id: i64,
    pub text: String,
}

/// This member's mute in the chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mute {
    pub until: i64,
    pub reason: Option<String>,
}

/// A payment that moved the balance from outside the app (a top-up at the desk, its refund),
/// shown beside the balance for a few seconds.
#[derive(Clone, Debug)]
pub struct Payment {
    pub topup: bool,
    pub amount: i64,
    pub at: Instant,
}

/// The calls in flight, so their buttons show it and cannot be pressed twice.
#[derive(Debug, Default)]
pub struct Busy {
    pub opening: Option<i64>,
    pub selling: BTreeSet<i64>,
    pub sending: bool,
    pub signing_in: bool,
}

/// Everything the window shows that comes from the server.
#[derive(Debug)]
pub struct Model {
    pub connection: ConnectionState,
    /// The transport's last notice (a retry and its delay, a fallback, a failed probe), the reason
    /// behind an amber or red indicator; cleared once connected over SSE.
    pub notice: Option<TransportNotice>,
    /// The client holds a token.
    pub signed_in: bool,
    pub me: Loadable<User>,
    pub cases: Loadable<Vec<Case>>,
    /// Newest first.
    pub inventory: Loadable<Vec<InventoryItem>>,
    /// Newest first, at most [`FEED_LEN`].
    pub drops: Loadable<Vec<RecentDrop>>,
    /// Oldest first, at most [`CHAT_LEN`].
    pub chat: Loadable<Vec<ChatMessage>>,
    /// Newest first.
    pub banners: Vec<Banner>,
    pub mute: Option<Mute>,
    pub payment: Option<Payment>,
    /// The result of the last opening per case, from this app.
    pub outcomes: HashMap<i64, Result<InventoryItem, Problem>>,
    pub busy: Busy,
    pub sign_in_error: Option<Problem>,
    pub inventory_error: Option<Problem>,
    pub chat_error: Option<Problem>,
    /// A chat message that could not be sent, for the input to take back.
    pub unsent: Option<String>,
    session: u64,
    pending_loads: usize,
    journal: Vec<Live>,
    cases_fetch: u64,
    resync_applied: Option<i64>,
}

impl Model {
    pub fn new(signed_in: bool) -> Model {
        Model {
            connection: ConnectionState::CLOSED,
            notice: None,
            signed_in,
            me: Loadable::default(),
            cases: Loadable::default(),
            inventory: Loadable::default(),
            drops: Loadable::default(),
            chat: Loadable::default(),
            banners: Vec::new(),
            mute: None,
            payment: None,
            outcomes: HashMap::new(),
            busy: Busy::default(),
            sign_in_error: None,
            inventory_error: None,
            chat_error: None,
            unsent: None,
            session: 0,
            pending_loads: 0,
            journal: Vec::new(),
            cases_fetch: 0,
            resync_applied: None,
        }
    }

    /// The balance shown in the top bar, once known.
    pub fn balance(&self) -> Option<i64> {
        self.me.data.as_ref().map(|me| me.balance)
    }

    /// Whether chat sending is refused now.
    pub fn muted_at(&self, now_ms: i64) -> Option<&Mute> {
        self.mute.as_ref().filter(|mute| mute.until > now_ms)
    }

    // ----- the session -----

    /// The token came or went. A different member (or none) must not see the last one's data:
    /// everything of the member is cleared, and calls still in flight for them are ignored.
    pub fn set_signed_in(&mut self, signed_in: bool) {
        self.session += 1;
        self.signed_in = signed_in;
        self.me = Loadable::default();
        self.inventory = Loadable::default();
        self.mute = None;
        self.payment = None;
        self.outcomes.clear();
        self.busy.opening = None;
        self.busy.selling.clear();
        self.busy.sending = false;
        self.inventory_error = None;
        self.chat_error = None;
        self.unsent = None;
    }

    pub fn begin_sign_in(&mut self) {
        self.busy.signing_in = true;
        self.sign_in_error = None;
    }

    pub fn finish_sign_in(&mut self, result: Result<User, Problem>) {
        self.busy.signing_in = false;
        match result {
            Ok(user) => self.me.data = Some(user),
            Err(problem) => self.sign_in_error = Some(problem),
        }
    }

    // ----- loads -----

    /// A REST load starts: events from now on are journaled until every load has finished.
    pub fn begin_load(&mut self) -> Ticket {
        self.pending_loads += 1;
        Ticket {
            session: self.session,
        }
    }

    pub fn finish_load(&mut self, ticket: Ticket, loaded: Loaded) {
        self.pending_loads = self.pending_loads.saturating_sub(1);
        if !(loaded.is_member() && ticket.session != self.session) {
            match loaded {
                Loaded::Me(result) => self.me.set(result),
                Loaded::Inventory(result) => self.inventory.set(result),
                Loaded::Mute(result) => {
                    if let Ok(status) = result {
                        self.mute = status.muted_until.map(|until| Mute {
                            until,
                            reason: status.reason,
                        });
                    }
                }
                Loaded::Drops(result) => self.drops.set(result.map(|mut drops| {
                    drops.truncate(FEED_LEN);
                    drops
                })),
                Loaded::Chat(result) => self.chat.set(result.map(|mut messages| {
                    // The server answers newest first; the window reads top down.
                    messages.reverse();
                    messages
                })),
            }
            for change in self.journal.clone() {
                self.apply(change);
            }
        }
        if self.pending_loads == 0 {
            self.journal.clear();
        }
    }

    /// The case list is fetched again on every `cases:updated` (it carries only the id); the latest
    /// fetch started wins, so an older answer arriving late cannot bring a removed case back.
    pub fn begin_cases_fetch(&mut self) -> u64 {
        self.cases_fetch += 1;
        self.cases_fetch
    }

    pub fn finish_cases_fetch(&mut self, fetch: u64, result: Result<Vec<Case>, Problem>) {
        if fetch == self.cases_fetch {
            self.cases.set(result);
        }
    }

    // ----- live events -----

    /// An event from the stream (not a resync).
    pub fn apply_live(&mut self, change: Live) {
        if self.pending_loads > 0 {
            self.journal.push(change.clone());
        }
        if let Live::Balance(event) = &change
            && matches!(event.reason, BalanceReason::Topup | BalanceReason::Refund)
            && self
                .me
                .data
                .as_ref()
                .is_some_and(|me| me.id == event.user_id)
        {
            self.payment = Some(Payment {
                topup: event.reason == BalanceReason::Topup,
                amount: event.delta.abs(),
                at: Instant::now(),
            });
        }
        self.apply(change);
    }

    fn apply(&mut self, change: Live) {
        match change {
            Live::Balance(event) => {
                if let Some(me) = self.me.data.as_mut()
                    && me.id == event.user_id
                {
                    me.balance = event.balance;
                }
            }
            Live::Inventory(event) => {
                if let Some(items) = self.inventory.data.as_mut() {
                    match event.action {
                        InventoryAction::Added => {
                            if !items.iter().any(|item| item.id == event.item.id) {
                                items.insert(0, event.item);
                            }
                        }
                        InventoryAction::Removed => items.retain(|item| item.id != event.item.id),
                    }
                }
            }
            Live::Drop(drop) => {
                if let Some(drops) = self.drops.data.as_mut()
                    && !drops.iter().any(|d| d.id == drop.id)
                {
                    let at = drops.partition_point(|d| d.id > drop.id);
                    drops.insert(at, drop);
                    drops.truncate(FEED_LEN);
                }
            }
            Live::Chat(message) => {
                if let Some(messages) = self.chat.data.as_mut()
                    && !messages.iter().any(|m| m.id == message.id)
                {
                    let at = messages.partition_point(|m| m.id < message.id);
                    messages.insert(at, message);
                    let excess = messages.len().saturating_sub(CHAT_LEN);
                    messages.drain(..excess);
                }
            }
            Live::ChatDeleted(id) => {
                if let Some(messages) = self.chat.data.as_mut() {
                    messages.retain(|m| m.id != id);
                }
            }
        }
    }

    /// After `sync:required` the SDK refetched the state and passes it to every hook: the lists
    /// are replaced by it once (the calls for each item that follow are the same state again).
    pub fn apply_resync(&mut self, event_id: i64, snapshot: &ResyncSnapshot) {
        if self.resync_applied == Some(event_id) {
            return;
        }
        self.resync_applied = Some(event_id);
        if let Some(me) = &snapshot.me {
            self.me.set(Ok(me.clone()));
        }
        if let Some(items) = &snapshot.inventory {
            self.inventory.set(Ok(items.clone()));
        }
        if let Some(cases) = &snapshot.cases {
            self.begin_cases_fetch();
            self.cases.set(Ok(cases.clone()));
        }
        if let Some(chat) = &snapshot.chat {
            let mut messages = chat.clone();
            messages.truncate(CHAT_LEN);
            messages.reverse();
            self.chat.set(Ok(messages));
        }
    }

    pub fn add_banner(&mut self, id: i64, text: String) {
        self.banners.insert(0, Banner { id, text });
        self.banners.truncate(BANNERS);
    }

    pub fn dismiss_banner(&mut self, id: i64) {
        self.banners.retain(|banner| banner.id != id);
    }

    pub fn set_mute(&mut self, event: &ChatMuted) {
        self.mute = event.muted_until.map(|until| Mute {
            until,
            reason: Some(event.reason.clone()).filter(|r| !r.is_empty()),
        });
    }

    pub fn set_connection(&mut self, state: ConnectionState) {
        self.connection = state;
        if state.state == ConnectionStatus::Connected && state.transport == Some(TransportKind::Sse)
        {
            self.notice = None;
        }
    }

    // ----- the member's calls -----

    pub fn begin_open(&mut self, case_id: i64) -> Ticket {
        self.busy.opening = Some(case_id);
        self.outcomes.remove(&case_id);
        Ticket {
            session: self.session,
        }
    }

    pub fn finish_open(
        &mut self,
        ticket: Ticket,
        case_id: i64,
        result: Result<InventoryItem, Problem>,
    ) {
        if ticket.session == self.session {
            self.busy.opening = None;
            self.outcomes.insert(case_id, result);
        }
    }

    pub fn begin_sell(&mut self, item_id: i64) -> Ticket {
        self.busy.selling.insert(item_id);
        self.inventory_error = None;
        Ticket {
            session: self.session,
        }
    }

    pub fn finish_sell(&mut self, ticket: Ticket, item_id: i64, result: Result<(), Problem>) {
        if ticket.session == self.session {
            self.busy.selling.remove(&item_id);
            self.inventory_error = result.err();
        }
    }

    pub fn begin_send(&mut self) -> Ticket {
        self.busy.sending = true;
        self.chat_error = None;
        Ticket {
            session: self.session,
        }
    }

    pub fn finish_send(&mut self, ticket: Ticket, text: String, result: Result<(), Problem>) {
        if ticket.session == self.session {
            self.busy.sending = false;
            if let Err(problem) = result {
                self.chat_error = Some(problem);
                self.unsent = Some(text);
            }
        }
    }
}

/// The model behind a mutex, and the egui context to wake: what the hooks, the calls and the UI
/// share.
#[derive(Clone)]
pub struct Shared {
    model: Arc<Mutex<Model>>,
    ui: eframe::egui::Context,
}

impl Shared {
    pub fn new(model: Model, ui: eframe::egui::Context) -> Shared {
        Shared {
            model: Arc::new(Mutex::new(model)),
            ui,
        }
    }

    /// Changes the model, then asks for a repaint (after unlocking, so the UI thread never waits
    /// for the repaint request).
    pub fn update<R>(&self, change: impl FnOnce(&mut Model) -> R) -> R {
        let result = change(&mut self.lock());
        self.ui.request_repaint();
        result
    }

    /// The model, for reading (the UI, once per frame) or for a change that needs no repaint.
    pub fn lock(&self) -> MutexGuard<'_, Model> {
        // A panic while holding the lock leaves a model that is still worth showing.
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use cyberhub_sdk::protocol::{Rarity, Role};

    use super::*;

    fn user(balance: i64) -> User {
        User {
            id: 7,
            username: "alice".into(),
            role: Role::User,
            balance,
        }
    }

    fn item(id: i64) -> InventoryItem {
        InventoryItem {
            id,
            name: format!("item {id}"),
            rarity: Rarity::Common,
            value: 100,
            case_id: 1,
            case_name: "Стартовый кейс".into(),
            won_at: 0,
        }
    }

    fn balance(balance: i64, reason: BalanceReason) -> Live {
        Live::Balance(BalanceUpdated {
            user_id: 7,
            balance,
            delta: 500,
            reason,
            note: None,
        })
    }

    fn inventory(action: InventoryAction, id: i64) -> Live {
        Live::Inventory(InventoryUpdated {
            user_id: 7,
            action,
            item: item(id),
            fair: None,
        })
    }

    #[test]
    fn an_event_during_the_load_wins_over_an_older_answer() {
        let mut model = Model::new(true);
        let ticket = model.begin_load();
        model.apply_live(balance(900, BalanceReason::CaseOpened));
        // The answer was read before the event was committed.
        model.finish_load(ticket, Loaded::Me(Ok(user(1000))));
        assert_eq!(model.balance(), Some(900));
        // Once nothing is loading, the journal is gone and events apply directly.
        model.apply_live(balance(1500, BalanceReason::Topup));
        assert_eq!(model.balance(), Some(1500));
        assert!(model.payment.as_ref().is_some_and(|p| p.topup));
    }

    #[test]
    fn inventory_events_are_idempotent_over_the_load() {
        let mut model = Model::new(true);
        let ticket = model.begin_load();
        model.apply_live(inventory(InventoryAction::Added, 3));
        model.apply_live(inventory(InventoryAction::Removed, 1));
        // The load already saw item 3 won but not item 1 sold.
        model.finish_load(ticket, Loaded::Inventory(Ok(vec![item(3), item(1)])));
        let ids: Vec<i64> = model
            .inventory
            .data
            .as_ref()
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(ids, vec![3]);
    }

    #[test]
    fn a_load_for_a_member_who_left_is_ignored() {
        let mut model = Model::new(true);
        let ticket = model.begin_load();
        model.set_signed_in(false);
        model.finish_load(ticket, Loaded::Me(Ok(user(1000))));
        assert_eq!(model.balance(), None);
        let ticket = model.begin_open(1);
        model.set_signed_in(true);
        model.finish_open(ticket, 1, Ok(item(1)));
        assert!(model.outcomes.is_empty());
    }

    #[test]
    fn the_latest_cases_fetch_wins() {
        let mut model = Model::new(false);
        let first = model.begin_cases_fetch();
        let second = model.begin_cases_fetch();
        model.finish_cases_fetch(second, Ok(Vec::new()));
        model.finish_cases_fetch(
            first,
            Err(Problem {
                code: "network_error".into(),
                message: "late".into(),
                retry_after_secs: None,
                until: None,
            }),
        );
        assert_eq!(model.cases.data.as_ref().map(Vec::len), Some(0));
        assert!(model.cases.error.is_none());
    }

    #[test]
    fn chat_keeps_order_and_drops_deleted_messages() {
        let mut model = Model::new(false);
        let message = |id: i64| ChatMessage {
            id,
            user_id: 7,
            username: "alice".into(),
            role: Role::User,
            text: format!("m{id}"),
            sent_at: 0,
        };
        let ticket = model.begin_load();
        model.apply_live(Live::Chat(message(5)));
        model.apply_live(Live::ChatDeleted(2));
        // Newest first, as the server answers.
        model.finish_load(
            ticket,
            Loaded::Chat(Ok(vec![message(4), message(2), message(1)])),
        );
        let ids: Vec<i64> = model
            .chat
            .data
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, vec![1, 4, 5]);
    }
}
