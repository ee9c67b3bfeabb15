//! The chaos run's verdict: what the database holds, compared with what every writer was told and
//! what every client was shown.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cyberhub_protocol::{InventoryAction, ServerEvent, SyncReason};
use serde_json::{Value, json};
use sqlx::Connection;

use super::members::{Logged, Outcome, STARTING_BALANCE, Write};
use super::watchers::{Seen, Watcher};

/// What the database holds at the end.
struct Database {
    /// Every event: id → (kind, user, data).
    events: BTreeMap<i64, (String, Option<i64>, String)>,
    balances: HashMap<i64, i64>,
    /// Ledger lines in id order: (user, delta, balance_after, reason, note).
    ledger: Vec<(i64, i64, i64, String, Option<String>)>,
    /// Inventory item → owner.
    inventory: HashMap<i64, i64>,
    /// Openings: the item each gave → its opener.
    openings: Vec<(i64, i64)>,
    /// Chat messages: (id, user, text).
    chat: Vec<(i64, i64, String)>,
}

async fn load(url: &str) -> anyhow::Result<Database> {
    let mut db = sqlx::PgConnection::connect(url).await?;
    let events = sqlx::query_as::<_, (i64, String, Option<i64>, String)>(
        "SELECT id, kind, user_id, data FROM events ORDER BY id",
    )
    .fetch_all(&mut db)
    .await?
    .into_iter()
    .map(|(id, kind, user, data)| (id, (kind, user, data)))
    .collect();
    let balances = sqlx::query_as::<_, (i64, i64)>("SELECT id, balance FROM users")
        .fetch_all(&mut db)
        .await?
        .into_iter()
        .collect();
    let ledger = sqlx::query_as(
        "SELECT user_id, delta, balance_after, reason, note FROM ledger ORDER BY id",
    )
    .fetch_all(&mut db)
    .await?;
    let inventory = sqlx::query_as::<_, (i64, i64)>("SELECT id, user_id FROM inventory")
        .fetch_all(&mut db)
        .await?
        .into_iter()
        .collect();
    let openings = sqlx::query_as("SELECT inventory_id, user_id FROM openings")
        .fetch_all(&mut db)
        .await?;
    let chat = sqlx::query_as("SELECT id, user_id, text FROM chat_messages")
        .fetch_all(&mut db)
        .await?;
    db.close().await?;
    Ok(Database {
        events,
        balances,
        ledger,
        inventory,
        openings,
        chat,
    })
}

/// The findings: counts for the report, and every violation in words, with the ids involved.
pub struct Verdict {
    pub counts: Value,
    pub violations: Vec<String>,
}

pub async fn check(
    url: &str,
    members: &[i64],
    writes: &[Logged],
    watchers: &[Watcher],
    last_event: i64,
) -> anyhow::Result<Verdict> {
    let db = load(url).await?;
    let mut violations = Vec::new();
    check_writes(&db, members, writes, &mut violations);
    check_money(&db, members, &mut violations);
    let mut delivered = 0usize;
    let mut syncs: BTreeMap<String, usize> = BTreeMap::new();
    for (n, watcher) in watchers.iter().enumerate() {
        let log = watcher.log.lock().unwrap();
        delivered += log.iter().filter(|s| matches!(s, Seen::Event(..))).count();
        for seen in log.iter() {
            if let Seen::Sync { reason, .. } = seen {
                *syncs.entry(format!("{reason:?}")).or_default() += 1;
            }
        }
        let name = format!(
            "client {n} (member {}, {:?})",
            watcher.member, watcher.transport
        );
        let client = Followed {
            name: &name,
            member: watcher.member,
            start: watcher.start,
        };
        check_client(&db, &client, &log, last_event, &mut violations);
    }
    let mut outcomes: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    // Why writes were refused or went unanswered: the status and code (or the error's start).
    let mut causes: BTreeMap<String, usize> = BTreeMap::new();
    for logged in writes {
        if let Outcome::Refused(why) | Outcome::Unknown(why) = &logged.outcome {
            let why: String = why.chars().take(48).collect();
            *causes.entry(why).or_default() += 1;
        }
        let kind = match logged.write {
            Write::Open { .. } => "open",
            Write::Sell { .. } => "sell",
            Write::Chat { .. } => "chat",
            Write::Topup { .. } => "top-up",
        };
        let slot = match logged.outcome {
            Outcome::Acked(_) => 0,
            Outcome::Refused(_) => 1,
            Outcome::Unknown(_) => 2,
        };
        outcomes.entry(kind.to_owned()).or_default()[slot] += 1;
    }
    let reconnects: u32 = watchers.iter().map(|w| *w.reconnects.lock().unwrap()).sum();
    Ok(Verdict {
        counts: json!({
            "writes": outcomes.iter().map(|(k, [a, r, u])| (k.clone(), json!({
                "acknowledged": a, "refused": r, "unknown": u
            }))).collect::<serde_json::Map<_, _>>(),
            "not_acknowledged_because": causes,
            "events_in_database": db.events.len(),
            "events_delivered": delivered,
            "clients": watchers.len(),
            "reconnects": reconnects,
            "sync_required": syncs,
        }),
        violations,
    })
}

