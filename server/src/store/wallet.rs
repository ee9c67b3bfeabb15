//! Money and items: opening cases, selling items back, top-ups and admin adjustments.
//!
//! Each operation is one transaction that changes the balance, records it in the ledger and emits the
//! events the user must see; either all of it is committed or none of it.

use cyberhub_protocol::{
    BalanceAdjustResponse, BalanceReason, BalanceUpdated, DropNew, InventoryAction, InventoryItem,
    InventoryUpdated, OpenCaseResponse, Rarity, SellResponse, ServerEvent, TopupRequest,
    TopupResponse,
};
use rand::RngExt;
use rusqlite::{OptionalExtension, params};

use super::cases::read_case;
use super::outbox::{emit, emit_all};
use super::{Store, StoreError, WriteTx, now_ms};

/// The largest balance the store accepts: JSON numbers stay exact in JavaScript below 2^53.
pub const MAX_BALANCE: i64 = (1 << 53) - 1;

#[derive(sqlx::FromRow)]
struct InventoryRow {
    id: i64,
    name: String,
    rarity: String,
    value: i64,
    case_id: i64,
    case_name: String,
    won_at: i64,
}

impl InventoryRow {
    /// Maps a row selected (or returned) as `id, name, rarity, value, case_id, case_name, won_at`.
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<InventoryRow> {
        Ok(InventoryRow {
            id: r.get(0)?,
            name: r.get(1)?,
            rarity: r.get(2)?,
            value: r.get(3)?,
            case_id: r.get(4)?,
            case_name: r.get(5)?,
            won_at: r.get(6)?,
        })
    }
}

impl From<InventoryRow> for InventoryItem {
    fn from(row: InventoryRow) -> InventoryItem {
        InventoryItem {
            id: row.id,
            name: row.name,
            rarity: Rarity::parse(&row.rarity).unwrap_or(Rarity::Common),
            value: row.value,
            case_id: row.case_id,
            case_name: row.case_name,
            won_at: row.won_at,
        }
    }
}

impl Store {
    /// A user's items, newest first.
    pub async fn inventory(&self, user_id: i64) -> Result<Vec<InventoryItem>, StoreError> {
        let rows: Vec<InventoryRow> = sqlx::query_as(
            "SELECT id, name, rarity, value, case_id, case_name, won_at FROM inventory
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(InventoryItem::from).collect())
    }

    /// Pays for a case, draws an item by weight with the thread-local CSPRNG, puts it in the
    /// inventory and records the opening; emits `balance:updated`, `inventory:updated` and `drop:new`.
    pub async fn open_case(
        &self,
        user_id: i64,
        case_id: i64,
    ) -> Result<OpenCaseResponse, StoreError> {
        self.write(move |tx| open_case(tx, user_id, case_id)).await
    }

    /// Sells an owned item back for its value: removal and credit in one transaction; emits
    /// `inventory:updated` and `balance:updated`.
    pub async fn sell_item(&self, user_id: i64, item_id: i64) -> Result<SellResponse, StoreError> {
        self.write(move |tx| {
            let row = tx
                .prepare_cached(
                    "DELETE FROM inventory WHERE id = ?1 AND user_id = ?2
                     RETURNING id, name, rarity, value, case_id, case_name, won_at",
                )?
                .query_row([item_id, user_id], InventoryRow::read)
                .optional()?;
            // Another user's item is indistinguishable from a missing one.
            let item: InventoryItem = row.ok_or(StoreError::NotFound("inventory item"))?.into();
            let (balance, _, balance_event) =
                change_balance(tx, user_id, item.value, BalanceReason::ItemSold, None)?;
            let removed = ServerEvent::InventoryUpdated(InventoryUpdated {
                user_id,
                action: InventoryAction::Removed,
                item: item.clone(),
            });
            emit_all(tx, &[balance_event, removed])?;
            Ok(SellResponse {
                item_id: item.id,
                credited: item.value,
                balance,
            })
        })
        .await
    }

    /// Credits a payment from the billing system once. A repeated payment id with the same user and
    /// amount gets the first answer again; with different ones it is a conflict.
    pub async fn topup(&self, req: &TopupRequest) -> Result<TopupResponse, StoreError> {
        let req = req.clone();
        self.write(move |tx| topup(tx, req)).await
    }

    /// An admin's signed change to a balance, with the reason the user will see.
    pub async fn adjust_balance(
        &self,
        user_id: i64,
        delta: i64,
        reason: &str,
    ) -> Result<BalanceAdjustResponse, StoreError> {
        let reason = reason.to_owned();
        self.write(move |tx| {
            let (balance, _, event) =
                change_balance(tx, user_id, delta, BalanceReason::Adjustment, Some(&reason))?;
            emit(tx, &event)?;
            Ok(BalanceAdjustResponse {
                user_id,
                delta,
                balance,
            })
        })
        .await
    }
}

