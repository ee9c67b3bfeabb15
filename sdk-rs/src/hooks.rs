//! The listener registries behind the `on_*` hooks, and the [`Subscription`] each hook returns.
//!
//! A registry hands out snapshots of its listeners, so a listener may add or cancel listeners (its
//! own included) while it runs; each listener sits behind its own mutex, so it may be `FnMut` and need
//! not be `Sync`. A listener that panics is reported and skipped: it neither stops the others nor
//! ends the stream task.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use cyberhub_protocol::{
    Announcement, BalanceUpdated, CasesUpdated, ChatDeleted, ChatMessage, ChatMuted, DropNew,
    InventoryUpdated, ServerEvent, SyncRequired,
};

use crate::types::{ConnectionState, EventMeta, TransportNotice};

/// Keeps a hook registered. Dropping it, or calling [`Subscription::cancel`], unregisters the hook:
/// no call starts after that (one already running on the stream task finishes).
#[must_use = "dropping a Subscription unregisters its hook at once; keep it, or call .detach()"]
pub struct Subscription {
    cancel: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Subscription {
    /// Unregisters the hook now (the same as dropping the subscription).
    pub fn cancel(mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel();
        }
    }

    /// Keeps the hook registered for the client's whole life, without holding the subscription.
    pub fn detach(mut self) {
        self.cancel = None;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel();
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("active", &self.cancel.is_some())
            .finish()
    }
}

struct Entry<H: ?Sized> {
    id: u64,
    active: Arc<AtomicBool>,
    handler: Arc<Mutex<Box<H>>>,
}

impl<H: ?Sized> Clone for Entry<H> {
    fn clone(&self) -> Self {
        Entry {
            id: self.id,
            active: self.active.clone(),
            handler: self.handler.clone(),
        }
    }
}

struct Registry<H: ?Sized> {
    next_id: AtomicU64,
    entries: Mutex<Vec<Entry<H>>>,
}

/// The listeners of one hook; `H` is the listener's `dyn FnMut(..) + Send` type.
pub(crate) struct Listeners<H: ?Sized> {
    registry: Arc<Registry<H>>,
}