/// Every acknowledged write is in the database once; a refused one is not; one whose answer never
/// came is there at most once.
fn check_writes(db: &Database, members: &[i64], writes: &[Logged], violations: &mut Vec<String>) {
    let mut notes: HashMap<&str, usize> = HashMap::new();
    for (_, _, _, _, note) in &db.ledger {
        if let Some(note) = note {
            *notes.entry(note.as_str()).or_default() += 1;
        }
    }
    let mut texts: HashMap<&str, Vec<i64>> = HashMap::new();
    for (id, _, text) in &db.chat {
        texts.entry(text.as_str()).or_default().push(*id);
    }
    let mut opened: HashMap<i64, usize> = HashMap::new();
    for (item, _) in &db.openings {
        *opened.entry(*item).or_default() += 1;
    }
    // Per member: [acknowledged, unknown] openings and sales.
    let mut opens: HashMap<i64, [usize; 2]> = HashMap::new();
    let mut sells: HashMap<i64, [usize; 2]> = HashMap::new();
    for logged in writes {
        let acked = matches!(logged.outcome, Outcome::Acked(_));
        let refused = matches!(logged.outcome, Outcome::Refused(_));
        let slot = if acked { 0 } else { 1 };
        match &logged.write {
            Write::Open { member } => {
                if let Outcome::Acked(Some(item)) = logged.outcome {
                    let rows = opened.get(&item).copied().unwrap_or(0);
                    if rows != 1 {
                        violations.push(format!(
                            "the acknowledged opening that gave member {member} item {item} is in \
                             the database {rows} times"
                        ));
                    }
                }
                if !refused {
                    opens.entry(*member).or_default()[slot] += 1;
                }
            }
            Write::Sell { member, item } => {
                if acked && db.inventory.contains_key(item) {
                    violations.push(format!(
                        "member {member}'s acknowledged sale of item {item}: the item is still in \
                         the inventory"
                    ));
                }
                if !refused {
                    sells.entry(*member).or_default()[slot] += 1;
                }
            }
            Write::Chat { member, text } => {
                let rows = texts.get(text.as_str()).map_or(0, Vec::len);
                let fine = match &logged.outcome {
                    Outcome::Acked(Some(id)) => rows == 1 && texts[text.as_str()][0] == *id,
                    Outcome::Acked(None) => false,
                    Outcome::Refused(_) => rows == 0,
                    Outcome::Unknown(_) => rows <= 1,
                };
                if !fine {
                    violations.push(format!(
                        "member {member}'s chat message {text:?} ({:?}) is in the database {rows} \
                         times",
                        logged.outcome
                    ));
                }
            }
            Write::Topup { member, note } => {
                let rows = notes.get(note.as_str()).copied().unwrap_or(0);
                let fine = match logged.outcome {
                    Outcome::Acked(_) => rows == 1,
                    Outcome::Refused(_) => rows == 0,
                    Outcome::Unknown(_) => rows <= 1,
                };
                if !fine {
                    violations.push(format!(
                        "the top-up {note:?} of member {member} ({:?}) is in the ledger {rows} \
                         times",
                        logged.outcome
                    ));
                }
            }
        }
    }
    // Openings and sales carry no key of the caller's: count them per member. Acknowledged ones
    // must all be there, and at most the unanswered ones besides.
    for member in members {
        let in_db = db.openings.iter().filter(|(_, u)| u == member).count();
        let [acked, unknown] = opens.get(member).copied().unwrap_or_default();
        if in_db < acked || in_db > acked + unknown {
            violations.push(format!(
                "member {member}: {in_db} openings in the database, {acked} acknowledged and \
                 {unknown} unanswered"
            ));
        }
        let sold = db
            .ledger
            .iter()
            .filter(|(u, _, _, reason, _)| u == member && reason == "item_sold")
            .count();
        let [acked, unknown] = sells.get(member).copied().unwrap_or_default();
        if sold < acked || sold > acked + unknown {
            violations.push(format!(
                "member {member}: {sold} sales in the ledger, {acked} acknowledged and {unknown} \
                 unanswered"
            ));
        }
    }
}

