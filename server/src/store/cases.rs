//! Loot cases and their items. Every change emits `cases:updated` in the same transaction.

use std::collections::HashMap;

use cyberhub_protocol::{Case, CaseAction, CaseInput, CaseItem, CasesUpdated, Rarity, ServerEvent};

use rusqlite::params;

use super::outbox::emit;
use super::{Store, StoreError, WriteTx, now_ms};

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
pub(super) struct ItemRow {
    pub id: i64,
    pub case_id: i64,
    pub name: String,
    pub rarity: String,
    pub value: i64,
    pub weight: i64,
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
        let rows: Vec<CaseRow> = sqlx::query_as(
            "SELECT id, name, price, image_url, created_at, updated_at FROM cases ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        let items: Vec<ItemRow> = sqlx::query_as(
            "SELECT id, case_id, name, rarity, value, weight FROM case_items ORDER BY case_id, position",
        )
        .fetch_all(&self.read)
        .await?;
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
        let rows: Vec<CaseJoinRow> = sqlx::query_as(CASE_WITH_ITEMS)
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        assemble_join(rows)
    }

    /// Creates a case (input already validated) and announces it.
    pub async fn create_case(&self, input: &CaseInput) -> Result<Case, StoreError> {
        let input = input.clone();
        self.write(move |tx| {
            let now = now_ms();
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO cases (name, price, image_url, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
                )?
                .query_row(
                    params![input.name, input.price, input.image_url, now],
                    |row| row.get(0),
                )?;
            insert_items(tx, id, &input)?;
            emit(tx, &cases_updated(id, CaseAction::Created))?;
            read_case(tx, id)
        })
        .await
    }

    /// Replaces a case's fields and items and announces it.
    pub async fn update_case(&self, id: i64, input: &CaseInput) -> Result<Case, StoreError> {
        let input = input.clone();
        self.write(move |tx| {
            let updated = tx
                .prepare_cached(
                    "UPDATE cases SET name = ?1, price = ?2, image_url = ?3, updated_at = ?4
                     WHERE id = ?5",
                )?
                .execute(params![
                    input.name,
                    input.price,
                    input.image_url,
                    now_ms(),
                    id
                ])?;
            if updated == 0 {
                return Err(StoreError::NotFound("case"));
            }
            tx.prepare_cached("DELETE FROM case_items WHERE case_id = ?1")?
                .execute([id])?;
            insert_items(tx, id, &input)?;
            emit(tx, &cases_updated(id, CaseAction::Updated))?;
            read_case(tx, id)
        })
        .await
    }

    /// Deletes a case and announces it. Items already won stay in their owners' inventories.
    pub async fn delete_case(&self, id: i64) -> Result<(), StoreError> {
        self.write(move |tx| {
            let deleted = tx
                .prepare_cached("DELETE FROM cases WHERE id = ?1")?
                .execute([id])?;
            if deleted == 0 {
                return Err(StoreError::NotFound("case"));
            }
            emit(tx, &cases_updated(id, CaseAction::Deleted))?;
            Ok(())
        })
        .await
    }
}

fn cases_updated(case_id: i64, action: CaseAction) -> ServerEvent {
    ServerEvent::CasesUpdated(CasesUpdated { case_id, action })
}

fn insert_items(tx: &WriteTx<'_>, case_id: i64, input: &CaseInput) -> rusqlite::Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO case_items (case_id, position, name, rarity, value, weight)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (position, item) in input.items.iter().enumerate() {
        insert.execute(params![
            case_id,
            position as i64,
            item.name,
            item.rarity.as_str(),
            item.value,
            item.weight
        ])?;
    }
    Ok(())
}

/// A case and its items in one query: one row per item (or one row of NULL item columns).
const CASE_WITH_ITEMS: &str =
    "SELECT c.id, c.name, c.price, c.image_url, c.created_at, c.updated_at,
        i.id, i.name, i.rarity, i.value, i.weight
    FROM cases c LEFT JOIN case_items i ON i.case_id = c.id
    WHERE c.id = ?1 ORDER BY i.position";

type CaseJoinRow = (
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

/// Reads a case inside a write transaction (it sees that transaction's writes).
pub(super) fn read_case(tx: &WriteTx<'_>, id: i64) -> Result<Case, StoreError> {
    let rows = tx
        .prepare_cached(CASE_WITH_ITEMS)?
        .query_map([id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<CaseJoinRow>>>()?;
    assemble_join(rows)
}

fn assemble_join(rows: Vec<CaseJoinRow>) -> Result<Case, StoreError> {
    let Some(first) = rows.first() else {
        return Err(StoreError::NotFound("case"));
    };
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
    Ok(assemble(case, items))
}
