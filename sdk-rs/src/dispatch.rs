//! From wire events to hooks: drops repeats by outbox id, fires the typed hooks and `on_event` in
//! order, and turns `sync:required` into refetched state fired through the same hooks.
//!
//! Two cursors, as in the TypeScript SDK: `received` is the transports' resume point (the last id
//! taken off the wire, moved synchronously as each event arrives, so the next request resumes after
//! it), `delivered` the last id every hook has seen (`client.last_event_id()`). Between them sits
//! the fire queue: the transport hands each accepted event to one firing task, which calls the
//! hooks in order. While that task refetches state after `sync:required`, later events wait in the
//! queue, so live events never overtake the refetched state.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cyberhub_protocol::{
    BalanceReason, BalanceUpdated, CaseAction, CasesUpdated, InventoryAction, InventoryUpdated,
    ServerEvent, SyncReason, SyncRequired,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::hooks::{Hooks, lock};
use crate::rest::{ChatHistoryQuery, Rest, WireEvent};
use crate::types::{EventMeta, ResyncSnapshot};

/// One item of the fire queue.
#[derive(Debug)]
pub(crate) enum Job {
    /// A wire event to fire through its hook and `on_event`.
    Event(i64, ServerEvent),
    /// A `sync:required` (its id, payload, and generation): fire it, refetch, fire the snapshot.
    Sync(i64, SyncRequired, u64),
}

#[derive(Debug, Default)]
struct Cursors {
    received: Option<i64>,
    delivered: Option<i64>,
    /// Counts `sync:required` notices; a resync whose generation is no longer current is dropped.
    generation: u64,
    /// The last balance a hook saw, for the `delta` of a resync's `balance_updated`.
    last_balance: Option<i64>,
}

/// The dispatcher of one client; it outlives the stream sessions (close, then connect resumes).
pub(crate) struct Dispatcher {
    cursors: Mutex<Cursors>,
    hooks: Arc<Hooks>,
}

impl Dispatcher {
    pub(crate) fn new(hooks: Arc<Hooks>, initial: Option<i64>) -> Self {
        Dispatcher {
            cursors: Mutex::new(Cursors {
                received: initial,
                delivered: initial,
                ..Cursors::default()
            }),
            hooks,
        }
    }

    /// The transports' resume point.
    pub(crate) fn received(&self) -> Option<i64> {
        lock(&self.cursors).received
    }

    /// The last id every hook has seen.
    pub(crate) fn delivered(&self) -> Option<i64> {
        lock(&self.cursors).delivered
    }

    /// Sets the starting position when none is known (nothing before it is delivered).
    pub(crate) fn start_at(&self, id: i64) {
        let mut c = lock(&self.cursors);
        if c.received.is_none() {
            c.received = Some(id);
            c.delivered = Some(id);
        }
    }

    /// Forgets what was received but not fired (a session ended with events still queued, or a
    /// resync half done), so the next session fetches them again.
    pub(crate) fn rewind(&self) {
        let mut c = lock(&self.cursors);
        c.received = c.delivered;
    }

    /// Takes one wire event from any source and queues it for the hooks; `ready`, repeats and ids
    /// at or below `received` are dropped. Called by the transport, in each source's id order.
    pub(crate) fn deliver(&self, wire: WireEvent, queue: &mpsc::UnboundedSender<Job>) {
        if wire.event == "ready" {
            return;
        }
        let parsed = ServerEvent::from_parts(&wire.event, &wire.data).ok();
        let mut c = lock(&self.cursors);
        // Queued under the lock, so two sources delivering at once keep the queue in id order.
        match parsed {
            Some(ServerEvent::SyncRequired(data)) => {
                // The same notice again (two sources overlapping during a switch) changes nothing.
                if c.received == Some(data.last_event_id) {
                    return;
                }
                // The server goes on from its own position, which may be below ours (a replaced
                // database): the cursor moves there unconditionally.
                c.received = Some(data.last_event_id);
                c.generation += 1;
                let _ = queue.send(Job::Sync(wire.id, data, c.generation));
            }
            parsed => {
                if c.received.is_some_and(|r| wire.id <= r) {
                    return;
                }
                c.received = Some(wire.id);
                match parsed {
                    Some(event) => {
                        let _ = queue.send(Job::Event(wire.id, event));
                    }
                    // An event newer than this SDK (or one it cannot read): skip it, keep the stream.
                    None => {
                        tracing::debug!(id = wire.id, event = %wire.event, "skipped an unknown event")
                    }
                }
            }
        }
    }

