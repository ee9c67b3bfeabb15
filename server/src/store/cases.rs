//! Loot cases and their items. Every change emits `cases:updated` in the same transaction.

use std::collections::HashMap;

use cyberhub_protocol::{Case, CaseAction, CaseInput, CaseItem, CasesUpdated, Rarity, ServerEvent};

use super::outbox::emit;
use super::{Conn, Store, StoreError, now_ms};

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
        let mut conn = self.read.acquire().await?;
        read_case(&mut conn, id).await
    }

    /// Creates a case (input already validated) and announces it.
    pub async fn create_case(&self, input: &CaseInput) -> Result<Case, StoreError> {
        let mut tx = self.begin().await?;
        let now = now_ms();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO cases (name, price, image_url, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(&input.name)
        .bind(input.price)
        .bind(&input.image_url)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        insert_items(&mut tx, id, input).await?;
        emit(&mut tx, &cases_updated(id, CaseAction::Created)).await?;
        let case = read_case(&mut tx, id).await?;
        self.commit_with_events(tx).await?;
        Ok(case)
    }

    /// Replaces a case's fields and items and announces it.
    pub async fn update_case(&self, id: i64, input: &CaseInput) -> Result<Case, StoreError> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE cases SET name = $1, price = $2, image_url = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(&input.name)
        .bind(input.price)
        .bind(&input.image_url)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("case"));
        }
        sqlx::query("DELETE FROM case_items WHERE case_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_items(&mut tx, id, input).await?;
        emit(&mut tx, &cases_updated(id, CaseAction::Updated)).await?;
        let case = read_case(&mut tx, id).await?;
        self.commit_with_events(tx).await?;
        Ok(case)
    }

    /// Deletes a case and announces it. Items already won stay in their owners' inventories.
    pub async fn delete_case(&self, id: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let deleted = sqlx::query("DELETE FROM cases WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound("case"));
        }
        emit(&mut tx, &cases_updated(id, CaseAction::Deleted)).await?;
        self.commit_with_events(tx).await?;
        Ok(())
    }
}

fn cases_updated(case_id: i64, action: CaseAction) -> ServerEvent {
    ServerEvent::CasesUpdated(CasesUpdated { case_id, action })
}

async fn insert_items(conn: &mut Conn, case_id: i64, input: &CaseInput) -> Result<(), sqlx::Error> {
    for (position, item) in input.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO case_items (case_id, position, name, rarity, value, weight)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(case_id)
        .bind(position as i64)
        .bind(&item.name)
        .bind(item.rarity.as_str())
        .bind(item.value)
        .bind(item.weight)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Reads a case and its items in one query, on the given connection (inside a transaction, it sees
/// that transaction's writes).
pub(super) async fn read_case(conn: &mut Conn, id: i64) -> Result<Case, StoreError> {
    type Row = (
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
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT c.id, c.name, c.price, c.image_url, c.created_at, c.updated_at,
                i.id, i.name, i.rarity, i.value, i.weight
         FROM cases c LEFT JOIN case_items i ON i.case_id = c.id
         WHERE c.id = $1 ORDER BY i.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
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
