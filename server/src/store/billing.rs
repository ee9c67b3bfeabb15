//! The billing bridge's rules: the top-ups read from the club's SmartShell, each credited once to the
//! member linked to its client through the wallet's own top-up rule (one ledger line, one
//! `balance:updated` with `reason: topup`), kept waiting while no member is linked, reversed once
//! when SmartShell refunds them, and the bridge's position stored in the same transaction.
//!
//! Exactly once rests on SmartShell's own payment id: a payment is recorded under
//! `(club, payment_id)` the first time the bridge sees it, and every later sight of it (a page read
//! twice, a poll after a crash, another node) finds the record.

use cyberhub_protocol::{
    BalanceReason, BillingCredit, ErrorCode, RefundShortfall, SmartShellLink, TopupRequest,
    UnmatchedPayment,
};

use super::tx::Tx;
use super::wallet::{change_balance, topup};
use super::{Store, StoreError, now_ms};

/// A top-up as the bridge read it from SmartShell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartShellPayment {
    /// SmartShell's id of the payment.
    pub payment_id: i64,
    pub client_uuid: String,
    /// Kopecks: the payment's top-up items.
    pub amount: i64,
    /// SmartShell's `created_at`, as sent.
    pub paid_at: String,
    pub refunded: bool,
}

/// What the store holds of a payment.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct SmartShellRow {
    pub user_id: Option<i64>,
    pub amount: i64,
    pub credited_at: Option<i64>,
    pub refunded_at: Option<i64>,
}

/// What one batch changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// Payments credited now: (member, payment, kopecks).
    pub credited: Vec<(i64, i64, i64)>,
    /// Payments recorded without a member to credit.
    pub unmatched: u64,
    /// Refunds reversed now, and how many of them could not be taken back in full.
    pub reversed: u64,
    pub shortfalls: u64,
}

/// The key a bridge value is stored under, per club.
pub fn state_key(club: i64, name: &str) -> String {
    format!("smartshell:{club}:{name}")
}

impl Store {
    /// Applies a batch of payments read from SmartShell and stores the bridge's position (`state`,
    /// key and value pairs) in one transaction: either all of it or nothing.
    pub async fn ingest_smartshell(
        &self,
        club: i64,
        payments: Vec<SmartShellPayment>,
        state: Vec<(String, String)>,
    ) -> Result<Ingested, StoreError> {
        transact!(self, |tx| ingest(tx, club, &payments, &state))
    }

    /// Links a member to a SmartShell client and credits the client's payments that waited for it.
    pub async fn link_smartshell(
        &self,
        user_id: i64,
        client_uuid: &str,
    ) -> Result<SmartShellLink, StoreError> {
        let client_uuid = client_uuid.to_owned();
        transact!(self, |tx| link(tx, user_id, &client_uuid))
    }

    /// Removes a member's link; their credited payments stay credited.
    pub async fn unlink_smartshell(&self, user_id: i64) -> Result<(), StoreError> {
        transact!(self, |tx| unlink(tx, user_id))
    }

    /// Payments no member is linked to yet, oldest first (at most 500).
    pub async fn unmatched_payments(&self) -> Result<Vec<UnmatchedPayment>, StoreError> {
        let rows: Vec<(i64, String, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT payment_id, client_uuid, amount, paid_at FROM smartshell_payments
                 WHERE credited_at IS NULL AND refunded_at IS NULL ORDER BY payment_id LIMIT 500",
            )
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(payment_id, client_uuid, amount, paid_at)| UnmatchedPayment {
                    payment_id,
                    client_uuid,
                    amount,
                    paid_at,
                },
            )
            .collect())
    }

    /// Refunds that could not be taken back in full, newest first (at most 500).
    pub async fn refund_shortfalls(&self) -> Result<Vec<RefundShortfall>, StoreError> {
        let rows: Vec<(i64, i64, String, i64, i64, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT p.payment_id, p.user_id, u.username, p.amount, p.reversed, p.shortfall,
                        p.refunded_at
                 FROM smartshell_payments p JOIN users u ON u.id = p.user_id
                 WHERE p.shortfall > 0 ORDER BY p.refunded_at DESC LIMIT 500",
            )
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(payment_id, user_id, username, amount, reversed, shortfall, refunded_at)| {
                    RefundShortfall {
                        payment_id,
                        user_id,
                        username,
                        amount,
                        reversed,
                        shortfall,
                        refunded_at,
                    }
                },
            )
            .collect())
    }

    /// A value the bridge stored with [`Store::ingest_smartshell`].
    pub async fn billing_state(&self, key: &str) -> Result<Option<String>, StoreError> {
        let value: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT value FROM billing_state WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })?;
        Ok(value.map(|(v,)| v))
    }
}