    /// Fires one wire event: its hook, then `on_event`. The `match` is exhaustive on purpose: a new
    /// protocol event does not compile until it has a hook.
    pub(crate) fn fire(&self, id: i64, event: &ServerEvent) {
        {
            let mut c = lock(&self.cursors);
            c.delivered = Some(c.delivered.unwrap_or(0).max(id));
            if let ServerEvent::BalanceUpdated(e) = event {
                c.last_balance = Some(e.balance);
            }
        }
        let meta = EventMeta { id, resync: None };
        let hooks = &self.hooks;
        match event {
            ServerEvent::CasesUpdated(e) => hooks.cases_updated.emit(|h| h(e, meta.clone())),
            ServerEvent::DropNew(e) => hooks.drop_new.emit(|h| h(e, meta.clone())),
            ServerEvent::Announcement(e) => hooks.announcement.emit(|h| h(e, meta.clone())),
            ServerEvent::BalanceUpdated(e) => hooks.balance_updated.emit(|h| h(e, meta.clone())),
            ServerEvent::InventoryUpdated(e) => {
                hooks.inventory_updated.emit(|h| h(e, meta.clone()))
            }
            ServerEvent::ChatMessage(e) => hooks.chat_message.emit(|h| h(e, meta.clone())),
            ServerEvent::ChatDeleted(e) => hooks.chat_deleted.emit(|h| h(e, meta.clone())),
            ServerEvent::ChatMuted(e) => hooks.chat_muted.emit(|h| h(e, meta.clone())),
            ServerEvent::SyncRequired(e) => hooks.sync_required.emit(|h| h(e, meta.clone())),
            // The transport's handshake: apps see it as `on_connection_change` turning connected.
            ServerEvent::Ready(_) => return,
        }
        hooks.event.emit(|h| h(event, meta.clone()));
    }

    /// Fires `sync:required` itself: the delivered cursor moves to where the server goes on.
    pub(crate) fn fire_sync(&self, id: i64, data: &SyncRequired) {
        lock(&self.cursors).delivered = Some(data.last_event_id);
        let meta = EventMeta { id, resync: None };
        self.hooks.sync_required.emit(|h| h(data, meta.clone()));
        let event = ServerEvent::SyncRequired(data.clone());
        self.hooks.event.emit(|h| h(&event, meta.clone()));
    }

    /// Whether `generation` is still the newest `sync:required`.
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        lock(&self.cursors).generation == generation
    }

    /// Fires refetched state through the usual hooks, with `meta.resync` set and `meta.id` the id of
    /// the `sync:required`: one `balance_updated` (`reason: sync`, `delta` from the last balance
    /// seen), `inventory_updated` `added` per item oldest first, `cases_updated`
    /// `updated` per case in list order, `chat_message` per message oldest first.
    pub(crate) fn fire_snapshot(&self, id: i64, snapshot: ResyncSnapshot) {
        let snapshot = Arc::new(snapshot);
        let meta = EventMeta {
            id,
            resync: Some(snapshot.clone()),
        };
        let hooks = &self.hooks;
        if let Some(me) = &snapshot.me {
            let last = lock(&self.cursors).last_balance.replace(me.balance);
            let balance = BalanceUpdated {
                user_id: me.id,
                balance: me.balance,
                delta: last.map_or(0, |last| me.balance - last),
                // The protocol's reason for a refetched balance (the server never sends it).
                reason: BalanceReason::Sync,
                note: None,
            };
            hooks.balance_updated.emit(|h| h(&balance, meta.clone()));
        }
        let user_id = snapshot.me.as_ref().map_or(0, |me| me.id);
        for item in snapshot.inventory.iter().flatten().rev() {
            let e = InventoryUpdated {
                user_id,
                action: InventoryAction::Added,
                item: item.clone(),
                fair: None,
            };
            hooks.inventory_updated.emit(|h| h(&e, meta.clone()));
        }
        for case in snapshot.cases.iter().flatten() {
            let e = CasesUpdated {
                case_id: case.id,
                action: CaseAction::Updated,
            };
            hooks.cases_updated.emit(|h| h(&e, meta.clone()));
        }
        for message in snapshot.chat.iter().flatten().rev() {
            hooks.chat_message.emit(|h| h(message, meta.clone()));
        }
    }

    /// The firing task of one session: takes the queue in order until the session stops.
    pub(crate) async fn run(
        self: Arc<Self>,
        http: Arc<Rest>,
        mut queue: mpsc::UnboundedReceiver<Job>,
        stop: CancellationToken,
    ) {
        loop {
            let job = tokio::select! {
                biased;
                _ = stop.cancelled() => return,
                job = queue.recv() => match job { Some(job) => job, None => return },
            };
            match job {
                Job::Event(id, event) => self.fire(id, &event),
                Job::Sync(id, data, generation) => {
                    self.fire_sync(id, &data);
                    let snapshot = tokio::select! {
                        _ = stop.cancelled() => return,
                        snapshot = load_snapshot(&http, data.reason) => snapshot,
                    };
                    // A newer sync:required arrived meanwhile: it refetches for itself.
                    if self.is_current(generation) {
                        self.fire_snapshot(id, snapshot);
                    }
                }
            }
        }
    }
}

