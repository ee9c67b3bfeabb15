//! Persistence: every read and write of CyberHub's state, and the event outbox written in the same
//! transactions.
//!
//! The embedded backend is one SQLite file in WAL mode. All writes go through a pool of exactly one
//! connection: SQLite admits one writer at a time anyway, and queuing in the pool instead of on the file
//! lock means no `SQLITE_BUSY` retries and no deferred-transaction upgrade deadlocks. Reads use a separate
//! pool and see committed data only. After every commit that wrote events the store wakes the hub once
//! (`committed`), which then reads the new rows and fans them out.

mod cases;
mod outbox;
mod session_cache;
mod users;
mod wallet;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::Notify;

pub use outbox::{OutboxHead, StoredEvent};
pub use users::SessionUser;

/// Outcomes of store operations that a client can see; everything else is a database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds { balance: i64, needed: i64 },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    write: SqlitePool,
    read: SqlitePool,
    committed: Arc<Notify>,
    sessions: Arc<session_cache::SessionCache>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL in WAL mode: a commit survives a process crash; only an OS crash may lose the
            // last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Store {
            write,
            read,
            committed: Arc::new(Notify::new()),
            sessions: Arc::default(),
        })
    }

    /// The signal raised after each commit that wrote events; the hub waits on it.
    pub fn commit_signal(&self) -> Arc<Notify> {
        self.committed.clone()
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    /// Closes both pools, waiting for running queries.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.write.begin().await
    }

    /// Commits a transaction that wrote events, then wakes the hub.
    async fn commit_with_events(
        &self,
        tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    ) -> Result<(), sqlx::Error> {
        tx.commit().await?;
        self.committed.notify_one();
        Ok(())
    }
}

/// Wall-clock time as Unix milliseconds, the unit of every timestamp column.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Whether a database error is a violation of a UNIQUE or PRIMARY KEY constraint.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

type Conn = SqliteConnection;
