//! [`Tx`] in PostgreSQL's dialect, on one pooled connection inside a transaction.

use cyberhub_protocol::{
    Case, CaseInput, CaseItem, ChatMessage, InventoryItem, Rarity, Role, ServerEvent, TopupResponse,
};
use std::sync::Arc;

use sqlx::{PgPool, Postgres, Transaction};

use crate::store::billing::{SmartShellPayment, SmartShellRow};
use crate::store::cases::{CASE_WITH_ITEMS, CaseJoinRow, assemble_join};
use crate::store::fairness::PairRow;
use crate::store::sql;
use crate::store::tx::{Tx, WinRecord};
use crate::store::{StoreError, StoredEvent};

/// The advisory lock that puts event ids in commit order (see the module comment of the parent).
pub(super) const OUTBOX_LOCK: i64 = 0x6379_6265_7268_7562; // "cyberhub"
/// The key space of the per-payment locks (two-key advisory locks never meet the one-key outbox lock).
const PAYMENT_LOCKS: i32 = 1;

/// A transaction on the pool, with the events it wrote (for the hub, after the commit).
pub(in crate::store) struct PgTx {
    tx: Transaction<'static, Postgres>,
    events: Vec<StoredEvent>,
    /// This node's name in the notifications it sends, so that it can ignore its own.
    node: Arc<str>,
}

impl PgTx {
    pub async fn begin(pool: &PgPool, node: Arc<str>) -> Result<PgTx, StoreError> {
        Ok(PgTx {
            tx: pool.begin().await?,
            events: Vec::new(),
            node,
        })
    }

    /// Commits; returns the events written, in id order.
    pub async fn commit(self) -> Result<Vec<StoredEvent>, StoreError> {
        self.tx.commit().await?;
        Ok(self.events)
    }

    /// Rolls back (best effort: a broken connection rolls back by itself).
    pub async fn rollback(self) {
        let _ = self.tx.rollback().await;
    }
}

fn rarity(s: &str) -> Rarity {
    Rarity::parse(s).unwrap_or(Rarity::Common)
}

fn role(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::User)
}

impl Tx for PgTx {
    async fn insert_user(
        &mut self,
        username: &str,
        password_hash: &str,
        role: Role,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let inserted = sqlx::query_scalar(sql::INSERT_USER)
            .bind(username)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await;
        match inserted {
            Ok(id) => Ok(Some(id)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn user_exists(&mut self, user_id: i64) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar(sql::USER_EXISTS)
            .bind(user_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    async fn user_id_by_name(&mut self, username: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::USER_ID_BY_NAME)
            .bind(username)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_SESSION)
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::DELETE_SESSION)
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?
            .rows_affected())
    }