/// Refetches what `sync:required` names: cases and chat always, `me` and the inventory with a
/// token. A part that cannot be loaded (a refusal, or still failing after 5 tries) is left out.
pub(crate) async fn load_snapshot(http: &Rest, reason: SyncReason) -> ResyncSnapshot {
    let signed_in = http.token().is_some();
    let (cases, chat, me, inventory) = tokio::join!(
        retrying(|| http.cases()),
        retrying(|| http.chat_history(ChatHistoryQuery::default())),
        async {
            match signed_in {
                true => retrying(|| http.me()).await.ok(),
                false => None,
            }
        },
        async {
            match signed_in {
                true => retrying(|| http.inventory()).await.ok(),
                false => None,
            }
        },
    );
    ResyncSnapshot {
        reason,
        me,
        inventory,
        cases: cases.ok(),
        chat: chat.ok(),
    }
}

/// Retries a refetch on failures that may pass (no answer, 5xx, 429), 5 tries in all, 250 ms
/// doubling between them; a refusal (4xx) is final: a server without the chat answers 404 and the
/// snapshot goes without chat.
async fn retrying<T, F, Fut>(load: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match load().await {
            Ok(value) => return Ok(value),
            Err(e) if e.is_transient() && attempt < 4 => {
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use cyberhub_protocol::{
        Announcement, ChatDeleted, ChatMessage, ChatMuted, DropNew, InventoryItem, Rarity, Ready,
        Role,
    };

    use super::*;

    /// One sample of every event, each with the hook the dispatcher must call for it. The `match`
    /// has no wildcard: a variant added to the protocol fails to compile here until it is mapped.
    fn hook_of(event: &ServerEvent) -> Option<&'static str> {
        match event {
            ServerEvent::CasesUpdated(_) => Some("on_cases_updated"),
            ServerEvent::DropNew(_) => Some("on_drop"),
            ServerEvent::Announcement(_) => Some("on_announcement"),
            ServerEvent::BalanceUpdated(_) => Some("on_balance_updated"),
            ServerEvent::InventoryUpdated(_) => Some("on_inventory_updated"),
            ServerEvent::ChatMessage(_) => Some("on_chat_message"),
            ServerEvent::ChatDeleted(_) => Some("on_chat_deleted"),
            ServerEvent::ChatMuted(_) => Some("on_chat_muted"),
            ServerEvent::SyncRequired(_) => Some("on_sync_required"),
            // The handshake reaches apps as on_connection_change, never as an event hook.
            ServerEvent::Ready(_) => None,
        }
    }

    fn item() -> InventoryItem {
        InventoryItem {
            id: 1,
            name: "Sticker".into(),
            rarity: Rarity::Rare,
            value: 700,
            case_id: 1,
            case_name: "Starter".into(),
            won_at: 0,
        }
    }

    fn samples() -> Vec<ServerEvent> {
        vec![
            ServerEvent::CasesUpdated(CasesUpdated {
                case_id: 1,
                action: CaseAction::Created,
            }),
            ServerEvent::DropNew(DropNew {
                username: "alice".into(),
                case: "Starter".into(),
                case_id: 1,
                item: "Sticker".into(),
                rarity: Rarity::Rare,
                value: 700,
            }),
            ServerEvent::Announcement(Announcement { text: "hi".into() }),
            ServerEvent::BalanceUpdated(BalanceUpdated {
                user_id: 2,
                balance: 100,
                delta: -5,
                reason: BalanceReason::CaseOpened,
                note: None,
            }),
            ServerEvent::InventoryUpdated(InventoryUpdated {
                user_id: 2,
                action: InventoryAction::Added,
                item: item(),
                fair: Some(cyberhub_protocol::FairDraw {
                    server_seed_hash: "ab".repeat(32),
                    client_seed: "c".into(),
                    nonce: 0,
                }),
            }),
            ServerEvent::ChatMessage(ChatMessage {
                id: 1,
                user_id: 2,
                username: "alice".into(),
                role: Role::User,
                text: "gg".into(),
                sent_at: 0,
            }),
            ServerEvent::ChatDeleted(ChatDeleted { id: 1 }),
            ServerEvent::ChatMuted(ChatMuted {
                user_id: 2,
                muted_until: None,
                reason: "ok".into(),
            }),
            ServerEvent::SyncRequired(SyncRequired {
                reason: SyncReason::Expired,
                last_event_id: 3,
            }),
            ServerEvent::Ready(Ready {
                last_event_id: 3,
                user_id: None,
                heartbeat_secs: 15,
            }),
        ]
    }

    /// Registers a recording listener on every hook of `hooks`.
    fn record_all(hooks: &Hooks, seen: &Arc<Mutex<Vec<String>>>) -> Vec<crate::Subscription> {
        macro_rules! rec {
            ($field:ident, $name:literal) => {{
                let seen = seen.clone();
                hooks.$field.add(Box::new(move |_, meta: EventMeta| {
                    seen.lock().unwrap().push(format!("{} {}", $name, meta.id))
                }))
            }};
        }
        vec![
            rec!(cases_updated, "on_cases_updated"),
            rec!(balance_updated, "on_balance_updated"),
            rec!(inventory_updated, "on_inventory_updated"),
            rec!(drop_new, "on_drop"),
            rec!(announcement, "on_announcement"),
            rec!(sync_required, "on_sync_required"),
            rec!(chat_message, "on_chat_message"),
            rec!(chat_deleted, "on_chat_deleted"),
            rec!(chat_muted, "on_chat_muted"),
            rec!(event, "on_event"),
        ]
    }

    #[test]
    fn every_event_reaches_its_hook_and_on_event() {
        let hooks = Arc::new(Hooks::new());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let _subs = record_all(&hooks, &seen);
        let dispatcher = Dispatcher::new(hooks, Some(0));
        for (i, event) in samples().iter().enumerate() {
            let id = i as i64 + 1;
            seen.lock().unwrap().clear();
            dispatcher.fire(id, event);
            let expected: Vec<String> = match hook_of(event) {
                Some(hook) => vec![format!("{hook} {id}"), format!("on_event {id}")],
                None => vec![],
            };
            assert_eq!(*seen.lock().unwrap(), expected, "{}", event.name());
        }
    }

    #[test]
    fn every_event_parses_back_from_its_wire_form() {
        for event in samples() {
            assert_eq!(
                ServerEvent::from_parts(event.name(), &event.data_json()).ok(),
                Some(event)
            );
        }
        assert_eq!(ServerEvent::from_parts("from:the-future", "{}").ok(), None);
        assert_eq!(
            ServerEvent::from_parts("announcement", "{\"txt\":1}").ok(),
            None
        );
        assert_eq!(
            ServerEvent::from_parts("announcement", "not json").ok(),
            None
        );
    }

    fn wire(id: i64, event: &ServerEvent) -> WireEvent {
        WireEvent {
            id,
            event: event.name().to_owned(),
            data: event.data_json(),
        }
    }

    fn queued(rx: &mut mpsc::UnboundedReceiver<Job>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(job) = rx.try_recv() {
            out.push(match job {
                Job::Event(id, e) => format!("{id} {}", e.name()),
                Job::Sync(id, d, g) => format!("{id} sync->{} g{g}", d.last_event_id),
            });
        }
        out
    }

    #[test]
    fn repeats_and_old_ids_are_dropped_and_unknown_events_advance_the_cursor() {
        let dispatcher = Dispatcher::new(Arc::new(Hooks::new()), None);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let ann = ServerEvent::Announcement(Announcement { text: "x".into() });
        dispatcher.start_at(10);
        dispatcher.start_at(99); // only the first starting point counts
        for id in [9, 10, 11, 11, 12, 11] {
            dispatcher.deliver(wire(id, &ann), &tx);
        }
        dispatcher.deliver(
            WireEvent {
                id: 13,
                event: "from:the-future".into(),
                data: "{}".into(),
            },
            &tx,
        );
        dispatcher.deliver(wire(14, &ann), &tx);
        assert_eq!(
            queued(&mut rx),
            ["11 announcement", "12 announcement", "14 announcement"]
        );
        assert_eq!(dispatcher.received(), Some(14));
        assert_eq!(dispatcher.delivered(), Some(10), "nothing fired yet");
        dispatcher.rewind();
        assert_eq!(
            dispatcher.received(),
            Some(10),
            "unfired events are fetched again"
        );
    }

    #[test]
    fn sync_required_moves_the_cursor_down_once() {
        let dispatcher = Dispatcher::new(Arc::new(Hooks::new()), Some(1_000_000));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let sync = ServerEvent::SyncRequired(SyncRequired {
            reason: SyncReason::Ahead,
            last_event_id: 40,
        });
        let ann = ServerEvent::Announcement(Announcement { text: "x".into() });
        dispatcher.deliver(wire(40, &sync), &tx);
        dispatcher.deliver(wire(40, &sync), &tx); // the same notice from a second source
        dispatcher.deliver(wire(41, &ann), &tx);
        assert_eq!(queued(&mut rx), ["40 sync->40 g1", "41 announcement"]);
        assert!(dispatcher.is_current(1));
    }

    #[test]
    fn a_snapshot_fires_in_the_documented_order_with_resync_meta() {
        let hooks = Arc::new(Hooks::new());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let _subs = record_all(&hooks, &seen);
        let deltas = Arc::new(Mutex::new(Vec::new()));
        let _balance = {
            let deltas = deltas.clone();
            hooks
                .balance_updated
                .add(Box::new(move |e: &BalanceUpdated, meta: EventMeta| {
                    assert_eq!(meta.is_resync(), e.reason == BalanceReason::Sync);
                    deltas.lock().unwrap().push(e.delta);
                }))
        };
        let dispatcher = Dispatcher::new(hooks, Some(0));
        let live = ServerEvent::BalanceUpdated(BalanceUpdated {
            user_id: 2,
            balance: 100,
            delta: -5,
            reason: BalanceReason::CaseOpened,
            note: None,
        });
        dispatcher.fire(1, &live);
        seen.lock().unwrap().clear();
        let mut older = item();
        older.id = 0;
        let message = |id| ChatMessage {
            id,
            user_id: 2,
            username: "alice".into(),
            role: Role::User,
            text: "gg".into(),
            sent_at: 0,
        };
        dispatcher.fire_snapshot(
            7,
            ResyncSnapshot {
                reason: SyncReason::Expired,
                me: Some(cyberhub_protocol::User {
                    id: 2,
                    username: "alice".into(),
                    role: Role::User,
                    balance: 130,
                }),
                inventory: Some(vec![item(), older]),
                cases: None,
                chat: Some(vec![message(9), message(8)]),
            },
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "on_balance_updated 7",
                "on_inventory_updated 7",
                "on_inventory_updated 7",
                "on_chat_message 7",
                "on_chat_message 7"
            ],
            "no on_event for refetched state"
        );
        assert_eq!(*deltas.lock().unwrap(), [-5, 30]);
    }
}
