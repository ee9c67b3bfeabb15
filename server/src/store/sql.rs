//! The statements of the write rules, written once for both databases. Each backend's `Tx` binds
//! and runs them in its own way; what really differs between the dialects (locks, statements merged
//! into one round trip on PostgreSQL, the events insert) stays in the backend.
//!
//! Placeholders are `$N`, which both read the same way only if every statement uses them in
//! ascending order of first use (`$1` before `$2`...): PostgreSQL binds by number, SQLite takes
//! `$1` as a named parameter and numbers parameters by first appearance. A test below holds every
//! statement to that, and binds follow the numbers.

// ---- accounts and sessions ----

pub const INSERT_USER: &str =
    "INSERT INTO users (username, password_hash, role, balance, created_at)
     VALUES ($1, $2, $3, 0, $4) RETURNING id";
pub const USER_EXISTS: &str = "SELECT 1 FROM users WHERE id = $1";
pub const USER_ID_BY_NAME: &str = "SELECT id FROM users WHERE username = $1";
pub const INSERT_SESSION: &str =
    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
     VALUES ($1, $2, $3, $4)";
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_hash = $1";
pub const DELETE_SESSIONS_OF: &str = "DELETE FROM sessions WHERE user_id = $1";
pub const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";
pub const FORGET_REVOCATIONS: &str = "DELETE FROM session_revocations WHERE revoked_at < $1";

// ---- cases ----

pub const INSERT_CASE: &str = "INSERT INTO cases (name, price, image_url, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $4) RETURNING id";
pub const UPDATE_CASE: &str =
    "UPDATE cases SET name = $1, price = $2, image_url = $3, updated_at = $4 WHERE id = $5";
pub const DELETE_CASE_ITEMS: &str = "DELETE FROM case_items WHERE case_id = $1";
pub const INSERT_CASE_ITEM: &str =
    "INSERT INTO case_items (case_id, position, name, rarity, value, weight)
     VALUES ($1, $2, $3, $4, $5, $6)";
pub const DELETE_CASE: &str = "DELETE FROM cases WHERE id = $1";

// ---- money and items ----

/// The balance guard: adds `$1` to user `$2`'s balance unless that leaves `0..=$3`.
pub const ADD_TO_BALANCE: &str = "UPDATE users SET balance = balance + $1
     WHERE id = $2 AND balance + $1 >= 0 AND balance + $1 <= $3
     RETURNING balance, username";
pub const INSERT_LEDGER_LINE: &str =
    "INSERT INTO ledger (user_id, delta, balance_after, reason, note, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)";
pub const BALANCE: &str = "SELECT balance FROM users WHERE id = $1";
pub const INSERT_INVENTORY_ITEM: &str =
    "INSERT INTO inventory (user_id, case_id, case_name, name, rarity, value, won_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
pub const INSERT_OPENING: &str = "INSERT INTO openings
     (user_id, case_id, case_item_id, inventory_id, price, item_value, opened_at, pair_id, nonce,
      case_name, items)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub const TAKE_INVENTORY_ITEM: &str = "DELETE FROM inventory WHERE id = $1 AND user_id = $2
     RETURNING id, name, rarity, value, case_id, case_name, won_at";
pub const PAYMENT: &str =
    "SELECT user_id, amount, balance_after, credited_at FROM payments WHERE payment_id = $1";
pub const INSERT_PAYMENT: &str =
    "INSERT INTO payments (payment_id, user_id, amount, balance_after, credited_at)
     VALUES ($1, $2, $3, $4, $5)";

// ---- chat ----

pub const ACTIVE_MUTE: &str =
    "SELECT muted_until, reason FROM chat_mutes WHERE user_id = $1 AND muted_until > $2";
pub const SENT_SINCE: &str =
    "SELECT 1 FROM chat_messages WHERE user_id = $1 AND sent_at > $2 AND text = $3 LIMIT 1";
/// Stores text `$1` sent at `$2` by user `$3`, with the sender's name and role as they are now.
pub const INSERT_CHAT_MESSAGE: &str =
    "INSERT INTO chat_messages (user_id, username, role, text, sent_at)
     SELECT id, username, role, $1, $2 FROM users WHERE id = $3
     RETURNING id, user_id, username, role, text, sent_at";
pub const CHAT_DELETED_AT: &str = "SELECT deleted_at FROM chat_messages WHERE id = $1";
pub const MARK_CHAT_DELETED: &str =
    "UPDATE chat_messages SET deleted_at = $1, deleted_by = $2 WHERE id = $3";
