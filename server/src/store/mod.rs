//! Persistence: every read and write of CyberHub's state, and the event outbox written in the same
//! transactions, on either of two databases:
//!
//! - [`sqlite`], the embedded default: one file in WAL mode, every write on one thread that owns the
//!   only write connection (group commit), reads through a small pool;
//! - [`postgres`], for production and several server nodes on one database: a connection pool,
//!   ids of events assigned in commit order, LISTEN/NOTIFY to wake every node's hub, and a
//!   failover to a replica followed ([`history`]: ids stay meaningful across it).
//!
//! The rules are written once, per topic ([`users`], [`cases`], [`wallet`], [`chat`], [`outbox`]),
//! as functions over a transaction ([`tx::Tx`]); each backend implements that trait, running the
//! statements written once in [`sql`] (reads keep theirs in the topic modules, shared too), and
//! adds only what differs between the dialects. After every commit that wrote events the backend hands them
//! to the hub (`Committed`), which fans them out.

/// Runs a rule as one transaction on the store's backend: `transact!(store, |tx| rule(tx, ...))`.
/// The rule is written once over [`tx::Tx`]; this expands it for each backend. On SQLite it runs on
/// the writer thread, where its statements never wait, so its future completes in one poll.
macro_rules! transact {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &*$store.backend {
            $crate::store::Backend::Sqlite(db) => {
                db.transact(move |$tx| {
                    ::futures_util::FutureExt::now_or_never($body)
                        .expect("SQLite statements run on the writer thread and never wait")
                })
                .await
            }
            $crate::store::Backend::Postgres(db) => {
                db.transact(move |$tx| ::std::boxed::Box::pin(async move { $body.await }))
                    .await
            }
        }
    };
}

/// Runs a read on the store's pool: `on_pool!(store, |pool| sqlx::query_as(SQL).fetch_all(pool).await)`.
/// Reads share their SQL (`$1` placeholders, in order of first use, work on both databases). A read
/// that gets no answer within [`READ_TIMEOUT`] fails as the database being unavailable, and while
/// the database is known not to answer (PostgreSQL cut off) reads fail at once.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        $crate::store::bounded_read($store.is_reachable(), async {
            match &*$store.backend {
                $crate::store::Backend::Sqlite(db) => {
                    let $pool = db.reads();
                    $body
                }
                $crate::store::Backend::Postgres(db) => {
                    let $pool = db.reads();
                    $body
                }
            }
        })
        .await
    };
}

/// How long a read may wait for its answer. PostgreSQL behind a network that drops packets
/// answers never (TCP gives up after many minutes); a member's request, or the hub's read of the
/// outbox, gives up after this and is answered 503 (or retried), so nothing waits unbounded.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

async fn bounded_read<T>(
    reachable: bool,
    read: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, sqlx::Error> {
    if !reachable {
        return Err(sqlx::Error::PoolTimedOut);
    }
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}

mod billing;
mod cases;
mod chat;
mod fairness;
pub mod history;
mod lease;
mod outbox;
mod postgres;
mod session_cache;
mod sql;
mod sqlite;
mod tx;
mod users;
mod wallet;

use std::sync::{Arc, OnceLock};

use tx::Tx as _;

use cyberhub_protocol::ErrorCode;

pub use billing::{Ingested, SmartShellPayment, state_key};
pub use chat::DUPLICATE_WINDOW_MS;
pub use fairness::Sealer;
pub use lease::Lease;
pub use outbox::{Committed, OutboxHead, StoredEvent};
pub use users::{SessionKey, SessionUser};
pub use wallet::MAX_BALANCE;

/// Outcomes of store operations that a client can see; everything else is a database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds { balance: i64, needed: i64 },
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// The user may not post in the chat until `until` (Unix ms).
    #[error("muted in the chat: {reason}")]
    Muted { until: i64, reason: String },
    /// The database cannot be reached right now (PostgreSQL down or restarting).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database's storage refused the write (SQLite: the disk is full, the file system turned
    /// read-only, an I/O error). Nothing of the transaction was kept; reads go on.
    #[error("the database's storage refused the write: {0}")]
    Storage(StorageFault),
    #[error("database: {0}")]
    Db(Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(err.to_string()),
            // The server shut down or restarted under a connection.
            sqlx::Error::Database(ref db) if db.code().is_some_and(is_unavailable_code) => {
                StoreError::Unavailable(err.to_string())
            }
            other => StoreError::Db(other.into()),
        }
    }
}