fn open_case(
    tx: &mut WriteTx<'_>,
    user_id: i64,
    case_id: i64,
) -> Result<OpenCaseResponse, StoreError> {
    let case = read_case(tx, case_id)?;
    let total: i64 = case.items.iter().map(|i| i.weight).sum();
    if total <= 0 {
        return Err(StoreError::Conflict {
            code: "case_empty",
            message: "this case has no items to draw".into(),
        });
    }
    let mut ticket = rand::rng().random_range(0..total);
    let won = case
        .items
        .iter()
        .find(|item| {
            if ticket < item.weight {
                return true;
            }
            ticket -= item.weight;
            false
        })
        .expect("a ticket below the total weight always lands on an item");

    let (balance, username, balance_event) =
        change_balance(tx, user_id, -case.price, BalanceReason::CaseOpened, None)?;
    let now = now_ms();
    let inventory_id: i64 = tx
        .prepare_cached(
            "INSERT INTO inventory (user_id, case_id, case_name, name, rarity, value, won_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        )?
        .query_row(
            params![
                user_id,
                case.id,
                case.name,
                won.name,
                won.rarity.as_str(),
                won.value,
                now
            ],
            |row| row.get(0),
        )?;
    tx.prepare_cached(
        "INSERT INTO openings (user_id, case_id, case_item_id, inventory_id, price, item_value, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        user_id,
        case.id,
        won.id,
        inventory_id,
        case.price,
        won.value,
        now
    ])?;

    let item = InventoryItem {
        id: inventory_id,
        name: won.name.clone(),
        rarity: won.rarity,
        value: won.value,
        case_id: case.id,
        case_name: case.name.clone(),
        won_at: now,
    };
    let inventory = ServerEvent::InventoryUpdated(InventoryUpdated {
        user_id,
        action: InventoryAction::Added,
        item: item.clone(),
    });
    let drop = ServerEvent::DropNew(DropNew {
        username,
        case: case.name.clone(),
        case_id: case.id,
        item: won.name.clone(),
        rarity: won.rarity,
        value: won.value,
    });
    emit_all(tx, &[balance_event, inventory, drop])?;
    Ok(OpenCaseResponse { item, balance })
}

fn topup(tx: &mut WriteTx<'_>, req: TopupRequest) -> Result<TopupResponse, StoreError> {
    let existing: Option<(i64, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT user_id, amount, balance_after, credited_at FROM payments WHERE payment_id = ?1",
        )?
        .query_row([&req.payment_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    if let Some((user_id, amount, balance, credited_at)) = existing {
        if user_id != req.user_id || amount != req.amount {
            return Err(StoreError::Conflict {
                code: "payment_mismatch",
                message: format!(
                    "payment {:?} was already credited with a different user or amount",
                    req.payment_id
                ),
            });
        }
        return Ok(TopupResponse {
            payment_id: req.payment_id,
            user_id,
            amount,
            balance,
            credited_at,
        });
    }
    let (balance, _, event) = change_balance(
        tx,
        req.user_id,
        req.amount,
        BalanceReason::Topup,
        Some(&req.payment_id),
    )?;
    emit(tx, &event)?;
    let credited_at = now_ms();
    tx.prepare_cached(
        "INSERT INTO payments (payment_id, user_id, amount, balance_after, credited_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        req.payment_id,
        req.user_id,
        req.amount,
        balance,
        credited_at
    ])?;
    Ok(TopupResponse {
        payment_id: req.payment_id,
        user_id: req.user_id,
        amount: req.amount,
        balance,
        credited_at,
    })
}

/// Applies `delta` to a balance unless that would take it below zero or above [`MAX_BALANCE`],
/// and writes the ledger row. Returns the new balance, the username and the `balance:updated` event,
/// which the caller emits with the transaction's other events.
fn change_balance(
    tx: &WriteTx<'_>,
    user_id: i64,
    delta: i64,
    reason: BalanceReason,
    note: Option<&str>,
) -> Result<(i64, String, ServerEvent), StoreError> {
    // The guard sits in the UPDATE itself, so no debit can pass on a stale check.
    let updated: Option<(i64, String)> = tx
        .prepare_cached(
            "UPDATE users SET balance = balance + ?1
             WHERE id = ?2 AND balance + ?1 >= 0 AND balance + ?1 <= ?3
             RETURNING balance, username",
        )?
        .query_row([delta, user_id, MAX_BALANCE], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((balance, username)) = updated else {
        let current: Option<i64> = tx
            .prepare_cached("SELECT balance FROM users WHERE id = ?1")?
            .query_row([user_id], |r| r.get(0))
            .optional()?;
        return Err(match current {
            None => StoreError::NotFound("user"),
            Some(balance) if delta < 0 => StoreError::InsufficientFunds {
                balance,
                needed: -delta,
            },
            Some(_) => StoreError::Conflict {
                code: "balance_limit",
                message: "the balance would exceed the largest supported amount".into(),
            },
        });
    };
    let reason_str = match reason {
        BalanceReason::CaseOpened => "case_opened",
        BalanceReason::ItemSold => "item_sold",
        BalanceReason::Topup => "topup",
        BalanceReason::Adjustment => "adjustment",
        BalanceReason::Sync => unreachable!("the server never records a sync"),
    };
    tx.prepare_cached(
        "INSERT INTO ledger (user_id, delta, balance_after, reason, note, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![user_id, delta, balance, reason_str, note, now_ms()])?;
    let event = ServerEvent::BalanceUpdated(BalanceUpdated {
        user_id,
        balance,
        delta,
        reason,
        note: note.map(str::to_owned),
    });
    Ok((balance, username, event))
}