/// Every balance is the sum of its ledger, and no line of the ledger ever went below zero.
fn check_money(db: &Database, members: &[i64], violations: &mut Vec<String>) {
    let mut running: HashMap<i64, i64> = HashMap::new();
    for (user, delta, after, reason, _) in &db.ledger {
        let sum = running.entry(*user).or_default();
        *sum += delta;
        if *sum != *after || *after < 0 {
            violations.push(format!(
                "member {user}: a {reason} ledger line says {after} after {delta:+}, the lines \
                 before it sum to {}",
                *sum - delta
            ));
        }
    }
    for member in members {
        let sum = running.get(member).copied().unwrap_or(0);
        let balance = db.balances.get(member).copied().unwrap_or(-1);
        if sum != balance {
            violations.push(format!(
                "member {member}: balance {balance}, ledger sum {sum}"
            ));
        }
    }
}

/// One client's log against the database: every event it was shown exists as shown and was its to
/// see; between resets (`sync:required`) it saw every event it was entitled to once, in id order;
/// a refetch showed a balance the member really had; and at the end it shows what the database
/// holds.
/// Whose log it is, and where its stream started.
struct Followed<'a> {
    name: &'a str,
    member: i64,
    start: i64,
}

fn check_client(
    db: &Database,
    client: &Followed,
    log: &[Seen],
    last_event: i64,
    violations: &mut Vec<String>,
) {
    let (name, member) = (client.name, client.member);
    let entitled = |id: &i64| {
        db.events
            .get(id)
            .is_some_and(|(_, user, _)| user.is_none_or(|u| u == member))
    };
    let balances_had: BTreeSet<i64> = db
        .ledger
        .iter()
        .filter(|(u, ..)| *u == member)
        .map(|(_, _, after, ..)| *after)
        .chain([0])
        .collect();
    // What the client shows, kept as an app would.
    let mut balance = STARTING_BALANCE;
    let mut inventory: BTreeSet<i64> = BTreeSet::new();
    // The current segment: from where it started, the ids seen in it.
    let mut from = client.start;
    let mut seen: Vec<i64> = Vec::new();
    // Events shown that the database does not have: forgiven by a later failover reset only.
    let mut unknown: Vec<i64> = Vec::new();
    let close_segment = |from: i64, seen: &mut Vec<i64>, violations: &mut Vec<String>| {
        // Up to the newest event seen that the database has: ids a failover lost lie above it.
        let Some(&last) = seen.iter().rev().find(|id| db.events.contains_key(id)) else {
            seen.clear();
            return;
        };
        let shown: BTreeSet<i64> = seen.iter().copied().collect();
        let missed: Vec<i64> = db
            .events
            .range(from + 1..=last)
            .map(|(id, _)| *id)
            .filter(|id| entitled(id) && !shown.contains(id))
            .collect();
        if !missed.is_empty() {
            violations.push(format!(
                "{name} missed {} events between {from} and {last}: {:?}",
                missed.len(),
                &missed[..missed.len().min(10)]
            ));
        }
        seen.clear();
    };
    let mut refetch_pending = false;
    for entry in log {
        match entry {
            Seen::Event(id, event) => {
                if let Some(&previous) = seen.last()
                    && *id <= previous
                {
                    violations.push(format!(
                        "{name} was shown event {id} after event {previous}"
                    ));
                }
                if *id <= from {
                    violations.push(format!(
                        "{name} was shown event {id}, at or before where its stream stood ({from})"
                    ));
                }
                seen.push(*id);
                match db.events.get(id) {
                    None => unknown.push(*id),
                    Some((kind, user, data)) => {
                        if user.is_some_and(|u| u != member) {
                            violations.push(format!(
                                "{name} was shown event {id} ({kind}), private to member {}",
                                user.unwrap_or_default()
                            ));
                        }
                        if ServerEvent::from_parts(kind, data).ok().as_ref() != Some(event) {
                            violations.push(format!(
                                "{name} was shown event {id} as {event:?}; the database has \
                                 {kind} {data}"
                            ));
                        }
                    }
                }
                match event {
                    ServerEvent::BalanceUpdated(b) if b.user_id == member => balance = b.balance,
                    ServerEvent::InventoryUpdated(i) if i.user_id == member => match i.action {
                        InventoryAction::Added => {
                            inventory.insert(i.item.id);
                        }
                        InventoryAction::Removed => {
                            inventory.remove(&i.item.id);
                        }
                    },
                    _ => {}
                }
            }
            Seen::Sync {
                reason,
                last_event_id,
            } => {
                if refetch_pending {
                    violations.push(format!(
                        "{name}: a sync:required was followed by no refetched balance"
                    ));
                }
                close_segment(from, &mut seen, violations);
                if *reason == SyncReason::Failover {
                    unknown.clear();
                }
                from = *last_event_id;
                refetch_pending = true;
            }
            Seen::Refetched {
                balance: refetched,
                inventory: items,
            } => {
                refetch_pending = false;
                if !balances_had.contains(refetched) {
                    violations.push(format!(
                        "{name} refetched balance {refetched}, which member {member} never had"
                    ));
                }
                balance = *refetched;
                match items {
                    Some(items) => inventory = items.iter().copied().collect(),
                    None => violations.push(format!(
                        "{name}: a sync:required was followed by no refetched inventory"
                    )),
                }
            }
        }
    }
    let last = seen.last().copied();
    close_segment(from, &mut seen, violations);
    if refetch_pending {
        violations.push(format!(
            "{name}: a sync:required was followed by no refetched balance"
        ));
    }
    if !unknown.is_empty() {
        violations.push(format!(
            "{name} was shown {} events the database does not have, and never told to refetch: \
             {:?}",
            unknown.len(),
            &unknown[..unknown.len().min(10)]
        ));
    }
    if last.is_none_or(|l| l < last_event) {
        violations.push(format!(
            "{name} ended at {last:?}, before the last event {last_event}"
        ));
    }
    let db_balance = db.balances.get(&member).copied().unwrap_or(-1);
    if balance != db_balance {
        violations.push(format!(
            "{name} shows balance {balance}, the database has {db_balance}"
        ));
    }
    let db_items: BTreeSet<i64> = db
        .inventory
        .iter()
        .filter(|(_, owner)| **owner == member)
        .map(|(item, _)| *item)
        .collect();
    if inventory != db_items {
        let extra: Vec<_> = inventory.difference(&db_items).take(10).collect();
        let missing: Vec<_> = db_items.difference(&inventory).take(10).collect();
        violations.push(format!(
            "{name} shows an inventory the database does not have: extra {extra:?}, missing \
             {missing:?}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use cyberhub_protocol::{Announcement, BalanceReason, BalanceUpdated};

    use super::*;

    const ALICE: i64 = 7;
    const BOB: i64 = 8;

    fn balance(user_id: i64, balance: i64) -> ServerEvent {
        ServerEvent::BalanceUpdated(BalanceUpdated {
            user_id,
            balance,
            delta: balance - STARTING_BALANCE,
            reason: BalanceReason::Adjustment,
            note: None,
        })
    }

    fn news(text: &str) -> ServerEvent {
        ServerEvent::Announcement(Announcement { text: text.into() })
    }

    /// The database after four events: news, Alice's balance, Bob's balance, news.
    fn club() -> (Database, Vec<(i64, ServerEvent)>) {
        let events = vec![
            (1, news("open")),
            (2, balance(ALICE, STARTING_BALANCE + 100)),
            (3, balance(BOB, STARTING_BALANCE + 200)),
            (4, news("closing")),
        ];
        let db = Database {
            events: events
                .iter()
                .map(|(id, e)| (*id, (e.name().to_owned(), e.user_id(), e.data_json())))
                .collect(),
            balances: [
                (ALICE, STARTING_BALANCE + 100),
                (BOB, STARTING_BALANCE + 200),
            ]
            .into(),
            ledger: vec![
                (
                    ALICE,
                    STARTING_BALANCE,
                    STARTING_BALANCE,
                    "adjustment".into(),
                    None,
                ),
                (
                    BOB,
                    STARTING_BALANCE,
                    STARTING_BALANCE,
                    "adjustment".into(),
                    None,
                ),
                (
                    ALICE,
                    100,
                    STARTING_BALANCE + 100,
                    "adjustment".into(),
                    None,
                ),
                (BOB, 200, STARTING_BALANCE + 200, "adjustment".into(), None),
            ],
            inventory: HashMap::new(),
            openings: Vec::new(),
            chat: Vec::new(),
        };
        (db, events)
    }

    /// What the checker finds in Alice's client, shown `shown` (ids of `club()`'s events, or
    /// other entries).
    fn findings(log: Vec<Seen>) -> Vec<String> {
        let (db, _) = club();
        let alice = Followed {
            name: "alice's client",
            member: ALICE,
            start: 0,
        };
        let mut violations = Vec::new();
        check_client(&db, &alice, &log, 4, &mut violations);
        violations
    }

    fn shown(ids: &[i64]) -> Vec<Seen> {
        let (_, events) = club();
        ids.iter()
            .map(|id| {
                let (_, event) = events.iter().find(|(i, _)| i == id).unwrap();
                Seen::Event(*id, event.clone())
            })
            .collect()
    }

    #[test]
    fn a_client_shown_what_it_was_owed_once_in_order_passes() {
        assert_eq!(findings(shown(&[1, 2, 4])), Vec::<String>::new());
    }

    #[test]
    fn a_missed_event_is_named() {
        let found = findings(shown(&[1, 4]));
        assert!(
            found
                .iter()
                .any(|v| v.contains("missed 1 events") && v.contains("[2]")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|v| v.contains("shows balance 50000")),
            "{found:?}"
        );
    }

    #[test]
    fn an_event_shown_twice_or_out_of_order_is_named() {
        let found = findings(shown(&[1, 2, 2, 4]));
        assert!(
            found
                .iter()
                .any(|v| v.contains("shown event 2 after event 2")),
            "{found:?}"
        );
    }

    #[test]
    fn another_members_private_event_is_a_leak() {
        let found = findings(shown(&[1, 2, 3, 4]));
        assert!(
            found.iter().any(|v| v.contains("private to member 8")),
            "{found:?}"
        );
    }

    #[test]
    fn an_event_shown_differently_from_the_database_is_named() {
        let mut log = shown(&[1, 2]);
        log.push(Seen::Event(4, news("something else")));
        let found = findings(log);
        assert!(
            found
                .iter()
                .any(|v| v.contains("the database has announcement")),
            "{found:?}"
        );
    }

    #[test]
    fn an_event_the_database_lost_is_forgiven_only_by_a_failover_refetch() {
        let mut log = shown(&[1]);
        log.push(Seen::Event(3_000, news("lost in the failover")));
        let found = findings([log.clone(), shown(&[2, 4])].concat());
        assert!(
            found.iter().any(|v| v.contains("does not have")),
            "{found:?}"
        );

        log.push(Seen::Sync {
            reason: SyncReason::Failover,
            last_event_id: 1,
        });
        log.push(Seen::Refetched {
            balance: STARTING_BALANCE,
            inventory: Some(Vec::new()),
        });
        assert_eq!(
            findings([log, shown(&[2, 4])].concat()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_refetch_must_show_a_balance_the_member_had() {
        let mut log = shown(&[1]);
        log.push(Seen::Sync {
            reason: SyncReason::TooFarBehind,
            last_event_id: 1,
        });
        log.push(Seen::Refetched {
            balance: 12_345,
            inventory: Some(Vec::new()),
        });
        let found = findings([log, shown(&[2, 4])].concat());
        assert!(found.iter().any(|v| v.contains("never had")), "{found:?}");
    }

    #[test]
    fn a_client_that_stopped_early_is_named() {
        let found = findings(shown(&[1, 2]));
        assert!(
            found.iter().any(|v| v.contains("before the last event 4")),
            "{found:?}"
        );
    }
}
