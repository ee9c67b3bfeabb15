//! The poll loop: hold the lease, read SmartShell, hand the batch to the store, and on failure back
//! off with full jitter (up to a minute) and say why in `/health`, without ever stopping.
//!
//! What one poll reads, in SmartShell's terms (one request in the usual case):
//! - when the node starts and the store knows the last shift read: every shift opened since then
//!   (`workShifts`), so a node that was down across shift changes misses nothing;
//! - the open shift (`activeWorkShift`) with all its payments;
//! - when the shift the store knows is no longer the open one: that shift once more (`workShift`),
//!   for the payments taken and refunded in its last seconds.
//!
//! The store keeps the last shift read (`shift_id`, `shift_created_at`) and the last closed shift
//! swept (`swept`), written in the same transaction as the credits.

use std::collections::HashMap;
use std::time::Duration;

use rand::RngExt;
use time::PrimitiveDateTime;
use time::macros::format_description;
use tokio_util::sync::CancellationToken;

use super::smartshell::{BridgeError, Payment, Shift};
use super::{Bridge, Rules};
use crate::store::{Lease, SmartShellPayment, Store, now_ms, state_key};

/// The longest wait between two tries while SmartShell fails.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub(super) async fn run(bridge: Bridge, store: Store, shutdown: CancellationToken) {
    let mut lease: Option<Lease> = None;
    let mut failures = 0u32;
    // After a start (or a lease taken over from another node), read every shift since the last one
    // the store knows.
    let mut catch_up = true;
    loop {
        let wait = match hold(&mut lease, &store, bridge.club).await {
            false => {
                bridge.monitor.standby();
                catch_up = true;
                bridge.interval
            }
            true => match poll(&bridge, &store, catch_up).await {
                Ok(()) => {
                    catch_up = false;
                    failures = 0;
                    bridge.monitor.succeeded();
                    metrics::counter!("cyberhub_billing_polls_total", "outcome" => "ok")
                        .increment(1);
                    bridge.interval
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "billing poll failed; retrying");
                    bridge.monitor.failed(e.to_string());
                    metrics::counter!("cyberhub_billing_polls_total", "outcome" => "error")
                        .increment(1);
                    metrics::counter!("cyberhub_billing_errors_total", "kind" => e.kind())
                        .increment(1);
                    backoff(bridge.interval, failures)
                }
            },
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Keeps or takes the lease; whether this node may poll now.
async fn hold(lease: &mut Option<Lease>, store: &Store, club: i64) -> bool {
    if let Some(held) = lease {
        if held.is_held().await {
            return true;
        }
        tracing::warn!("lost the billing lease (its database connection ended)");
        *lease = None;
    }
    // The lease is per club: two clubs' bridges on one database do not wait for each other.
    match store.try_lease(club as i32).await {
        Ok(taken) => {
            if taken.is_some() {
                tracing::info!("holding the billing lease: this node polls SmartShell");
            }
            *lease = taken;
            lease.is_some()
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot take the billing lease");
            false
        }
    }
}

/// Full jitter: a random wait up to `interval × 2^failures`, capped, and never under the interval.
fn backoff(interval: Duration, failures: u32) -> Duration {
    let ceiling = interval
        .saturating_mul(1 << failures.min(10))
        .min(MAX_BACKOFF)
        .max(interval);
    let jitter = rand::rng().random_range(0.0..=1.0);
    interval.max(ceiling.mul_f64(jitter))
}

async fn poll(bridge: &Bridge, store: &Store, catch_up: bool) -> Result<(), BridgeError> {
    let (club, smartshell) = (bridge.club, &bridge.smartshell);
    let stored = |name: &'static str| async move {
        store
            .billing_state(&state_key(club, name))
            .await
            .map_err(|e| BridgeError::Store(e.to_string()))
    };
    let known: Option<i64> = stored("shift_id").await?.and_then(|s| s.parse().ok());
    let known_created = stored("shift_created_at").await?;
    let swept: Option<i64> = stored("swept").await?.and_then(|s| s.parse().ok());

    let mut shifts: Vec<Shift> = Vec::new();
    if catch_up && let Some(from) = &known_created {
        let mut page = 1;
        loop {
            let read = smartshell.shifts_since(from, page).await?;
            shifts.extend(read.shifts);
            if !read.has_more || page >= 100 {
                break;
            }
            page += 1;
        }
    }
    let active = smartshell.active_shift().await?;
    let mut state = Vec::new();
    if let Some(known) = known
        && active.as_ref().is_none_or(|a| a.id != known)
        && swept != Some(known)
    {
        shifts.push(smartshell.shift(known).await?);
        state.push((state_key(club, "swept"), known.to_string()));
    }
    if let Some(active) = active {
        state.push((state_key(club, "shift_id"), active.id.to_string()));
        state.push((
            state_key(club, "shift_created_at"),
            active.created_at.clone(),
        ));
        shifts.push(active);
    }
    let payments = top_ups(shifts.iter().flat_map(|s| &s.payments), &bridge.rules)?;
    let newest = payments
        .iter()
        .filter(|p| !p.refunded)
        .filter_map(|p| club_time(&p.paid_at, &bridge.rules))
        .max();
    let done = store
        .ingest_smartshell(club, payments, state)
        .await
        .map_err(|e| BridgeError::Store(e.to_string()))?;
    for (user, payment, amount) in &done.credited {
        tracing::info!(
            user_id = user,
            payment_id = payment,
            amount,
            "SmartShell top-up credited"
        );
    }
    metrics::counter!("cyberhub_billing_credits_total").increment(done.credited.len() as u64);
    metrics::counter!("cyberhub_billing_unmatched_total").increment(done.unmatched);
    metrics::counter!("cyberhub_billing_refunds_total").increment(done.reversed);
    if !done.credited.is_empty()
        && let Some(newest) = newest
    {
        // From SmartShell taking the payment to the credit: the poll interval, mostly.
        let lag = (now_ms() - newest).max(0) as f64 / 1000.0;
        metrics::gauge!("cyberhub_billing_lag_seconds").set(lag);
    }
    Ok(())
}

