//! Persistence: every read and write of CyberHub's state, and the event outbox written in the same
//! transactions.
//!
//! The embedded backend is one SQLite file in WAL mode. Every write runs on one thread that owns the
//! only write connection (`writer`): SQLite admits one writer at a time anyway, and queuing in front
//! of the thread instead of on the file lock means no `SQLITE_BUSY` retries and no deferred-transaction
//! upgrade deadlocks. Reads use a separate sqlx pool and see committed data only. After every commit
//! that wrote events the writer hands them to the hub (`Committed`), which fans them out.

mod cases;
mod chat;
mod outbox;
mod session_cache;
mod users;
mod wallet;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};

use writer::{WriteTx, Writer};

pub use chat::DUPLICATE_WINDOW_MS;
pub use outbox::{Committed, OutboxHead, StoredEvent};
pub use users::{SessionKey, SessionUser};

/// Outcomes of store operations that a client can see; everything else is a database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds { balance: i64, needed: i64 },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The user may not post in the chat until `until` (Unix ms).
    #[error("muted in the chat: {reason}")]
    Muted { until: i64, reason: String },
    #[error("database: {0}")]
    Db(Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        StoreError::Db(err.into())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> StoreError {
        StoreError::Db(err.into())
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    writer: Writer,
    read: SqlitePool,
    committed: Arc<Committed>,
    sessions: Arc<session_cache::SessionCache>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `url` and applies pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        check_scheme(url)?;
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
        // Migrations run on a connection of their own, closed before the writer opens the file.
        let mut migrator = options.clone().connect().await?;
        sqlx::migrate!("../migrations/sqlite")
            .run(&mut migrator)
            .await?;
        migrator.close().await?;
        let committed = Arc::new(Committed::default());
        let writer = Writer::start(options.get_filename(), committed.clone())?;
        // Reads are point lookups over a file the OS caches anyway. SQLite's default cache of 2 MiB
        // per connection, filled by the session lookups of streams opening, was up to 8 MiB of the
        // server's memory (measured: 1.65 → 1.36 KB per stream at 19,900 idle streams).
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true).pragma("cache_size", "-256"))
            .await?;
        Ok(Store {
            writer,
            read,
            committed,
            sessions: Arc::default(),
        })
    }

    /// Where the writer hands over the events of each commit; the hub takes them from there.
    pub fn committed(&self) -> Arc<Committed> {
        self.committed.clone()
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.read).await.is_ok()
    }

    /// Finishes the queued writes and closes the database.
    pub async fn close(&self) {
        // The writer last: the last connection to close folds the WAL back into the database file
        // and removes it, which a read-only connection cannot do.
        self.read.close().await;
        self.writer.close().await;
    }

    /// Runs `work` as one transaction on the writer thread: committed if it returns `Ok`, rolled back
    /// if it returns `Err`. The answer comes after the commit, so a client that reads next sees it.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer.write(work).await
    }
}

/// Refuses a database URL of a kind this build does not speak, naming the ones it does (rather than,
/// as SQLite would, taking `postgres://…` for a file name).
fn check_scheme(url: &str) -> anyhow::Result<()> {
    if url.starts_with("sqlite:") {
        return Ok(());
    }
    let scheme = url.split_once(':').map_or("(none)", |(scheme, _)| scheme);
    anyhow::bail!(
        "DATABASE_URL has the scheme {scheme:?}, which this server does not support; \
         supported: sqlite: (the embedded default, e.g. sqlite://data/cyberhub.db)"
    )
}

/// Wall-clock time as Unix milliseconds, the unit of every timestamp column.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Whether a database error is a violation of a UNIQUE or PRIMARY KEY constraint.
fn is_unique_violation(err: &rusqlite::Error) -> bool {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    matches!(err, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == SQLITE_CONSTRAINT_UNIQUE || e.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY)
}