/// Ends user `$2`'s mute at `$1` if it runs past then.
pub const LIFT_MUTE: &str =
    "UPDATE chat_mutes SET muted_until = $1 WHERE user_id = $2 AND muted_until > $1";
pub const SET_MUTE: &str =
    "INSERT INTO chat_mutes (user_id, muted_until, reason, muted_by, created_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id) DO UPDATE SET muted_until = excluded.muted_until,
         reason = excluded.reason, muted_by = excluded.muted_by,
         created_at = excluded.created_at";

// ---- provably fair openings ----

pub const CURRENT_PAIR: &str =
    "SELECT id, sealed_seed, server_seed_hash, client_seed, next_nonce FROM fairness_pairs
     WHERE user_id = $1 AND revealed_at IS NULL";
/// A new current pair, unless the member has one already (a concurrent transaction made it): then
/// no row.
pub const INSERT_PAIR: &str = "INSERT INTO fairness_pairs
     (user_id, sealed_seed, server_seed_hash, client_seed, next_nonce, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (user_id) WHERE revealed_at IS NULL DO NOTHING
     RETURNING id";
/// Takes the next nonce of the member's current pair, in one statement: the row's lock makes
/// concurrent openings take turns, and a pair revealed meanwhile is no longer current.
pub const TAKE_NONCE: &str = "UPDATE fairness_pairs SET next_nonce = next_nonce + 1
     WHERE user_id = $1 AND revealed_at IS NULL
     RETURNING id, sealed_seed, server_seed_hash, client_seed, next_nonce - 1";
/// Ends a pair unless it ended already; the nonce its next opening would have had.
pub const REVEAL_PAIR: &str =
    "UPDATE fairness_pairs SET revealed_seed = $1, revealed_at = $2 WHERE id = $3 AND revealed_at IS NULL
     RETURNING next_nonce";
pub const SCHEDULE_EVENT: &str = "INSERT INTO scheduled_events (due_at, kind, user_id, data, created_at) VALUES ($1, $2, $3, $4, $5)";

pub const SET_SETTING: &str = "INSERT INTO server_settings (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

// ---- the billing bridge ----

pub const SMARTSHELL_PAYMENT: &str = "SELECT user_id, amount, credited_at, refunded_at
     FROM smartshell_payments WHERE club_id = $1 AND payment_id = $2";
pub const INSERT_SMARTSHELL_PAYMENT: &str = "INSERT INTO smartshell_payments
     (club_id, payment_id, client_uuid, amount, paid_at, seen_at) VALUES ($1, $2, $3, $4, $5, $6)";
pub const MARK_SMARTSHELL_CREDITED: &str =
    "UPDATE smartshell_payments SET user_id = $1, credited_at = $2
     WHERE club_id = $3 AND payment_id = $4";
pub const MARK_SMARTSHELL_REFUNDED: &str =
    "UPDATE smartshell_payments SET refunded_at = $1, reversed = $2, shortfall = $3
     WHERE club_id = $4 AND payment_id = $5";
pub const LINKED_USER: &str = "SELECT user_id FROM smartshell_links WHERE client_uuid = $1";
pub const DELETE_LINK: &str = "DELETE FROM smartshell_links WHERE user_id = $1";
pub const INSERT_LINK: &str =
    "INSERT INTO smartshell_links (user_id, client_uuid, linked_at) VALUES ($1, $2, $3)";
pub const UNMATCHED_OF: &str = "SELECT club_id, payment_id, amount FROM smartshell_payments
     WHERE client_uuid = $1 AND credited_at IS NULL AND refunded_at IS NULL ORDER BY payment_id";
pub const SET_BILLING_STATE: &str = "INSERT INTO billing_state (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

// ---- the outbox ----

pub const PRUNE_EVENTS: &str = "DELETE FROM events WHERE id <= $1";
pub const RAISE_PRUNED_THROUGH: &str =
    "UPDATE outbox_state SET value = CASE WHEN value < $1 THEN $1 ELSE value END
     WHERE key = 'pruned_through'";

#[cfg(test)]
mod tests {
    use super::*;

    /// Every statement of this module, by name.
    const ALL: &[(&str, &str)] = &[
        ("INSERT_USER", INSERT_USER),
        ("USER_EXISTS", USER_EXISTS),
        ("USER_ID_BY_NAME", USER_ID_BY_NAME),
        ("INSERT_SESSION", INSERT_SESSION),
        ("DELETE_SESSION", DELETE_SESSION),
        ("DELETE_SESSIONS_OF", DELETE_SESSIONS_OF),
        ("DELETE_EXPIRED_SESSIONS", DELETE_EXPIRED_SESSIONS),
        ("FORGET_REVOCATIONS", FORGET_REVOCATIONS),
        ("INSERT_CASE", INSERT_CASE),
        ("UPDATE_CASE", UPDATE_CASE),
        ("DELETE_CASE_ITEMS", DELETE_CASE_ITEMS),
        ("INSERT_CASE_ITEM", INSERT_CASE_ITEM),
        ("DELETE_CASE", DELETE_CASE),
        ("ADD_TO_BALANCE", ADD_TO_BALANCE),
        ("INSERT_LEDGER_LINE", INSERT_LEDGER_LINE),
        ("BALANCE", BALANCE),
        ("INSERT_INVENTORY_ITEM", INSERT_INVENTORY_ITEM),
        ("INSERT_OPENING", INSERT_OPENING),
        ("TAKE_INVENTORY_ITEM", TAKE_INVENTORY_ITEM),
        ("PAYMENT", PAYMENT),
        ("INSERT_PAYMENT", INSERT_PAYMENT),
        ("ACTIVE_MUTE", ACTIVE_MUTE),
        ("SENT_SINCE", SENT_SINCE),
        ("INSERT_CHAT_MESSAGE", INSERT_CHAT_MESSAGE),
        ("CHAT_DELETED_AT", CHAT_DELETED_AT),
        ("MARK_CHAT_DELETED", MARK_CHAT_DELETED),
        ("LIFT_MUTE", LIFT_MUTE),
        ("SET_MUTE", SET_MUTE),
        ("CURRENT_PAIR", CURRENT_PAIR),
        ("INSERT_PAIR", INSERT_PAIR),
        ("TAKE_NONCE", TAKE_NONCE),
        ("REVEAL_PAIR", REVEAL_PAIR),
        ("SCHEDULE_EVENT", SCHEDULE_EVENT),
        ("SET_SETTING", SET_SETTING),
        ("SMARTSHELL_PAYMENT", SMARTSHELL_PAYMENT),
        ("INSERT_SMARTSHELL_PAYMENT", INSERT_SMARTSHELL_PAYMENT),
        ("MARK_SMARTSHELL_CREDITED", MARK_SMARTSHELL_CREDITED),
        ("MARK_SMARTSHELL_REFUNDED", MARK_SMARTSHELL_REFUNDED),
        ("LINKED_USER", LINKED_USER),
        ("DELETE_LINK", DELETE_LINK),
        ("INSERT_LINK", INSERT_LINK),
        ("UNMATCHED_OF", UNMATCHED_OF),
        ("SET_BILLING_STATE", SET_BILLING_STATE),
        ("PRUNE_EVENTS", PRUNE_EVENTS),
        ("RAISE_PRUNED_THROUGH", RAISE_PRUNED_THROUGH),
    ];

    /// The placeholder numbers of `sql` in order of first appearance.
    pub(crate) fn first_uses(sql: &str) -> Vec<u32> {
        let mut seen = Vec::new();
        let mut rest = sql;
        while let Some(at) = rest.find('$') {
            rest = &rest[at + 1..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let n: u32 = digits.parse().expect("a $ is followed by its number");
            if !seen.contains(&n) {
                seen.push(n);
            }
        }
        seen
    }

    #[test]
    fn placeholders_are_first_used_in_ascending_order() {
        for (name, sql) in ALL {
            let uses = first_uses(sql);
            let ascending: Vec<u32> = (1..=uses.len() as u32).collect();
            assert_eq!(
                uses, ascending,
                "{name}: SQLite would bind these out of order"
            );
        }
        assert_eq!(first_uses("a = $2 AND b = $1"), vec![2, 1]);
    }

    #[test]
    fn every_statement_runs_on_sqlite_with_positional_binds() {
        // The schema itself, so a statement naming a column that is not there fails here too.
        let db = rusqlite::Connection::open_in_memory().unwrap();
        for migration in [
            include_str!("../../../migrations/sqlite/0001_init.sql"),
            include_str!("../../../migrations/sqlite/0002_chat.sql"),
            include_str!("../../../migrations/sqlite/0003_session_revocations.sql"),
            include_str!("../../../migrations/sqlite/0004_smartshell.sql"),
            include_str!("../../../migrations/sqlite/0005_fairness.sql"),
        ] {
            db.execute_batch(migration).unwrap();
        }
        for (name, sql) in ALL {
            let statement = db.prepare(sql).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                statement.parameter_count(),
                first_uses(sql).len(),
                "{name}: SQLite counts other parameters"
            );
        }
    }
}