    async fn delete_sessions_of(&mut self, user_id: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::DELETE_SESSIONS_OF)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected())
    }

    async fn delete_expired_sessions(&mut self, now: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::DELETE_EXPIRED_SESSIONS)
            .bind(now)
            .execute(&mut *self.tx)
            .await?
            .rows_affected())
    }

    async fn forget_revocations(&mut self, before: i64) -> Result<(), StoreError> {
        sqlx::query(sql::FORGET_REVOCATIONS)
            .bind(before)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn case(&mut self, case_id: i64) -> Result<Option<Case>, StoreError> {
        let rows: Vec<CaseJoinRow> = sqlx::query_as(CASE_WITH_ITEMS)
            .bind(case_id)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(assemble_join(rows))
    }

    async fn insert_case(&mut self, input: &CaseInput, now: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql::INSERT_CASE)
            .bind(&input.name)
            .bind(input.price)
            .bind(&input.image_url)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?)
    }

    async fn update_case(
        &mut self,
        case_id: i64,
        input: &CaseInput,
        now: i64,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(sql::UPDATE_CASE)
            .bind(&input.name)
            .bind(input.price)
            .bind(&input.image_url)
            .bind(now)
            .bind(case_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(updated.rows_affected() > 0)
    }

    async fn replace_items(&mut self, case_id: i64, input: &CaseInput) -> Result<(), StoreError> {
        sqlx::query(sql::DELETE_CASE_ITEMS)
            .bind(case_id)
            .execute(&mut *self.tx)
            .await?;
        for (position, item) in input.items.iter().enumerate() {
            sqlx::query(sql::INSERT_CASE_ITEM)
                .bind(case_id)
                .bind(position as i64)
                .bind(&item.name)
                .bind(item.rarity.as_str())
                .bind(item.value)
                .bind(item.weight)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn delete_case(&mut self, case_id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(sql::DELETE_CASE)
            .bind(case_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected()
            > 0)
    }

    /// One statement: one round trip fewer on every change of money.
    async fn add_to_balance(
        &mut self,
        user_id: i64,
        delta: i64,
        max: i64,
        reason: &str,
        note: Option<&str>,
        now: i64,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "WITH moved AS (
                 UPDATE users SET balance = balance + $1
                 WHERE id = $2 AND balance + $1 >= 0 AND balance + $1 <= $3
                 RETURNING balance, username
             ), line AS (
                 INSERT INTO ledger (user_id, delta, balance_after, reason, note, created_at)
                 SELECT $2, $1, balance, $4, $5, $6 FROM moved
             )
             SELECT balance, username FROM moved",
        )
        .bind(delta)
        .bind(user_id)
        .bind(max)
        .bind(reason)
        .bind(note)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn balance(&mut self, user_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::BALANCE)
            .bind(user_id)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    /// One statement for both rows.
    async fn record_win(
        &mut self,
        user_id: i64,
        case: &Case,
        won: &CaseItem,
        draw: &WinRecord<'_>,
        now: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "WITH item AS (
                 INSERT INTO inventory (user_id, case_id, case_name, name, rarity, value, won_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
             )
             INSERT INTO openings (user_id, case_id, case_item_id, inventory_id, price, item_value,
                                   opened_at, pair_id, nonce, case_name, items)
             SELECT $1, $2, $8, id, $9, $6, $7, $10, $11, $3, $12 FROM item
             RETURNING inventory_id",
        )
        .bind(user_id)
        .bind(case.id)
        .bind(&case.name)
        .bind(&won.name)
        .bind(won.rarity.as_str())
        .bind(won.value)
        .bind(now)
        .bind(won.id)
        .bind(case.price)
        .bind(draw.pair_id)
        .bind(draw.nonce)
        .bind(draw.items_json)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn take_inventory_item(
        &mut self,
        user_id: i64,
        item_id: i64,
    ) -> Result<Option<InventoryItem>, StoreError> {
        let row: Option<(i64, String, String, i64, i64, String, i64)> =
            sqlx::query_as(sql::TAKE_INVENTORY_ITEM)
                .bind(item_id)
                .bind(user_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(row.map(
            |(id, name, rarity_name, value, case_id, case_name, won_at)| InventoryItem {
                id,
                name,
                rarity: rarity(&rarity_name),
                value,
                case_id,
                case_name,
                won_at,
            },
        ))
    }

    async fn lock_payment(&mut self, payment_id: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(PAYMENT_LOCKS)
            .bind(payment_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn payment(&mut self, payment_id: &str) -> Result<Option<TopupResponse>, StoreError> {
        let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(sql::PAYMENT)
            .bind(payment_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(
            row.map(|(user_id, amount, balance, credited_at)| TopupResponse {
                payment_id: payment_id.to_owned(),
                user_id,
                amount,
                balance,
                credited_at,
            }),
        )
    }

    async fn insert_payment(&mut self, payment: &TopupResponse) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_PAYMENT)
            .bind(&payment.payment_id)
            .bind(payment.user_id)
            .bind(payment.amount)
            .bind(payment.balance)
            .bind(payment.credited_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn active_mute(
        &mut self,
        user_id: i64,
        now: i64,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(sql::ACTIVE_MUTE)
            .bind(user_id)
            .bind(now)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn sent_since(
        &mut self,
        user_id: i64,
        text: &str,
        since: i64,
    ) -> Result<bool, StoreError> {
        let found: Option<i32> = sqlx::query_scalar(sql::SENT_SINCE)
            .bind(user_id)
            .bind(since)
            .bind(text)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(found.is_some())
    }

    async fn insert_chat_message(
        &mut self,
        user_id: i64,
        text: &str,
        now: i64,
    ) -> Result<Option<ChatMessage>, StoreError> {
        let row: Option<(i64, i64, String, String, String, i64)> =
            sqlx::query_as(sql::INSERT_CHAT_MESSAGE)
                .bind(text)
                .bind(now)
                .bind(user_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(row.map(
            |(id, user_id, username, role_name, text, sent_at)| ChatMessage {
                id,
                user_id,
                username,
                role: role(&role_name),
                text,
                sent_at,
            },
        ))
    }

    async fn chat_deleted_at(
        &mut self,
        message_id: i64,
    ) -> Result<Option<Option<i64>>, StoreError> {
        Ok(sqlx::query_scalar(sql::CHAT_DELETED_AT)
            .bind(message_id)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn mark_chat_deleted(
        &mut self,
        message_id: i64,
        now: i64,
        by: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::MARK_CHAT_DELETED)
            .bind(now)
            .bind(by)
            .bind(message_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn lift_mute(&mut self, user_id: i64, now: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(sql::LIFT_MUTE)
            .bind(now)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected()
            > 0)
    }

    async fn set_mute(
        &mut self,
        user_id: i64,
        until: i64,
        reason: &str,
        by: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::SET_MUTE)
            .bind(user_id)
            .bind(until)
            .bind(reason)
            .bind(by)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn current_pair(&mut self, user_id: i64) -> Result<Option<PairRow>, StoreError> {
        let row: Option<(i64, String, String, String, i64)> = sqlx::query_as(sql::CURRENT_PAIR)
            .bind(user_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(
            |(id, sealed_seed, server_seed_hash, client_seed, next_nonce)| PairRow {
                id,
                sealed_seed,
                server_seed_hash,
                client_seed,
                next_nonce,
            },
        ))
    }

    async fn insert_pair(
        &mut self,
        user_id: i64,
        pair: &PairRow,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::INSERT_PAIR)
            .bind(user_id)
            .bind(&pair.sealed_seed)
            .bind(&pair.server_seed_hash)
            .bind(&pair.client_seed)
            .bind(pair.next_nonce)
            .bind(now)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn take_nonce(&mut self, user_id: i64) -> Result<Option<PairRow>, StoreError> {
        let row: Option<(i64, String, String, String, i64)> = sqlx::query_as(sql::TAKE_NONCE)
            .bind(user_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(
            |(id, sealed_seed, server_seed_hash, client_seed, next_nonce)| PairRow {
                id,
                sealed_seed,
                server_seed_hash,
                client_seed,
                next_nonce,
            },
        ))
    }

    async fn reveal_pair(
        &mut self,
        pair_id: i64,
        seed: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::REVEAL_PAIR)
            .bind(seed)
            .bind(now)
            .bind(pair_id)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn schedule_event(
        &mut self,
        event: &ServerEvent,
        due_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::SCHEDULE_EVENT)
            .bind(due_at)
            .bind(event.name())
            .bind(event.user_id())
            .bind(event.data_json())
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn take_due_events(
        &mut self,
        now: i64,
        latest: i64,
        limit: i64,
    ) -> Result<Vec<ServerEvent>, StoreError> {
        // Several nodes take due events at once: each row goes to one of them (the others skip
        // the rows it has locked), and is deleted in the transaction that publishes it.
        let mut due: Vec<(i64, String, String)> = sqlx::query_as(
            "DELETE FROM scheduled_events WHERE id IN (
                 SELECT id FROM scheduled_events WHERE due_at <= $1 OR due_at > $2
                 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id, kind, data",
        )
        .bind(now)
        .bind(latest)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        due.sort_by_key(|(id, _, _)| *id);
        due.into_iter()
            .map(|(_, kind, data)| {
                ServerEvent::from_parts(&kind, &data).map_err(|e| StoreError::Db(e.into()))
            })
            .collect()
    }

    async fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(sql::SET_SETTING)
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn smartshell_payment(
        &mut self,
        club: i64,
        payment_id: i64,
    ) -> Result<Option<SmartShellRow>, StoreError> {
        Ok(sqlx::query_as(sql::SMARTSHELL_PAYMENT)
            .bind(club)
            .bind(payment_id)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn insert_smartshell_payment(
        &mut self,
        club: i64,
        payment: &SmartShellPayment,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_SMARTSHELL_PAYMENT)
            .bind(club)
            .bind(payment.payment_id)
            .bind(&payment.client_uuid)
            .bind(payment.amount)
            .bind(&payment.paid_at)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn mark_smartshell_credited(
        &mut self,
        club: i64,
        payment_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::MARK_SMARTSHELL_CREDITED)
            .bind(user_id)
            .bind(now)
            .bind(club)
            .bind(payment_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn mark_smartshell_refunded(
        &mut self,
        club: i64,
        payment_id: i64,
        now: i64,
        reversed: i64,
        shortfall: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::MARK_SMARTSHELL_REFUNDED)
            .bind(now)
            .bind(reversed)
            .bind(shortfall)
            .bind(club)
            .bind(payment_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn linked_user(&mut self, client_uuid: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql::LINKED_USER)
            .bind(client_uuid)
            .fetch_optional(&mut *self.tx)
            .await?)
    }

    async fn delete_link(&mut self, user_id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(sql::DELETE_LINK)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?
            .rows_affected()
            > 0)
    }

    async fn insert_link(
        &mut self,
        user_id: i64,
        client_uuid: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_LINK)
            .bind(user_id)
            .bind(client_uuid)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn unmatched_of(
        &mut self,
        client_uuid: &str,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        Ok(sqlx::query_as(sql::UNMATCHED_OF)
            .bind(client_uuid)
            .fetch_all(&mut *self.tx)
            .await?)
    }

    async fn set_billing_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(sql::SET_BILLING_STATE)
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn emit(&mut self, event: &ServerEvent, now: i64) -> Result<i64, StoreError> {
        self.emit_all(std::slice::from_ref(event), now).await?;
        Ok(self.events.last().expect("just written").id)
    }

    /// One statement: the outbox lock (ids in commit order: held until this transaction ends; taken
    /// again by a later statement of the same transaction, it is already held), the wake-up of the
    /// other nodes (sent when the transaction commits, once however often it is asked for), and
    /// every event, numbered in order.
    async fn emit_all(&mut self, events: &[ServerEvent], now: i64) -> Result<(), StoreError> {
        let kinds: Vec<&str> = events.iter().map(ServerEvent::name).collect();
        let users: Vec<Option<i64>> = events.iter().map(ServerEvent::user_id).collect();
        let data: Vec<String> = events.iter().map(ServerEvent::data_json).collect();
        let mut rows: Vec<StoredEvent> = sqlx::query_as(
            "WITH outbox AS MATERIALIZED (SELECT pg_advisory_xact_lock($1), pg_notify($2, $3))
             INSERT INTO events (kind, user_id, data, created_at)
             SELECT e.kind, e.user_id, e.data, $7
             FROM outbox, unnest($4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY
                 AS e(kind, user_id, data, n)
             ORDER BY e.n
             RETURNING id, kind, user_id, data",
        )
        .bind(OUTBOX_LOCK)
        .bind(super::EVENTS_CHANNEL)
        .bind(&*self.node)
        .bind(&kinds)
        .bind(&users)
        .bind(&data)
        .bind(now)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.sort_unstable_by_key(|e| e.id);
        self.events.extend(rows);
        Ok(())
    }

    async fn prune_events(&mut self, cutoff: i64) -> Result<u64, StoreError> {
        let deleted = sqlx::query(sql::PRUNE_EVENTS)
            .bind(cutoff)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        sqlx::query(sql::RAISE_PRUNED_THROUGH)
            .bind(cutoff)
            .execute(&mut *self.tx)
            .await?;
        Ok(deleted)
    }
}
