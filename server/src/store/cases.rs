//! Loot cases and their items. Every change emits `cases:updated` in the same transaction.

use std::collections::HashMap;

use cyberhub_protocol::{Case, CaseAction, CaseInput, CaseItem, CasesUpdated, Rarity, ServerEvent};

use super::tx::Tx;
use super::{Store, StoreError, now_ms};

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: i64,
    name: String,
    price: i64,
    image_url: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: i64,
    case_id: i64,
    name: String,
    rarity: String,
    value: i64,
    weight: i64,
}

impl From<ItemRow> for CaseItem {
    fn from(row: ItemRow) -> CaseItem {
        CaseItem {
            id: row.id,
            name: row.name,
            // Only validated spellings are ever written.
            rarity: Rarity::parse(&row.rarity).unwrap_or(Rarity::Common),
            value: row.value,
            weight: row.weight,
        }
    }
}

fn assemble(row: CaseRow, items: Vec<CaseItem>) -> Case {
    Case {
        id: row.id,
        name: row.name,
        price: row.price,
        image_url: row.image_url,
        items,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

impl Store {
    /// Every case with its items, oldest first.
    pub async fn list_cases(&self) -> Result<Vec<Case>, StoreError> {
        let (rows, items): (Vec<CaseRow>, Vec<ItemRow>) = on_pool!(self, |pool| {
            let rows = sqlx::query_as(
                "SELECT id, name, price, image_url, created_at, updated_at FROM cases ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            let items = sqlx::query_as(
                "SELECT id, case_id, name, rarity, value, weight FROM case_items
                 ORDER BY case_id, position",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((rows, items))
        })?;
        let mut by_case: HashMap<i64, Vec<CaseItem>> = HashMap::new();
        for item in items {
            by_case.entry(item.case_id).or_default().push(item.into());
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let items = by_case.remove(&row.id).unwrap_or_default();
                assemble(row, items)
            })
            .collect())
    }

    /// One case with its items.
    pub async fn case(&self, id: i64) -> Result<Case, StoreError> {
        let rows: Vec<CaseJoinRow> = on_pool!(self, |pool| {
            sqlx::query_as(CASE_WITH_ITEMS)
                .bind(id)
                .fetch_all(pool)
                .await
        })?;
        assemble_join(rows).ok_or(StoreError::NotFound("case"))
    }

    /// Creates a case (input already validated) and announces it.
    pub async fn create_case(&self, input: &CaseInput) -> Result<Case, StoreError> {
        let input = input.clone();
        transact!(self, |tx| create_case(tx, &input))
    }

    /// Replaces a case's fields and items and announces it.
    pub async fn update_case(&self, id: i64, input: &CaseInput) -> Result<Case, StoreError> {
        let input = input.clone();
        transact!(self, |tx| update_case(tx, id, &input))
    }

    /// Deletes a case and announces it. Items already won stay in their owners' inventories.
    pub async fn delete_case(&self, id: i64) -> Result<(), StoreError> {
        transact!(self, |tx| delete_case(tx, id))
    }
}

async fn create_case(tx: &mut impl Tx, input: &CaseInput) -> Result<Case, StoreError> {
    let now = now_ms();
    let id = tx.insert_case(input, now).await?;
    tx.replace_items(id, input).await?;
    tx.emit(&cases_updated(id, CaseAction::Created), now)
        .await?;
    tx.case(id).await?.ok_or(StoreError::NotFound("case"))
}

async fn update_case(tx: &mut impl Tx, id: i64, input: &CaseInput) -> Result<Case, StoreError> {
    let now = now_ms();
    if !tx.update_case(id, input, now).await? {
        return Err(StoreError::NotFound("case"));
    }
    tx.replace_items(id, input).await?;
    tx.emit(&cases_updated(id, CaseAction::Updated), now)
        .await?;
    tx.case(id).await?.ok_or(StoreError::NotFound("case"))
}

async fn delete_case(tx: &mut impl Tx, id: i64) -> Result<(), StoreError> {
    if !tx.delete_case(id).await? {
        return Err(StoreError::NotFound("case"));
    }
    tx.emit(&cases_updated(id, CaseAction::Deleted), now_ms())
        .await?;
    Ok(())
}

fn cases_updated(case_id: i64, action: CaseAction) -> ServerEvent {
    ServerEvent::CasesUpdated(CasesUpdated { case_id, action })
}

/// A case and its items in one query: one row per item (or one row of NULL item columns). The same
/// text serves both databases and the writers' reads.
pub(super) const CASE_WITH_ITEMS: &str =
    "SELECT c.id, c.name, c.price, c.image_url, c.created_at, c.updated_at,
        i.id, i.name, i.rarity, i.value, i.weight
    FROM cases c LEFT JOIN case_items i ON i.case_id = c.id
    WHERE c.id = $1 ORDER BY i.position";

/// One row of [`CASE_WITH_ITEMS`].
pub(super) type CaseJoinRow = (
    i64,
    String,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// The case the rows of [`CASE_WITH_ITEMS`] describe; `None` when there were none (no such case).
pub(super) fn assemble_join(rows: Vec<CaseJoinRow>) -> Option<Case> {
    let first = rows.first()?;
    let case = CaseRow {
        id: first.0,
        name: first.1.clone(),
        price: first.2,
        image_url: first.3.clone(),
        created_at: first.4,
        updated_at: first.5,
    };
    let items = rows
        .into_iter()
        .filter_map(
            |(case_id, _, _, _, _, _, item_id, name, rarity, value, weight)| {
                Some(CaseItem::from(ItemRow {
                    id: item_id?,
                    case_id,
                    name: name?,
                    rarity: rarity?,
                    value: value?,
                    weight: weight?,
                }))
            },
        )
        .collect();
    Some(assemble(case, items))
}
