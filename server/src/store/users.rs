//! Accounts and login sessions.

use std::time::Duration;

use cyberhub_protocol::{Role, User};
use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, is_unique_violation, now_ms};

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
        self.write(move |tx| {
            let id = tx
                .prepare_cached(
                    "INSERT INTO users (username, password_hash, role, balance, created_at)
                     VALUES (?1, ?2, ?3, 0, ?4) RETURNING id",
                )?
                .query_row(
                    params![username, password_hash, role.as_str(), now_ms()],
                    |row| row.get(0),
                );
            match id {
                Ok(id) => Ok(User {
                    id,
                    username,
                    role,
                    balance: 0,
                }),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
                    code: "username_taken",
                    message: format!("username {username:?} is taken"),
                }),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// A user and their password hash, for login.
    pub async fn user_with_password(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(i64, String, String, i64, String)> = sqlx::query_as(
            "SELECT id, username, role, balance, password_hash FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(id, username, role, balance, hash)| {
            (
                UserRow {
                    id,
                    username,
                    role,
                    balance,
                }
                .into(),
                hash,
            )
        }))
    }

    /// One user by id.
    pub async fn user(&self, id: i64) -> Result<User, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as("SELECT id, username, role, balance FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        row.map(User::from).ok_or(StoreError::NotFound("user"))
    }

    /// How many accounts exist (the demo seed only runs on an empty database).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.read)
            .await?;
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
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![token_hash, user_id, now_ms(), expires_at])?;
            Ok(())
        })
        .await
    }

    /// The user of an unexpired session, if any.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<SessionUser>, StoreError> {
        if let Some(user) = self.sessions.get(token_hash) {
            return Ok(Some(user));
        }
        let now = now_ms();
        let row: Option<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT u.id, u.username, u.role, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
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
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
                .execute([token_hash])?;
            Ok(())
        })
        .await
    }
}

impl Store {
    /// Sessions revoked after the revocation `after` (logouts, expiry cleanup, deleted users, any
    /// process): `(revocation id, token hash)` in order. Each is also forgotten by this process's
    /// session cache.
    pub async fn revocations_after(&self, after: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, token_hash FROM session_revocations WHERE id > $1 ORDER BY id LIMIT 1000",
        )
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        for (_, token_hash) in &rows {
            self.sessions.remove(token_hash);
        }
        Ok(rows)
    }

    /// The newest revocation id (where a starting hub begins to watch).
    pub async fn last_revocation(&self) -> Result<i64, StoreError> {
        let (id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM session_revocations")
            .fetch_one(&self.read)
            .await?;
        Ok(id.unwrap_or(0))
    }

    /// Ends every session of the user named `username` (signing them out everywhere); the
    /// revocation trigger records each, so every server ends their streams. Returns how many.
    pub async fn end_sessions_of(&self, username: &str) -> Result<u64, StoreError> {
        let username = username.to_owned();
        self.write(move |tx| {
            let user: Option<i64> = tx
                .prepare_cached("SELECT id FROM users WHERE username = ?1")?
                .query_row([&username], |r| r.get(0))
                .optional()?;
            let user = user.ok_or(StoreError::NotFound("user"))?;
            let ended = tx
                .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                .execute([user])?;
            Ok(ended as u64)
        })
        .await
    }

    /// Deletes expired sessions, and revocation records older than `keep_ms` (each server has read
    /// them long before). Returns how many sessions went.
    pub async fn prune_sessions(&self, keep_ms: i64) -> Result<u64, StoreError> {
        self.write(move |tx| {
            let now = now_ms();
            let expired = tx
                .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
                .execute([now])?;
            tx.prepare_cached("DELETE FROM session_revocations WHERE revoked_at < ?1")?
                .execute([now - keep_ms])?;
            Ok(expired as u64)
        })
        .await
    }
}