/// PostgreSQL's codes for "the server is going away or not there yet".
fn is_unavailable_code(code: std::borrow::Cow<'_, str>) -> bool {
    matches!(
        code.as_ref(),
        "57P01" | "57P02" | "57P03" | "08000" | "08003" | "08006" | "08001" | "08004"
        // A standby refusing a write: the primary moved, and this connection is to the old one.
        | "25006"
    )
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> StoreError {
        match StorageFault::of(&err) {
            Some(fault) => StoreError::Storage(fault),
            None => StoreError::Db(err.into()),
        }
    }
}

/// Why the storage under the embedded database refuses writes; `/health` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageFault {
    /// `ENOSPC`: SQLite's `SQLITE_FULL`. Writes work again once space is freed.
    DiskFull,
    /// The file or its file system is read-only (`SQLITE_READONLY`, or an `EROFS` write).
    ReadOnly,
    /// Any other I/O error of a write (`SQLITE_IOERR`).
    Io,
}

impl StorageFault {
    /// The fault a SQLite error stands for, if it is one of the storage's and not of the statement.
    /// An `EROFS` write shows as `SQLITE_IOERR_WRITE`; [`sqlite`] tells it apart by the file.
    pub fn of(err: &rusqlite::Error) -> Option<StorageFault> {
        use rusqlite::ErrorCode as C;
        match err.sqlite_error_code()? {
            C::DiskFull => Some(StorageFault::DiskFull),
            C::ReadOnly => Some(StorageFault::ReadOnly),
            C::SystemIoFailure | C::CannotOpen => Some(StorageFault::Io),
            _ => None,
        }
    }

    /// The word `/health` reports as `database`.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageFault::DiskFull => "disk_full",
            StorageFault::ReadOnly => "read_only",
            StorageFault::Io => "io_error",
        }
    }
}

impl std::fmt::Display for StorageFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StorageFault::DiskFull => "the disk is full",
            StorageFault::ReadOnly => "the database file is read-only",
            StorageFault::Io => "the disk reported an I/O error",
        })
    }
}

/// How many scheduled events one transaction publishes.
const SCHEDULE_BATCH: i64 = 500;

async fn publish_batch(tx: &mut impl tx::Tx, now: i64, latest: i64) -> Result<usize, StoreError> {
    let due = tx.take_due_events(now, latest, SCHEDULE_BATCH).await?;
    if !due.is_empty() {
        tx.emit_all(&due, now).await?;
    }
    Ok(due.len())
}

/// What `/health` says of the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseHealth {
    Ok,
    /// It does not answer (or, on PostgreSQL, the node does not listen to it yet).
    Unavailable,
    /// It answers reads, but its storage refuses writes.
    Storage(StorageFault),
}

impl DatabaseHealth {
    pub fn is_ok(self) -> bool {
        self == DatabaseHealth::Ok
    }

    /// `ok`, `unavailable`, or the storage's fault (`disk_full`, `read_only`, `io_error`).
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseHealth::Ok => "ok",
            DatabaseHealth::Unavailable => "unavailable",
            DatabaseHealth::Storage(fault) => fault.as_str(),
        }
    }
}

