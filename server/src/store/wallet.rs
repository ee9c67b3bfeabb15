//! Money and items: opening cases, selling items back, top-ups and admin adjustments.
//!
//! Each operation is one transaction that changes the balance, records it in the ledger and emits the
//! events the user must see; either all of it is committed or none of it.

use cyberhub_protocol::fairness::{pick, roll};
use cyberhub_protocol::{
    BalanceAdjustResponse, BalanceReason, BalanceUpdated, DropNew, ErrorCode, InventoryAction,
    InventoryItem, InventoryUpdated, OpenCaseResponse, Rarity, SellResponse, ServerEvent,
    TopupRequest, TopupResponse,
};

use super::fairness::{self, SnapshotItem};
use super::tx::{Tx, WinRecord};
use super::{FairOpenings, Store, StoreError, now_ms};

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
        let rows: Vec<InventoryRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, name, rarity, value, case_id, case_name, won_at FROM inventory
                 WHERE user_id = $1 ORDER BY id DESC",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(InventoryItem::from).collect())
    }

    /// Pays for a case, draws an item provably fairly (the member's seed pair and its next nonce),
    /// puts it in the inventory and records the opening with what it was drawn from; emits
    /// `balance:updated` and `inventory:updated` at once, and `drop:new` for everyone after the
    /// reveal delay (scheduled in the same transaction).
    pub async fn open_case(
        &self,
        user_id: i64,
        case_id: i64,
    ) -> Result<OpenCaseResponse, StoreError> {
        let fair = self.fair()?.clone();
        let reveal_ms = fair.reveal_ms;
        let opened = transact!(self, |tx| open_case(tx, &fair, user_id, case_id))?;
        if reveal_ms > 0 {
            self.event_scheduled(now_ms() + reveal_ms);
        }
        Ok(opened)
    }

    /// Sells an owned item back for its value: removal and credit in one transaction; emits
    /// `inventory:updated` and `balance:updated`.
    pub async fn sell_item(&self, user_id: i64, item_id: i64) -> Result<SellResponse, StoreError> {
        transact!(self, |tx| sell_item(tx, user_id, item_id))
    }

    /// Credits a payment from the billing system once. A repeated payment id with the same user and
    /// amount gets the first answer again; with different ones it is a conflict.
    pub async fn topup(&self, req: &TopupRequest) -> Result<TopupResponse, StoreError> {
        let req = req.clone();
        transact!(self, |tx| topup(tx, &req))
    }

    /// An admin's signed change to a balance, with the reason the user will see.
    pub async fn adjust_balance(
        &self,
        user_id: i64,
        delta: i64,
        reason: &str,
    ) -> Result<BalanceAdjustResponse, StoreError> {
        let reason = reason.to_owned();
        transact!(self, |tx| adjust_balance(tx, user_id, delta, &reason))
    }
}

async fn open_case(
    tx: &mut impl Tx,
    fair: &FairOpenings,
    user_id: i64,
    case_id: i64,
) -> Result<OpenCaseResponse, StoreError> {
    let case = tx
        .case(case_id)
        .await?
        .ok_or(StoreError::NotFound("case"))?;
    if case.items.iter().all(|i| i.weight <= 0) {
        return Err(StoreError::Conflict {
            code: ErrorCode::CaseEmpty,
            message: "this case has no items to draw".into(),
        });
    }
    let now = now_ms();
    // Paid for first: a member who cannot pay uses up no nonce (the transaction rolls back).
    let (balance, username, balance_event) =
        change_balance(tx, user_id, -case.price, BalanceReason::CaseOpened, None).await?;
    let draw = fairness::draw(tx, &fair.sealer, user_id).await?;
    let roll = roll(&draw.server_seed, &draw.fair.client_seed, draw.fair.nonce);
    let weights: Vec<(i64, i64)> = case.items.iter().map(|i| (i.id, i.weight)).collect();
    let won_id = pick(roll, &weights).expect("a case with weights draws an item");
    let won = case
        .items
        .iter()
        .find(|i| i.id == won_id)
        .expect("pick draws one of the items")
        .clone();
    let mut snapshot: Vec<SnapshotItem> = case
        .items
        .iter()
        .map(|i| SnapshotItem {
            id: i.id,
            name: i.name.clone(),
            rarity: i.rarity.as_str().to_owned(),
            value: i.value,
            weight: i.weight,
        })
        .collect();
    snapshot.sort_by_key(|i| i.id);
    let items_json = serde_json::to_string(&snapshot).expect("plain values serialize");
    let record = WinRecord {
        pair_id: draw.pair_id,
        nonce: draw.fair.nonce,
        items_json: &items_json,
    };
    let inventory_id = tx.record_win(user_id, &case, &won, &record, now).await?;
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
        fair: Some(draw.fair.clone()),
    });
    let drop = ServerEvent::DropNew(DropNew {
        username,
        case: case.name.clone(),
        case_id: case.id,
        item: won.name,
        rarity: won.rarity,
        value: won.value,
    });
    // The opener sees the result at once; everyone else once the roulette has run. Scheduled
    // before the emit: on PostgreSQL the emit takes the outbox lock, held until the commit, and
    // nothing else should run under it.
    if fair.reveal_ms > 0 {
        tx.schedule_event(&drop, now + fair.reveal_ms, now).await?;
        tx.emit_all(&[balance_event, inventory], now).await?;
    } else {
        tx.emit_all(&[balance_event, inventory, drop], now).await?;
    }
    Ok(OpenCaseResponse {
        item,
        balance,
        case_item_id: won.id,
        fair: draw.fair,
        reveal_in_ms: fair.reveal_ms,
    })
}