async fn ingest(
    tx: &mut impl Tx,
    club: i64,
    payments: &[SmartShellPayment],
    state: &[(String, String)],
) -> Result<Ingested, StoreError> {
    let now = now_ms();
    let mut done = Ingested::default();
    for payment in payments {
        match tx.smartshell_payment(club, payment.payment_id).await? {
            None => {
                tx.insert_smartshell_payment(club, payment, now).await?;
                if payment.refunded {
                    // Refunded before the bridge saw it: nothing to credit, nothing to take back.
                    tx.mark_smartshell_refunded(club, payment.payment_id, now, 0, 0)
                        .await?;
                } else if let Some(user) = tx.linked_user(&payment.client_uuid).await? {
                    credit(tx, club, payment.payment_id, payment.amount, user, now).await?;
                    done.credited
                        .push((user, payment.payment_id, payment.amount));
                } else {
                    done.unmatched += 1;
                }
            }
            Some(row) if payment.refunded && row.refunded_at.is_none() => {
                let shortfall = reverse(tx, club, payment.payment_id, row, now).await?;
                done.reversed += 1;
                done.shortfalls += u64::from(shortfall > 0);
            }
            Some(_) => {}
        }
    }
    for (key, value) in state {
        tx.set_billing_state(key, value).await?;
    }
    Ok(done)
}

/// Credits a payment through the wallet's top-up rule, under a payment id of its own; the new
/// balance.
async fn credit(
    tx: &mut impl Tx,
    club: i64,
    payment_id: i64,
    amount: i64,
    user_id: i64,
    now: i64,
) -> Result<i64, StoreError> {
    let answer = topup(
        tx,
        &TopupRequest {
            payment_id: format!("smartshell:{club}:{payment_id}"),
            user_id,
            amount,
        },
    )
    .await?;
    tx.mark_smartshell_credited(club, payment_id, user_id, now)
        .await?;
    Ok(answer.balance)
}

/// Takes a refunded payment back as far as the balance allows (never below zero); returns what
/// could not be taken. A payment never credited is only marked.
async fn reverse(
    tx: &mut impl Tx,
    club: i64,
    payment_id: i64,
    row: SmartShellRow,
    now: i64,
) -> Result<i64, StoreError> {
    let (reversed, shortfall) = match (row.credited_at, row.user_id) {
        (None, _) => (0, 0),
        // Credited to a member since deleted: nobody to take it from.
        (Some(_), None) => (0, row.amount),
        (Some(_), Some(user)) => {
            let balance = tx.balance(user).await?.unwrap_or(0);
            let take = row.amount.min(balance);
            if take > 0 {
                let note = format!("smartshell:{club}:{payment_id}");
                let (_, _, event) =
                    change_balance(tx, user, -take, BalanceReason::Refund, Some(&note)).await?;
                tx.emit(&event, now).await?;
            }
            (take, row.amount - take)
        }
    };
    tx.mark_smartshell_refunded(club, payment_id, now, reversed, shortfall)
        .await?;
    Ok(shortfall)
}

async fn link(
    tx: &mut impl Tx,
    user_id: i64,
    client_uuid: &str,
) -> Result<SmartShellLink, StoreError> {
    if !tx.user_exists(user_id).await? {
        return Err(StoreError::NotFound("user"));
    }
    match tx.linked_user(client_uuid).await? {
        Some(other) if other != user_id => {
            return Err(StoreError::Conflict {
                code: ErrorCode::SmartshellClientLinked,
                message: format!("SmartShell client {client_uuid} is linked to another member"),
            });
        }
        Some(_) => {}
        None => {
            // A member has one SmartShell account: a new link replaces the old.
            tx.delete_link(user_id).await?;
            tx.insert_link(user_id, client_uuid, now_ms()).await?;
        }
    }
    let now = now_ms();
    let mut credited = Vec::new();
    let mut balance = tx.balance(user_id).await?.unwrap_or(0);
    for (club, payment_id, amount) in tx.unmatched_of(client_uuid).await? {
        balance = credit(tx, club, payment_id, amount, user_id, now).await?;
        credited.push(BillingCredit { payment_id, amount });
    }
    Ok(SmartShellLink {
        user_id,
        client_uuid: client_uuid.to_owned(),
        credited,
        balance,
    })
}

async fn unlink(tx: &mut impl Tx, user_id: i64) -> Result<(), StoreError> {
    if !tx.delete_link(user_id).await? {
        return Err(StoreError::NotFound("SmartShell link"));
    }
    Ok(())
}