/// The database behind a [`Store`].
enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Arc<Backend>,
    committed: Arc<Committed>,
    /// The gaps in the event ids that failovers left (PostgreSQL; none on SQLite).
    history: Arc<history::History>,
    sessions: Arc<session_cache::SessionCache>,
    /// How openings are drawn and revealed, set once by the server ([`Store::enable_openings`]).
    fair: Arc<OnceLock<FairOpenings>>,
    /// When the publisher of scheduled events wakes next, and its alarm.
    schedule: Arc<ScheduleClock>,
}

/// When the publisher of scheduled events (the server's schedule loop) plans to look next, so a
/// new event wakes it only when it falls due before that: with a reveal delay longer than the
/// loop's longest sleep, never, and an opening costs the publisher nothing.
#[derive(Default)]
struct ScheduleClock {
    /// Unix ms; 0 while the loop is deciding (every new event then wakes it, so none is missed).
    wake_at: std::sync::atomic::AtomicI64,
    alarm: tokio::sync::Notify,
}

/// What openings need beyond the database: the key that seals server seeds, and how long a drop
/// waits before everyone sees it.
#[derive(Clone)]
pub struct FairOpenings {
    pub sealer: Arc<Sealer>,
    pub reveal_ms: i64,
}

impl Store {
    /// Opens the database `url` names, applying pending migrations: `sqlite:` (the embedded default,
    /// created if missing) or `postgres://` / `postgresql://`. Any other scheme is refused by name.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        let committed = Arc::new(Committed::default());
        let history = Arc::new(history::History::default());
        let backend = match scheme(url) {
            Some("sqlite") => Backend::Sqlite(sqlite::Sqlite::open(url, committed.clone()).await?),
            Some("postgres" | "postgresql") => Backend::Postgres(
                postgres::Postgres::open(url, committed.clone(), history.clone()).await?,
            ),
            other => anyhow::bail!(
                "DATABASE_URL has the scheme {:?}, which this server does not support; supported: \
                 sqlite: (the embedded default, e.g. sqlite://data/cyberhub.db) and postgres:// \
                 (or postgresql://)",
                other.unwrap_or("(none)")
            ),
        };
        Ok(Store {
            backend: Arc::new(backend),
            committed,
            history,
            sessions: Arc::default(),
            fair: Arc::default(),
            schedule: Arc::default(),
        })
    }

    /// Makes openings possible: with this key's sealer and this reveal delay. The database
    /// remembers a check value of the first key it was used with and refuses another, so nodes
    /// (or a restart with a lost key file) cannot seal seeds the others cannot open.
    pub async fn enable_openings(&self, fair: FairOpenings) -> anyhow::Result<()> {
        let check = fair.sealer.check().to_owned();
        let stored: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT value FROM server_settings WHERE key = 'fairness_key_check'")
                .fetch_optional(pool)
                .await
        })?;
        match stored {
            Some((known,)) if known != check => anyhow::bail!(
                "the fairness key differs from the one this database's seeds were sealed with: \
                 give every node the same CYBERHUB_FAIRNESS_KEY (or keep the key file)"
            ),
            Some(_) => {}
            None => {
                let value = check.clone();
                transact!(self, |tx| tx.set_setting("fairness_key_check", &value))?;
            }
        }
        let _ = self.fair.set(fair);
        Ok(())
    }

    fn fair(&self) -> Result<&FairOpenings, StoreError> {
        self.fair.get().ok_or_else(|| {
            StoreError::Db("openings are not set up (Store::enable_openings)".into())
        })
    }

    /// Publishes the scheduled events that are due, a batch per transaction; returns when the next
    /// one is due, Unix ms, if any. Nothing due costs one read, no transaction.
    pub async fn publish_due(&self) -> Result<Option<i64>, StoreError> {
        use std::sync::atomic::Ordering;
        let reveal_ms = self.fair.get().map_or(0, |f| f.reveal_ms);
        // Deciding: an event scheduled from here until the caller sleeps rings the alarm.
        self.schedule.wake_at.store(0, Ordering::SeqCst);
        loop {
            let next: (Option<i64>,) = on_pool!(self, |pool| {
                sqlx::query_as("SELECT MIN(due_at) FROM scheduled_events")
                    .fetch_one(pool)
                    .await
            })?;
            let now = now_ms();
            // Due later than any delay can make it: the wall clock stepped back since it was
            // written, and waiting for it to catch up would hold the drop back by the step.
            let latest = now + reveal_ms + 1_000;
            match next.0 {
                Some(due) if due <= now || due > latest => {
                    let taken = transact!(self, |tx| publish_batch(tx, now, latest))?;
                    if taken == 0 {
                        // Another node took them.
                        tokio::task::yield_now().await;
                    }
                }
                other => return Ok(other),
            }
        }
    }

    /// Resolves when this process schedules an event due before `wake_at` (Unix ms), the time
    /// the caller sleeps until otherwise.
    pub async fn scheduled_before(&self, wake_at: i64) {
        use std::sync::atomic::Ordering;
        self.schedule.wake_at.store(wake_at, Ordering::SeqCst);
        self.schedule.alarm.notified().await
    }

    /// Rings the publisher's alarm if an event due at `due` falls before its next look.
    fn event_scheduled(&self, due: i64) {
        use std::sync::atomic::Ordering;
        let wake_at = self.schedule.wake_at.load(Ordering::SeqCst);
        if wake_at == 0 || due < wake_at {
            self.schedule.alarm.notify_one();
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Where each commit's events are handed over (and, on PostgreSQL, where other nodes' commits
    /// and session revocations are signalled); the hub takes them from there.
    pub fn committed(&self) -> Arc<Committed> {
        self.committed.clone()
    }

    /// Which event ids belong to no history the database has (the gaps failovers left).
    pub fn history(&self) -> &history::History {
        &self.history
    }

    /// Whether the database is thought to answer (on PostgreSQL: the node listens and the heartbeat
    /// got its answer; SQLite is a local file). While not, reads that can wait are not tried.
    pub fn is_reachable(&self) -> bool {
        match &*self.backend {
            Backend::Sqlite(_) => true,
            Backend::Postgres(db) => db.is_available(),
        }
    }

    /// The database's state for `/health`. On PostgreSQL: whether the node listens for other
    /// nodes' commits and the heartbeat got its answer (until then writes are refused). On SQLite:
    /// whether the storage takes writes (after a refused write, a small probe write, at most once a
    /// second, finds out when it does again), and a trivial read answers within a second.
    pub async fn health(&self) -> DatabaseHealth {
        match &*self.backend {
            // The heartbeat asks every second on a connection of its own: the same answer the
            // writes go by, and not one that waits behind a burst of writes for a pooled connection.
            Backend::Postgres(db) if db.is_available() => return DatabaseHealth::Ok,
            Backend::Postgres(_) => return DatabaseHealth::Unavailable,
            Backend::Sqlite(db) => {
                if let Some(fault) = db.storage_fault().await {
                    return DatabaseHealth::Storage(fault);
                }
            }
        }
        let ping = async {
            on_pool!(self, |pool| sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map(drop))
        };
        let within = std::time::Duration::from_secs(1);
        match tokio::time::timeout(within, ping).await {
            Ok(Ok(())) => DatabaseHealth::Ok,
            _ => DatabaseHealth::Unavailable,
        }
    }

    /// Finishes the queued writes and closes the database.
    pub async fn close(&self) {
        match &*self.backend {
            Backend::Sqlite(db) => db.close().await,
            Backend::Postgres(db) => db.close().await,
        }
    }
}

/// The scheme of a database URL (`sqlite`, `postgres`, ...), lowercased; credentials are never
/// part of it, so it may go in an error message.
fn scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    (!scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+'))
    .then_some(scheme)
}

/// Wall-clock time as Unix milliseconds, the unit of every timestamp column.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
