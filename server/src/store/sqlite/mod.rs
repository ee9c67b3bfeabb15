//! The embedded backend: one SQLite file in WAL mode.
//!
//! Every write runs on one thread that owns the only write connection ([`writer`]): SQLite admits
//! one writer at a time anyway, and queuing in front of the thread instead of on the file lock means
//! no `SQLITE_BUSY` retries and no deferred-transaction upgrade deadlocks. Reads use a separate sqlx
//! pool and see committed data only.

mod tx;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};

pub(super) use writer::WriteTx;
use writer::Writer;

use super::{Committed, StoreError};

pub(super) struct Sqlite {
    writer: Writer,
    read: SqlitePool,
}

impl Sqlite {
    /// Opens (creating if needed) the file at `url` and applies pending migrations.
    pub async fn open(url: &str, committed: Arc<Committed>) -> anyhow::Result<Sqlite> {
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
        let writer = Writer::start(options.get_filename(), committed)?;
        // Reads are point lookups over a file the OS caches anyway. SQLite's default cache of 2 MiB
        // per connection, filled by the session lookups of streams opening, was up to 8 MiB of the
        // server's memory (measured: 1.65 → 1.36 KB per stream at 19,900 idle streams).
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true).pragma("cache_size", "-256"))
            .await?;
        Ok(Sqlite { writer, read })
    }

    /// The read pool.
    pub fn reads(&self) -> &SqlitePool {
        &self.read
    }

    /// Runs `work` as one transaction on the writer thread: committed if it returns `Ok`, rolled back
    /// if it returns `Err`. The answer comes after the commit, so a client that reads next sees it.
    pub async fn transact<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.writer.write(work).await
    }

    /// Why the storage refuses writes, or `None` while it takes them ([`Writer::storage_fault`]).
    pub async fn storage_fault(&self) -> Option<super::StorageFault> {
        self.writer.storage_fault().await
    }

    /// Finishes the queued writes and closes the database.
    pub async fn close(&self) {
        // The writer last: the last connection to close folds the WAL back into the database file
        // and removes it, which a read-only connection cannot do.
        self.read.close().await;
        self.writer.close().await;
    }
}

/// Whether a database error is a violation of a UNIQUE or PRIMARY KEY constraint.
fn is_unique_violation(err: &rusqlite::Error) -> bool {
    use rusqlite::ffi::{SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE};
    matches!(err, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == SQLITE_CONSTRAINT_UNIQUE || e.extended_code == SQLITE_CONSTRAINT_PRIMARYKEY)
}