/// The top-ups among `payments`, once each (a payment read twice, as overlapping pages give it,
/// counts once; refunded if any sight of it says so). Malformed data fails the whole batch:
/// nothing of it is written.
fn top_ups<'a>(
    payments: impl Iterator<Item = &'a Payment>,
    rules: &Rules,
) -> Result<Vec<SmartShellPayment>, BridgeError> {
    let mut by_id: HashMap<i64, SmartShellPayment> = HashMap::new();
    for payment in payments {
        let Some(top_up) = top_up(payment, rules)? else {
            continue;
        };
        by_id
            .entry(top_up.payment_id)
            .and_modify(|seen| seen.refunded |= top_up.refunded)
            .or_insert(top_up);
    }
    let mut all: Vec<SmartShellPayment> = by_id.into_values().collect();
    all.sort_by_key(|p| p.payment_id);
    Ok(all)
}

/// A payment as a top-up to credit: paid, not from the club balance or bonus, of a client, with
/// top-up items summing above zero.
fn top_up(payment: &Payment, rules: &Rules) -> Result<Option<SmartShellPayment>, BridgeError> {
    if payment.status != "PAID" || rules.ignored_methods.contains(&payment.method) {
        return Ok(None);
    }
    let Some(client) = &payment.client else {
        return Ok(None);
    };
    let mut amount = 0i64;
    for item in payment.items.iter().flatten() {
        if rules.topup_items.contains(&item.kind) {
            amount = amount.saturating_add(item.sum.unwrap_or(0));
        }
    }
    if amount <= 0 {
        return Ok(None);
    }
    if club_time(&payment.created_at, rules).is_none() {
        return Err(BridgeError::Malformed(format!(
            "payment {} has created_at {:?}",
            payment.id, payment.created_at
        )));
    }
    Ok(Some(SmartShellPayment {
        payment_id: payment.id,
        client_uuid: client.uuid.clone(),
        amount,
        paid_at: payment.created_at.clone(),
        refunded: payment.is_refunded,
    }))
}

/// A SmartShell time (club-local `YYYY-MM-DD HH:MM:SS`) as Unix ms.
fn club_time(text: &str, rules: &Rules) -> Option<i64> {
    let local = PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .ok()?;
    Some((local.assume_offset(rules.offset).unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::smartshell::{Client, PaymentItem};

    fn rules() -> Rules {
        Rules {
            topup_items: vec!["DEPOSIT".into()],
            ignored_methods: vec!["DEPOSIT".into(), "BONUS".into()],
            offset: time::UtcOffset::from_hms(3, 0, 0).unwrap(),
        }
    }

    fn payment(id: i64, method: &str, items: &[(&str, i64)], refunded: bool) -> Payment {
        Payment {
            id,
            client: Some(Client { uuid: "c-1".into() }),
            method: method.into(),
            status: "PAID".into(),
            created_at: "2026-12-06 21:00:00".into(),
            is_refunded: refunded,
            items: items
                .iter()
                .map(|(kind, sum)| {
                    Some(PaymentItem {
                        kind: (*kind).into(),
                        sum: Some(*sum),
                    })
                })
                .collect(),
        }
    }

    #[test]
    fn only_the_top_up_items_of_paid_payments_count_each_payment_once() {
        let payments = [
            payment(1, "CASH", &[("DEPOSIT", 50_000), ("GOOD", 12_000)], false),
            payment(2, "DEPOSIT", &[("GOOD", 12_000)], false),
            payment(3, "BONUS", &[("DEPOSIT", 10_000)], false),
            payment(4, "CARD", &[("TARIFF", 30_000)], false),
            payment(1, "CASH", &[("DEPOSIT", 50_000), ("GOOD", 12_000)], true),
        ];
        let got = top_ups(payments.iter(), &rules()).unwrap();
        // Out of order, the same batch.
        assert_eq!(top_ups(payments.iter().rev(), &rules()).unwrap(), got);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].payment_id, got[0].amount), (1, 50_000));
        assert!(got[0].refunded, "a later sight of it says refunded");
        let mut pending = payment(5, "CASH", &[("DEPOSIT", 100)], false);
        pending.status = "PENDING".into();
        assert_eq!(top_up(&pending, &rules()).unwrap(), None);
    }

    #[test]
    fn club_times_are_read_in_the_clubs_offset() {
        // 21:00 in Moscow is 18:00 UTC.
        let ms = club_time("2026-12-06 21:00:00", &rules()).unwrap();
        assert_eq!(ms % 86_400_000, 18 * 3_600_000);
        assert_eq!(club_time("yesterday", &rules()), None);
        let mut odd = payment(6, "CASH", &[("DEPOSIT", 100)], false);
        odd.created_at = "06.12.2026".into();
        assert!(matches!(
            top_up(&odd, &rules()),
            Err(BridgeError::Malformed(_))
        ));
    }

    #[test]
    fn backoff_stays_between_the_interval_and_a_minute() {
        let interval = Duration::from_secs(3);
        for failures in 1..20 {
            let wait = backoff(interval, failures);
            assert!(
                wait >= interval && wait <= MAX_BACKOFF,
                "{failures}: {wait:?}"
            );
        }
    }
}
