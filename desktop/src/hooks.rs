//! The SDK's hooks, wired to the shared model: every event the stream delivers lands in the model
//! and asks for a repaint. They run on the SDK's firing task (the app's runtime), in event order, and
//! only lock the model for a moment.

use cyberhub_sdk::{Client, EventMeta};

use crate::actions::Actions;
use crate::format::now_ms;
use crate::state::{Live, Shared};
use crate::token_store::TokenStore;

/// Registers every hook for the client's whole life.
pub fn register(client: &Client, shared: &Shared, actions: &Actions, tokens: Option<TokenStore>) {
    // After `sync:required` every hook gets the refetched state in `meta.resync`: the model takes
    // it whole, once, instead of the single change.
    let live = |shared: &Shared, meta: &EventMeta, change: Live| {
        shared.update(|m| match &meta.resync {
            Some(snapshot) => m.apply_resync(meta.id, snapshot),
            None => m.apply_live(change),
        });
    };

    let s = shared.clone();
    client
        .on_balance_updated(move |e, meta| live(&s, &meta, Live::Balance(e.clone())))
        .detach();
    let s = shared.clone();
    client
        .on_inventory_updated(move |e, meta| live(&s, &meta, Live::Inventory(e.clone())))
        .detach();
    let s = shared.clone();
    client
        .on_chat_message(move |e, meta| live(&s, &meta, Live::Chat(e.clone())))
        .detach();
    let s = shared.clone();
    client
        .on_chat_deleted(move |e, meta| live(&s, &meta, Live::ChatDeleted(e.id)))
        .detach();
    let s = shared.clone();
    client
        .on_drop(move |e, meta| {
            let drop = cyberhub_sdk::protocol::RecentDrop {
                id: meta.id,
                at: now_ms(),
                drop: e.clone(),
            };
            live(&s, &meta, Live::Drop(drop));
        })
        .detach();

    let (s, a) = (shared.clone(), actions.clone());
    client
        .on_cases_updated(move |_, meta| match &meta.resync {
            Some(snapshot) => s.update(|m| m.apply_resync(meta.id, snapshot)),
            None => a.reload_cases(),
        })
        .detach();
    let a = actions.clone();
    client
        .on_sync_required(move |_, _| {
            // The refetched state follows through the other hooks; drops are not part of it.
            a.load_drops();
        })
        .detach();
    let s = shared.clone();
    client
        .on_announcement(move |e, meta| s.update(|m| m.add_banner(meta.id, e.text.clone())))
        .detach();
    let s = shared.clone();
    client
        .on_chat_muted(move |e, _| s.update(|m| m.set_mute(e)))
        .detach();

    let (s, a) = (shared.clone(), actions.clone());
    client
        .on_connection_change(move |state| {
            s.update(|m| m.set_connection(state));
            if state.state == cyberhub_sdk::ConnectionStatus::Connected {
                a.retry_failed();
            }
        })
        .detach();
    let s = shared.clone();
    client
        .on_transport_notice(move |notice| s.update(|m| m.notice = Some(notice.clone())))
        .detach();

    let s = shared.clone();
    client
        .on_token_change(move |token| {
            if let Some(store) = &tokens {
                let saved = match token {
                    Some(token) => store.save(token),
                    None => store.clear(),
                };
                if let Err(e) = saved {
                    eprintln!(
                        "cyberhub-desk: cannot update the token file {}: {e}",
                        store.path().display()
                    );
                }
            }
            s.update(|m| m.set_signed_in(token.is_some()));
        })
        .detach();
}