impl<H: ?Sized + Send + 'static> Listeners<H> {
    pub(crate) fn new() -> Self {
        Listeners {
            registry: Arc::new(Registry {
                next_id: AtomicU64::new(0),
                entries: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Adds a listener; the subscription removes it.
    pub(crate) fn add(&self, handler: Box<H>) -> Subscription {
        let id = self.registry.next_id.fetch_add(1, Ordering::Relaxed);
        let active = Arc::new(AtomicBool::new(true));
        lock(&self.registry.entries).push(Entry {
            id,
            active: active.clone(),
            handler: Arc::new(Mutex::new(handler)),
        });
        let registry: Weak<Registry<H>> = Arc::downgrade(&self.registry);
        Subscription {
            cancel: Some(Box::new(move || {
                active.store(false, Ordering::Release);
                if let Some(registry) = registry.upgrade() {
                    lock(&registry.entries).retain(|e| e.id != id);
                }
            })),
        }
    }

    /// Calls every active listener, in the order they were added, with `call`.
    pub(crate) fn emit(&self, mut call: impl FnMut(&mut H)) {
        let snapshot: Vec<Entry<H>> = {
            let entries = lock(&self.registry.entries);
            if entries.is_empty() {
                return;
            }
            entries.clone()
        };
        for entry in snapshot {
            if !entry.active.load(Ordering::Acquire) {
                continue;
            }
            let mut handler = lock(&entry.handler);
            let outcome = catch_unwind(AssertUnwindSafe(|| call(&mut **handler)));
            if outcome.is_err() {
                // The panic message went to the panic hook (stderr by default); carry on.
                tracing::error!("a CyberHub hook panicked; the other hooks and the stream go on");
            }
        }
    }
}

/// Locks a mutex, ignoring poisoning: a panicking listener must not disable the registry.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A hook for one event: the typed payload and its [`EventMeta`].
pub(crate) type EventFn<T> = dyn FnMut(&T, EventMeta) + Send;

/// A hook for token changes.
pub(crate) type TokenFn = dyn FnMut(Option<&str>) + Send;

/// Every registry of one client.
pub(crate) struct Hooks {
    pub cases_updated: Listeners<EventFn<CasesUpdated>>,
    pub balance_updated: Listeners<EventFn<BalanceUpdated>>,
    pub inventory_updated: Listeners<EventFn<InventoryUpdated>>,
    pub drop_new: Listeners<EventFn<DropNew>>,
    pub announcement: Listeners<EventFn<Announcement>>,
    pub sync_required: Listeners<EventFn<SyncRequired>>,
    pub chat_message: Listeners<EventFn<ChatMessage>>,
    pub chat_deleted: Listeners<EventFn<ChatDeleted>>,
    pub chat_muted: Listeners<EventFn<ChatMuted>>,
    pub event: Listeners<EventFn<ServerEvent>>,
    pub connection: Listeners<dyn FnMut(ConnectionState) + Send>,
    pub token: Listeners<TokenFn>,
    pub notice: Listeners<dyn FnMut(&TransportNotice) + Send>,
}

impl Hooks {
    pub(crate) fn new() -> Self {
        Hooks {
            cases_updated: Listeners::new(),
            balance_updated: Listeners::new(),
            inventory_updated: Listeners::new(),
            drop_new: Listeners::new(),
            announcement: Listeners::new(),
            sync_required: Listeners::new(),
            chat_message: Listeners::new(),
            chat_deleted: Listeners::new(),
            chat_muted: Listeners::new(),
            event: Listeners::new(),
            connection: Listeners::new(),
            token: Listeners::new(),
            notice: Listeners::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Counter = dyn FnMut(&mut Vec<u32>) + Send;

    #[test]
    fn cancel_and_drop_unregister_and_detach_keeps() {
        let listeners: Listeners<dyn FnMut(u32) + Send> = Listeners::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let add = |tag: u32| {
            let seen = seen.clone();
            listeners.add(Box::new(move |v| seen.lock().unwrap().push(tag * 100 + v)))
        };
        let a = add(1);
        let b = add(2);
        add(3).detach();
        listeners.emit(|h| h(1));
        a.cancel();
        listeners.emit(|h| h(2));
        drop(b);
        listeners.emit(|h| h(3));
        assert_eq!(*seen.lock().unwrap(), vec![101, 201, 301, 202, 302, 303]);
    }

    #[test]
    fn a_panicking_listener_does_not_stop_the_others() {
        let listeners: Listeners<Counter> = Listeners::new();
        let _a = listeners.add(Box::new(|_| panic!("app bug")));
        let _b = listeners.add(Box::new(|v| v.push(1)));
        let mut v = Vec::new();
        // The default panic hook prints the message; that is the report.
        listeners.emit(|h| h(&mut v));
        listeners.emit(|h| h(&mut v));
        assert_eq!(v, vec![1, 1]);
    }

    #[test]
    fn a_listener_may_cancel_itself_while_running() {
        let listeners: Arc<Listeners<dyn FnMut() + Send>> = Arc::new(Listeners::new());
        let slot: Arc<Mutex<Option<Subscription>>> = Arc::new(Mutex::new(None));
        let count = Arc::new(AtomicU64::new(0));
        let sub = {
            let slot = slot.clone();
            let count = count.clone();
            listeners.add(Box::new(move || {
                count.fetch_add(1, Ordering::SeqCst);
                if let Some(sub) = slot.lock().unwrap().take() {
                    sub.cancel();
                }
            }))
        };
        *slot.lock().unwrap() = Some(sub);
        listeners.emit(|h| h());
        listeners.emit(|h| h());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
