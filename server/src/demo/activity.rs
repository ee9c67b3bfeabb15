//! The demo members at play. With `serve --demo`, a few ordinary accounts ([`super::MEMBERS`]) open
//! cases, sell items back and chat now and then, at a human pace, so that an anonymous visitor sees
//! drops and messages arrive within seconds and the page shows what the product does.
//!
//! Every action is a call of the store's own rules (`open_case`, `sell_item`, `topup`,
//! `send_chat_message`), the same the HTTP handlers call: the balance guard, the weighted draw and
//! the outbox apply as for any member, and a demo member's money comes from top-ups with payment ids
//! of their own, as a club member's would. Only the HTTP layer (tokens, rate limits) is skipped.

use std::time::Duration;

use cyberhub_protocol::{Case, Rarity, TopupRequest};
use rand::RngExt;
use rand::seq::IndexedRandom;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use crate::config::Pace;
use crate::store::{Store, StoreError, now_ms};

/// The longest the club stays without a chat message, and without a drop: "now and then" must
/// still show within the first half minute.
const CHAT_AT_LEAST_EVERY: Duration = Duration::from_secs(20);
const DROP_AT_LEAST_EVERY: Duration = Duration::from_secs(10);

/// What the demo members say in the chat.
const LINES: [&str; 16] = [
    "кто на CS вечером?",
    "gg",
    "опять коврик, да сколько можно",
    "ночной пакет, наконец-то!",
    "админ, за седьмым ПК мышка залипает",
    "кто со мной в дуо?",
    "VIP-кейс того стоит?",
    "ставлю на легендарку в следующем",
    "ребят, кто-нибудь видел мои наушники?",
    "энергетик — лучший дроп, без шуток",
    "турнир в субботу, записываемся",
    "продал кресло, теперь богат",
    "ещё один кейс и спать",
    "кто занял 12-й?",
    "сова сегодня щедрая",
    "всем привет из зала 2",
];

/// Plays the demo members until `shutdown`: one action every `pace` on average (jittered between
/// half and one and a half of it). Failures are logged and the play goes on.
pub async fn run(store: Store, pace: Duration, shutdown: CancellationToken) {
    let members = match super::seed::members(&store).await {
        Ok(members) => members,
        Err(e) => {
            tracing::warn!(error = %e, "demo activity not started: the demo members could not be created");
            return;
        }
    };
    tracing::info!(
        members = ?members.iter().map(|(_, name)| *name).collect::<Vec<_>>(),
        pace_ms = pace.as_millis() as u64,
        "demo activity: the demo members open cases, sell and chat on their own"
    );
    let started = Instant::now();
    // The first message and drop come early, as if the club had been busy before the visitor came.
    let mut last_chat = started - CHAT_AT_LEAST_EVERY + Duration::from_secs(5);
    let mut last_drop = started - DROP_AT_LEAST_EVERY + Duration::from_secs(2);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(jittered(pace)) => {}
        }
        let &(member, name) = members
            .choose(&mut rand::rng())
            .expect("MEMBERS is not empty");
        let action = choose(last_chat.elapsed(), last_drop.elapsed());
        let done = match action {
            Action::Open => open_a_case(&store, member)
                .await
                .map(|()| last_drop = Instant::now()),
            Action::Sell => sell_something(&store, member).await,
            Action::Chat => chat(&store, member)
                .await
                .map(|()| last_chat = Instant::now()),
        };
        if let Err(e) = done {
            tracing::debug!(member = name, ?action, error = %e, "demo action failed");
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Open,
    Sell,
    Chat,
}

/// Mostly openings, some sales, a message now and then; overdue messages and drops come first.
fn choose(since_chat: Duration, since_drop: Duration) -> Action {
    if since_chat >= CHAT_AT_LEAST_EVERY {
        return Action::Chat;
    }
    if since_drop >= DROP_AT_LEAST_EVERY {
        return Action::Open;
    }
    match rand::rng().random_range(0..100) {
        0..60 => Action::Open,
        60..85 => Action::Sell,
        _ => Action::Chat,
    }
}

fn jittered(pace: Duration) -> Duration {
    pace.mul_f64(rand::rng().random_range(0.5..1.5))
}

/// Opens a case the member can pay for, cheaper ones more often; a member short of money first
/// tops up, as at the club's desk.
async fn open_a_case(store: &Store, member: i64) -> Result<(), StoreError> {
    let cases = store.list_cases().await?;
    let Some(case) = pick_case(&cases) else {
        return Ok(());
    };
    let balance = store.user(member).await?.balance;
    if balance < case.price {
        let amount = rand::rng().random_range(5..=20) * 10_000;
        store
            .topup(&TopupRequest {
                payment_id: format!("demo-{member}-{}-{:08x}", now_ms(), rand::random::<u32>()),
                user_id: member,
                amount: amount.max(case.price),
            })
            .await?;
    }
    store.open_case(member, case.id).await.map(drop)
}

/// The cheapest case half of the time, any case otherwise.
fn pick_case(cases: &[Case]) -> Option<&Case> {
    let drawable: Vec<&Case> = cases.iter().filter(|c| !c.items.is_empty()).collect();
    let mut rng = rand::rng();
    if rng.random_bool(0.5) {
        drawable.iter().min_by_key(|c| c.price).copied()
    } else {
        drawable.choose(&mut rng).copied()
    }
}

/// Sells back one of the member's everyday items; rare ones they keep.
async fn sell_something(store: &Store, member: i64) -> Result<(), StoreError> {
    let inventory = store.inventory(member).await?;
    let everyday: Vec<_> = inventory
        .iter()
        .filter(|i| matches!(i.rarity, Rarity::Common | Rarity::Uncommon))
        .collect();
    let Some(item) = everyday.choose(&mut rand::rng()).map(|i| i.id) else {
        return Ok(());
    };
    store.sell_item(member, item).await.map(drop)
}

async fn chat(store: &Store, member: i64) -> Result<(), StoreError> {
    let line = *LINES.choose(&mut rand::rng()).expect("LINES is not empty");
    store.send_chat_message(member, line).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_messages_and_drops_come_first() {
        let long = Duration::from_secs(60);
        let short = Duration::ZERO;
        assert!(matches!(choose(long, short), Action::Chat));
        assert!(matches!(choose(long, long), Action::Chat));
        assert!(matches!(choose(short, long), Action::Open));
    }
}