async fn sell_item(
    tx: &mut impl Tx,
    user_id: i64,
    item_id: i64,
) -> Result<SellResponse, StoreError> {
    let item = tx
        .take_inventory_item(user_id, item_id)
        .await?
        .ok_or(StoreError::NotFound("inventory item"))?;
    let (balance, _, balance_event) =
        change_balance(tx, user_id, item.value, BalanceReason::ItemSold, None).await?;
    let removed = ServerEvent::InventoryUpdated(InventoryUpdated {
        user_id,
        action: InventoryAction::Removed,
        item: item.clone(),
        fair: None,
    });
    tx.emit_all(&[balance_event, removed], now_ms()).await?;
    Ok(SellResponse {
        item_id: item.id,
        credited: item.value,
        balance,
    })
}

/// Credits a payment once (the webhook's rule, and the billing bridge's).
pub(super) async fn topup(
    tx: &mut impl Tx,
    req: &TopupRequest,
) -> Result<TopupResponse, StoreError> {
    // Concurrent deliveries of one payment queue here; the first credits it, the others find it.
    tx.lock_payment(&req.payment_id).await?;
    if let Some(first) = tx.payment(&req.payment_id).await? {
        if first.user_id != req.user_id || first.amount != req.amount {
            return Err(StoreError::Conflict {
                code: ErrorCode::PaymentMismatch,
                message: format!(
                    "payment {:?} was already credited with a different user or amount",
                    req.payment_id
                ),
            });
        }
        return Ok(first);
    }
    let (balance, _, event) = change_balance(
        tx,
        req.user_id,
        req.amount,
        BalanceReason::Topup,
        Some(&req.payment_id),
    )
    .await?;
    let now = now_ms();
    tx.emit(&event, now).await?;
    let answer = TopupResponse {
        payment_id: req.payment_id.clone(),
        user_id: req.user_id,
        amount: req.amount,
        balance,
        credited_at: now,
    };
    tx.insert_payment(&answer).await?;
    Ok(answer)
}

async fn adjust_balance(
    tx: &mut impl Tx,
    user_id: i64,
    delta: i64,
    reason: &str,
) -> Result<BalanceAdjustResponse, StoreError> {
    let (balance, _, event) =
        change_balance(tx, user_id, delta, BalanceReason::Adjustment, Some(reason)).await?;
    tx.emit(&event, now_ms()).await?;
    Ok(BalanceAdjustResponse {
        user_id,
        delta,
        balance,
    })
}

/// Applies `delta` to a balance unless that would take it below zero or above [`MAX_BALANCE`],
/// and writes the ledger row. Returns the new balance, the username and the `balance:updated` event,
/// which the caller emits with the transaction's other events.
pub(super) async fn change_balance(
    tx: &mut impl Tx,
    user_id: i64,
    delta: i64,
    reason: BalanceReason,
    note: Option<&str>,
) -> Result<(i64, String, ServerEvent), StoreError> {
    let reason_str = match reason {
        BalanceReason::CaseOpened => "case_opened",
        BalanceReason::ItemSold => "item_sold",
        BalanceReason::Topup => "topup",
        BalanceReason::Adjustment => "adjustment",
        BalanceReason::Refund => "refund",
        BalanceReason::Sync => unreachable!("the server never records a sync"),
    };
    // The guard sits in the UPDATE itself, so no debit can pass on a stale check.
    let changed = tx
        .add_to_balance(user_id, delta, MAX_BALANCE, reason_str, note, now_ms())
        .await?;
    let Some((balance, username)) = changed else {
        return Err(match tx.balance(user_id).await? {
            None => StoreError::NotFound("user"),
            Some(balance) if delta < 0 => StoreError::InsufficientFunds {
                balance,
                needed: -delta,
            },
            Some(_) => StoreError::Conflict {
                code: ErrorCode::BalanceLimit,
                message: "the balance would exceed the largest supported amount".into(),
            },
        });
    };
    let event = ServerEvent::BalanceUpdated(BalanceUpdated {
        user_id,
        balance,
        delta,
        reason,
        note: note.map(str::to_owned),
    });
    Ok((balance, username, event))
}
