//! [`Tx`] in SQLite's dialect, on the writer thread's connection (rusqlite, prepared statements
//! cached per connection). No statement here waits: the writer thread is the only writer, so each
//! method completes at once.

use cyberhub_protocol::{
    Case, CaseInput, CaseItem, ChatMessage, InventoryItem, Rarity, Role, ServerEvent, TopupResponse,
};
use rusqlite::{OptionalExtension, params};

use super::is_unique_violation;
use super::writer::WriteTx;
use crate::store::billing::{SmartShellPayment, SmartShellRow};
use crate::store::cases::{CaseJoinRow, assemble_join};
use crate::store::fairness::PairRow;
use crate::store::sql;
use crate::store::tx::{Tx, WinRecord};
use crate::store::{StoreError, StoredEvent};

impl Tx for WriteTx<'_> {
    async fn insert_user(
        &mut self,
        username: &str,
        password_hash: &str,
        role: Role,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let inserted = self
            .prepare_cached(sql::INSERT_USER)?
            .query_row(params![username, password_hash, role.as_str(), now], |r| {
                r.get(0)
            });
        match inserted {
            Ok(id) => Ok(Some(id)),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn user_exists(&mut self, user_id: i64) -> Result<bool, StoreError> {
        Ok(self.prepare_cached(sql::USER_EXISTS)?.exists([user_id])?)
    }

    async fn user_id_by_name(&mut self, username: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .prepare_cached(sql::USER_ID_BY_NAME)?
            .query_row([username], |r| r.get(0))
            .optional()?)
    }

    async fn insert_session(
        &mut self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::INSERT_SESSION)?
            .execute(params![token_hash, user_id, now, expires_at])?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<u64, StoreError> {
        Ok(self
            .prepare_cached(sql::DELETE_SESSION)?
            .execute([token_hash])? as u64)
    }

    async fn delete_sessions_of(&mut self, user_id: i64) -> Result<u64, StoreError> {
        Ok(self
            .prepare_cached(sql::DELETE_SESSIONS_OF)?
            .execute([user_id])? as u64)
    }

    async fn delete_expired_sessions(&mut self, now: i64) -> Result<u64, StoreError> {
        Ok(self
            .prepare_cached(sql::DELETE_EXPIRED_SESSIONS)?
            .execute([now])? as u64)
    }

    async fn forget_revocations(&mut self, before: i64) -> Result<(), StoreError> {
        self.prepare_cached(sql::FORGET_REVOCATIONS)?
            .execute([before])?;
        Ok(())
    }

    async fn case(&mut self, case_id: i64) -> Result<Option<Case>, StoreError> {
        let rows = self
            .prepare_cached(crate::store::cases::CASE_WITH_ITEMS)?
            .query_map([case_id], |r| {
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
        Ok(assemble_join(rows))
    }

    async fn insert_case(&mut self, input: &CaseInput, now: i64) -> Result<i64, StoreError> {
        Ok(self.prepare_cached(sql::INSERT_CASE)?.query_row(
            params![input.name, input.price, input.image_url, now],
            |r| r.get(0),
        )?)
    }

    async fn update_case(
        &mut self,
        case_id: i64,
        input: &CaseInput,
        now: i64,
    ) -> Result<bool, StoreError> {
        let updated = self.prepare_cached(sql::UPDATE_CASE)?.execute(params![
            input.name,
            input.price,
            input.image_url,
            now,
            case_id
        ])?;
        Ok(updated > 0)
    }

    async fn replace_items(&mut self, case_id: i64, input: &CaseInput) -> Result<(), StoreError> {
        self.prepare_cached(sql::DELETE_CASE_ITEMS)?
            .execute([case_id])?;
        let mut insert = self.prepare_cached(sql::INSERT_CASE_ITEM)?;
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

    async fn delete_case(&mut self, case_id: i64) -> Result<bool, StoreError> {
        Ok(self.prepare_cached(sql::DELETE_CASE)?.execute([case_id])? > 0)
    }

    async fn add_to_balance(
        &mut self,
        user_id: i64,
        delta: i64,
        max: i64,
        reason: &str,
        note: Option<&str>,
        now: i64,
    ) -> Result<Option<(i64, String)>, StoreError> {
        let changed: Option<(i64, String)> = self
            .prepare_cached(sql::ADD_TO_BALANCE)?
            .query_row([delta, user_id, max], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((balance, _)) = &changed {
            self.prepare_cached(sql::INSERT_LEDGER_LINE)?
                .execute(params![user_id, delta, balance, reason, note, now])?;
        }
        Ok(changed)
    }

    async fn balance(&mut self, user_id: i64) -> Result<Option<i64>, StoreError> {
        Ok(self
            .prepare_cached(sql::BALANCE)?
            .query_row([user_id], |r| r.get(0))
            .optional()?)
    }

    async fn record_win(
        &mut self,
        user_id: i64,
        case: &Case,
        won: &CaseItem,
        draw: &WinRecord<'_>,
        now: i64,
    ) -> Result<i64, StoreError> {
        let inventory_id: i64 = self.prepare_cached(sql::INSERT_INVENTORY_ITEM)?.query_row(
            params![
                user_id,
                case.id,
                case.name,
                won.name,
                won.rarity.as_str(),
                won.value,
                now
            ],
            |r| r.get(0),
        )?;
        self.prepare_cached(sql::INSERT_OPENING)?.execute(params![
            user_id,
            case.id,
            won.id,
            inventory_id,
            case.price,
            won.value,
            now,
            draw.pair_id,
            draw.nonce,
            case.name,
            draw.items_json
        ])?;
        Ok(inventory_id)
    }

    async fn take_inventory_item(
        &mut self,
        user_id: i64,
        item_id: i64,
    ) -> Result<Option<InventoryItem>, StoreError> {
        Ok(self
            .prepare_cached(sql::TAKE_INVENTORY_ITEM)?
            .query_row([item_id, user_id], |r| {
                Ok(InventoryItem {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    rarity: Rarity::parse(&r.get::<_, String>(2)?).unwrap_or(Rarity::Common),
                    value: r.get(3)?,
                    case_id: r.get(4)?,
                    case_name: r.get(5)?,
                    won_at: r.get(6)?,
                })
            })
            .optional()?)
    }

    async fn lock_payment(&mut self, _payment_id: &str) -> Result<(), StoreError> {
        // The writer thread is the only writer: deliveries of one payment already run one after
        // the other.
        Ok(())
    }

    async fn payment(&mut self, payment_id: &str) -> Result<Option<TopupResponse>, StoreError> {
        Ok(self
            .prepare_cached(sql::PAYMENT)?
            .query_row([payment_id], |r| {
                Ok(TopupResponse {
                    payment_id: payment_id.to_owned(),
                    user_id: r.get(0)?,
                    amount: r.get(1)?,
                    balance: r.get(2)?,
                    credited_at: r.get(3)?,
                })
            })
            .optional()?)
    }

    async fn insert_payment(&mut self, payment: &TopupResponse) -> Result<(), StoreError> {
        self.prepare_cached(sql::INSERT_PAYMENT)?.execute(params![
            payment.payment_id,
            payment.user_id,
            payment.amount,
            payment.balance,
            payment.credited_at
        ])?;
        Ok(())
    }

    async fn active_mute(
        &mut self,
        user_id: i64,
        now: i64,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .prepare_cached(sql::ACTIVE_MUTE)?
            .query_row([user_id, now], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    async fn sent_since(
        &mut self,
        user_id: i64,
        text: &str,
        since: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached(sql::SENT_SINCE)?
            .exists(params![user_id, since, text])?)
    }

    async fn insert_chat_message(
        &mut self,
        user_id: i64,
        text: &str,
        now: i64,
    ) -> Result<Option<ChatMessage>, StoreError> {
        Ok(self
            .prepare_cached(sql::INSERT_CHAT_MESSAGE)?
            .query_row(params![text, now, user_id], |r| {
                Ok(ChatMessage {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    username: r.get(2)?,
                    role: Role::parse(&r.get::<_, String>(3)?).unwrap_or(Role::User),
                    text: r.get(4)?,
                    sent_at: r.get(5)?,
                })
            })
            .optional()?)
    }

    async fn chat_deleted_at(
        &mut self,
        message_id: i64,
    ) -> Result<Option<Option<i64>>, StoreError> {
        Ok(self
            .prepare_cached(sql::CHAT_DELETED_AT)?
            .query_row([message_id], |r| r.get(0))
            .optional()?)
    }

    async fn mark_chat_deleted(
        &mut self,
        message_id: i64,
        now: i64,
        by: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::MARK_CHAT_DELETED)?
            .execute(params![now, by, message_id])?;
        Ok(())
    }

    async fn lift_mute(&mut self, user_id: i64, now: i64) -> Result<bool, StoreError> {
        Ok(self
            .prepare_cached(sql::LIFT_MUTE)?
            .execute([now, user_id])?
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
        self.prepare_cached(sql::SET_MUTE)?
            .execute(params![user_id, until, reason, by, now])?;
        Ok(())
    }

    async fn current_pair(&mut self, user_id: i64) -> Result<Option<PairRow>, StoreError> {
        Ok(self
            .prepare_cached(sql::CURRENT_PAIR)?
            .query_row([user_id], pair_row)
            .optional()?)
    }

    async fn insert_pair(
        &mut self,
        user_id: i64,
        pair: &PairRow,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .prepare_cached(sql::INSERT_PAIR)?
            .query_row(
                params![
                    user_id,
                    pair.sealed_seed,
                    pair.server_seed_hash,
                    pair.client_seed,
                    pair.next_nonce,
                    now
                ],
                |r| r.get(0),
            )
            .optional()?)
    }

    async fn take_nonce(&mut self, user_id: i64) -> Result<Option<PairRow>, StoreError> {
        Ok(self
            .prepare_cached(sql::TAKE_NONCE)?
            .query_row([user_id], pair_row)
            .optional()?)
    }

    async fn reveal_pair(
        &mut self,
        pair_id: i64,
        seed: &str,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self
            .prepare_cached(sql::REVEAL_PAIR)?
            .query_row(params![seed, now, pair_id], |r| r.get(0))
            .optional()?)
    }

    async fn schedule_event(
        &mut self,
        event: &ServerEvent,
        due_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::SCHEDULE_EVENT)?.execute(params![
            due_at,
            event.name(),
            event.user_id(),
            event.data_json(),
            now
        ])?;
        Ok(())
    }

    async fn take_due_events(
        &mut self,
        now: i64,
        latest: i64,
        limit: i64,
    ) -> Result<Vec<ServerEvent>, StoreError> {
        // The writer thread is the only writer: nothing else takes these rows meanwhile.
        let mut due: Vec<(i64, String, String)> = self
            .prepare_cached(
                "DELETE FROM scheduled_events WHERE id IN (
                     SELECT id FROM scheduled_events WHERE due_at <= $1 OR due_at > $2
                     ORDER BY id LIMIT $3)
                 RETURNING id, kind, data",
            )?
            .query_map([now, latest, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        due.sort_by_key(|(id, _, _)| *id);
        due.into_iter()
            .map(|(_, kind, data)| {
                ServerEvent::from_parts(&kind, &data).map_err(|e| StoreError::Db(e.into()))
            })
            .collect()
    }

    async fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.prepare_cached(sql::SET_SETTING)?
            .execute([key, value])?;
        Ok(())
    }

    async fn smartshell_payment(
        &mut self,
        club: i64,
        payment_id: i64,
    ) -> Result<Option<SmartShellRow>, StoreError> {
        Ok(self
            .prepare_cached(sql::SMARTSHELL_PAYMENT)?
            .query_row([club, payment_id], |r| {
                Ok(SmartShellRow {
                    user_id: r.get(0)?,
                    amount: r.get(1)?,
                    credited_at: r.get(2)?,
                    refunded_at: r.get(3)?,
                })
            })
            .optional()?)
    }

    async fn insert_smartshell_payment(
        &mut self,
        club: i64,
        payment: &SmartShellPayment,
        now: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::INSERT_SMARTSHELL_PAYMENT)?
            .execute(params![
                club,
                payment.payment_id,
                payment.client_uuid,
                payment.amount,
                payment.paid_at,
                now
            ])?;
        Ok(())
    }

    async fn mark_smartshell_credited(
        &mut self,
        club: i64,
        payment_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::MARK_SMARTSHELL_CREDITED)?
            .execute([user_id, now, club, payment_id])?;
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
        self.prepare_cached(sql::MARK_SMARTSHELL_REFUNDED)?
            .execute([now, reversed, shortfall, club, payment_id])?;
        Ok(())
    }

    async fn linked_user(&mut self, client_uuid: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .prepare_cached(sql::LINKED_USER)?
            .query_row([client_uuid], |r| r.get(0))
            .optional()?)
    }

    async fn delete_link(&mut self, user_id: i64) -> Result<bool, StoreError> {
        Ok(self.prepare_cached(sql::DELETE_LINK)?.execute([user_id])? > 0)
    }

    async fn insert_link(
        &mut self,
        user_id: i64,
        client_uuid: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.prepare_cached(sql::INSERT_LINK)?
            .execute(params![user_id, client_uuid, now])?;
        Ok(())
    }

    async fn unmatched_of(
        &mut self,
        client_uuid: &str,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        Ok(self
            .prepare_cached(sql::UNMATCHED_OF)?
            .query_map([client_uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    async fn set_billing_state(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.prepare_cached(sql::SET_BILLING_STATE)?
            .execute([key, value])?;
        Ok(())
    }

    async fn emit(&mut self, event: &ServerEvent, now: i64) -> Result<i64, StoreError> {
        let (kind, user_id, data) = (event.name(), event.user_id(), event.data_json());
        let id = self
            .prepare_cached(
                "INSERT INTO events (kind, user_id, data, created_at) VALUES (?1, ?2, ?3, ?4)
                 RETURNING id",
            )?
            .query_row(params![kind, user_id, data, now], |r| r.get(0))?;
        self.emitted(StoredEvent {
            id,
            kind: kind.to_owned(),
            user_id,
            data,
        });
        Ok(id)
    }

    async fn prune_events(&mut self, cutoff: i64) -> Result<u64, StoreError> {
        let deleted = self.prepare_cached(sql::PRUNE_EVENTS)?.execute([cutoff])?;
        self.prepare_cached(sql::RAISE_PRUNED_THROUGH)?
            .execute([cutoff])?;
        Ok(deleted as u64)
    }
}

/// A seed pair from the columns CURRENT_PAIR and TAKE_NONCE both return, in their order.
fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairRow> {
    Ok(PairRow {
        id: r.get(0)?,
        sealed_seed: r.get(1)?,
        server_seed_hash: r.get(2)?,
        client_seed: r.get(3)?,
        next_nonce: r.get(4)?,
    })
}
