//! Accounts and login sessions.

use std::time::Duration;

use cyberhub_protocol::{ErrorCode, Role, User};

use super::tx::Tx;
use super::{Store, StoreError, now_ms};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    role: String,
    balance: i64,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.id,
            username: row.username,
            // The CHECK constraint admits only the two spellings.
            role: Role::parse(&row.role).unwrap_or(Role::User),
            balance: row.balance,
        }
    }
}

/// The user behind a valid session token, and the session itself.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// The session: a revocation of it ends the streams opened with it.
    pub session: SessionKey,
}

/// A session as streams know it: short enough to keep per stream, and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionKey {
    /// The first 64 bits of the token's SHA-256 (see [`SessionKey::fingerprint_of`]).
    pub fingerprint: u64,
    /// When it expires, Unix ms.
    pub expires_at: i64,
}

impl SessionKey {
    /// The fingerprint of a stored token hash (hex SHA-256).
    pub fn fingerprint_of(token_hash: &str) -> u64 {
        token_hash
            .get(..16)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or(0)
    }
}

impl Store {
    /// Creates an account; a taken username is a conflict.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<User, StoreError> {
        let (username, password_hash) = (username.to_owned(), password_hash.to_owned());
        transact!(self, |tx| create_user(tx, username, &password_hash, role))
    }

    /// A user and their password hash, for login.
    pub async fn user_with_password(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(i64, String, String, i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, username, role, balance, password_hash FROM users WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(id, username, role, balance, hash)| {
            let user = UserRow {
                id,
                username,
                role,
                balance,
            };
            (user.into(), hash)
        }))
    }

    /// One user by id.
    pub async fn user(&self, id: i64) -> Result<User, StoreError> {
        let row: Option<UserRow> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, username, role, balance FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(User::from).ok_or(StoreError::NotFound("user"))
    }

    /// How many accounts exist (the demo seed only runs on an empty database).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await
        })?;
        Ok(n)
    }

    /// Records a session under the SHA-256 of its token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let token_hash = token_hash.to_owned();
        transact!(self, |tx| tx.insert_session(
            &token_hash,
            user_id,
            now_ms(),
            expires_at
        ))
    }

    /// The user of an unexpired session, if any.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<SessionUser>, StoreError> {
        if let Some(user) = self.sessions.get(token_hash) {
            return Ok(Some(user));
        }
        let now = now_ms();
        let row: Option<(i64, String, String, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.username, u.role, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(id, username, role, expires_at)| {
            let user = SessionUser {
                id,
                username,
                role: Role::parse(&role).unwrap_or(Role::User),
                session: SessionKey {
                    fingerprint: SessionKey::fingerprint_of(token_hash),
                    expires_at,
                },
            };
            let left = Duration::from_millis((expires_at - now).max(0) as u64);
            self.sessions.put(token_hash, user.clone(), left);
            user
        }))
    }

    /// Revokes a session (logout). The database records the revocation (a trigger), so every server
    /// on this database ends the session's streams.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.sessions.remove(token_hash);
        let token_hash = token_hash.to_owned();
        transact!(self, |tx| tx.delete_session(&token_hash)).map(drop)
    }

    /// Sessions revoked after the revocation `after` (logouts, expiry cleanup, deleted users, any
    /// process or node): `(revocation id, token hash)` in order. Each is also forgotten by this
    /// process's session cache.
    pub async fn revocations_after(&self, after: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows: Vec<(i64, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, token_hash FROM session_revocations WHERE id > $1 ORDER BY id LIMIT 1000",
            )
            .bind(after)
            .fetch_all(pool)
            .await
        })?;
        for (_, token_hash) in &rows {
            self.sessions.remove(token_hash);
        }
        Ok(rows)
    }

    /// The newest revocation id (where a starting hub begins to watch).
    pub async fn last_revocation(&self) -> Result<i64, StoreError> {
        let (id,): (Option<i64>,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT MAX(id) FROM session_revocations")
                .fetch_one(pool)
                .await
        })?;
        Ok(id.unwrap_or(0))
    }

    /// Ends every session of the user named `username` (signing them out everywhere); the
    /// revocation records reach every server, which ends their streams. Returns how many.
    pub async fn end_sessions_of(&self, username: &str) -> Result<u64, StoreError> {
        let username = username.to_owned();
        transact!(self, |tx| end_sessions_of(tx, username))
    }

    /// Deletes expired sessions, and revocation records older than `keep_ms` (each server has read
    /// them long before). Returns how many sessions went.
    pub async fn prune_sessions(&self, keep_ms: i64) -> Result<u64, StoreError> {
        transact!(self, |tx| prune_sessions(tx, keep_ms))
    }
}

async fn create_user(
    tx: &mut impl Tx,
    username: String,
    password_hash: &str,
    role: Role,
) -> Result<User, StoreError> {
    match tx
        .insert_user(&username, password_hash, role, now_ms())
        .await?
    {
        Some(id) => Ok(User {
            id,
            username,
            role,
            balance: 0,
        }),
        None => Err(StoreError::Conflict {
            code: ErrorCode::UsernameTaken,
            message: format!("username {username:?} is taken"),
        }),
    }
}

async fn end_sessions_of(tx: &mut impl Tx, username: String) -> Result<u64, StoreError> {
    let user = tx
        .user_id_by_name(&username)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    tx.delete_sessions_of(user).await
}

async fn prune_sessions(tx: &mut impl Tx, keep_ms: i64) -> Result<u64, StoreError> {
    let now = now_ms();
    let expired = tx.delete_expired_sessions(now).await?;
    tx.forget_revocations(now - keep_ms).await?;
    Ok(expired)
}
