//! The write path of the embedded database: one thread owns the only write connection and runs each
//! request's whole transaction in one go.
//!
//! Why not sqlx here: sqlx-sqlite runs every statement on a worker thread of its own, so an opening's
//! eight statements were sixteen thread hand-overs, and on a busy box each hand-over waits for a CPU.
//! Measured: the writer capped case openings at ~720/s while its thread was 80 % idle. Here a request
//! is one hand-over each way, and requests that queue up while a transaction runs go together into
//! the next one, each in its own savepoint (group commit): one `COMMIT` and one wake-up of the hub per
//! batch, however busy it gets. The events a batch committed are handed to the hub as they were
//! written, so it need not read back what was just written.

use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::{Committed, StorageFault, StoreError, StoredEvent};

/// How often a refused write is followed by a probe write, to find out the storage takes writes
/// again (`/health` asks; a member's own write finds out too).
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// The most requests one transaction carries; a bound on how long the first of them waits.
const MAX_BATCH: usize = 128;

/// A transaction in progress on the writer thread, with the outbox rows it has written.
pub(in crate::store) struct WriteTx<'c> {
    conn: &'c Connection,
    events: Vec<StoredEvent>,
}

impl WriteTx<'_> {
    /// Records an outbox row this transaction wrote, for the hub once it commits.
    pub fn emitted(&mut self, event: StoredEvent) {
        self.events.push(event);
    }
}

impl Deref for WriteTx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

/// A request to the writer: its work runs inside the batch's transaction, and it answers once the
/// batch has committed (or failed).
trait Job: Send {
    /// Runs the work; returns whether its writes are kept (an error rolls back to its savepoint).
    fn run(&mut self, tx: &mut WriteTx<'_>) -> bool;
    /// The storage fault its work ran into, if any.
    fn fault(&self) -> Option<StorageFault>;
    /// Answers: with the work's outcome if the batch committed, else with the batch's failure
    /// (`fault` when the storage refused it).
    fn finish(self: Box<Self>, commit: Result<(), &rusqlite::Error>, fault: Option<StorageFault>);
}

struct Call<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, tx: &mut WriteTx<'_>) -> bool {
        let work = self.work.take().expect("a job runs once");
        // A panic in one request must not take the writer thread (and every later write) with it.
        let outcome = catch_unwind(AssertUnwindSafe(|| work(tx)))
            .unwrap_or_else(|_| Err(StoreError::Db("a write panicked".into())));
        let keep = outcome.is_ok();
        self.outcome = Some(outcome);
        keep
    }

    fn fault(&self) -> Option<StorageFault> {
        match self.outcome {
            Some(Err(StoreError::Storage(fault))) => Some(fault),
            _ => None,
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), &rusqlite::Error>, fault: Option<StorageFault>) {
        let outcome = match (self.outcome, commit) {
            (Some(Err(StoreError::Storage(_))), _) | (Some(Ok(_)) | None, Err(_))
                if fault.is_some() =>
            {
                Err(StoreError::Storage(fault.expect("matched")))
            }
            (Some(Ok(_)), Err(e)) | (None, Err(e)) => {
                Err(StoreError::Db(format!("transaction failed: {e}").into()))
            }
            (Some(outcome), _) => outcome,
            (None, Ok(())) => Err(StoreError::Db("the write was not run".into())),
        };
        // The caller may have gone away (a dropped request); its writes stand regardless.
        let _ = self.reply.send(outcome);
    }
}

enum Msg {
    Job(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub(in crate::store) struct Writer {
    queue: mpsc::Sender<Msg>,
    storage: Arc<StorageState>,
}

/// What the writer last learnt of the storage under the file.
#[derive(Default)]
struct StorageState {
    /// Set by a batch the storage refused, cleared by the next one it takes.
    fault: Mutex<Option<StorageFault>>,
    /// When a probe write last ran.
    probed: Mutex<Option<Instant>>,
}

impl Writer {
    /// Opens the write connection on `path` and starts the thread. Every commit that wrote events
    /// hands them to `committed`.
    pub fn start(path: &Path, committed: Arc<Committed>) -> rusqlite::Result<Writer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL is a property of the file (set by the migrations' connection); NORMAL in WAL mode: a
        // commit survives a process crash, only an OS crash may lose the newest transactions.
        // Each request runs in a savepoint, whose undo log SQLite would otherwise keep in a
        // temporary file created and deleted per batch.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;",
        )?;
        let (queue, jobs) = mpsc::channel();
        let storage = Arc::new(StorageState::default());
        let thread = (path.to_owned(), storage.clone());
        std::thread::Builder::new()
            .name("cyberhub-writer".into())
            .spawn(move || run(conn, jobs, committed, thread))
            .expect("spawning the writer thread");
        Ok(Writer { queue, storage })
    }

    /// Why the storage refuses writes, or `None` while it takes them. After a refusal, a probe
    /// write (at most once per [`PROBE_EVERY`]) finds out whether it takes them again, so a disk
    /// with space freed reads healthy without waiting for a member's write.
    pub async fn storage_fault(&self) -> Option<StorageFault> {
        let fault = *self.storage.fault.lock().unwrap();
        fault?;
        let due = {
            let mut probed = self.storage.probed.lock().unwrap();
            let due = probed.is_none_or(|at| at.elapsed() >= PROBE_EVERY);
            if due {
                *probed = Some(Instant::now());
            }
            due
        };
        if due {
            // Its outcome updates the state, like any write's.
            let _ = self
                .write(|tx| {
                    tx.execute(
                        "INSERT INTO store_probe (id, probed_at) VALUES (1, ?1)
                         ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                        [crate::store::now_ms()],
                    )?;
                    Ok(())
                })
                .await;
        }
        *self.storage.fault.lock().unwrap()
    }

    /// Runs `work` in a transaction on the writer thread. Its writes are committed if it returns
    /// `Ok` (and the answer comes after the commit), rolled back if it returns `Err`.
    pub async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Call {
            work: Some(work),
            outcome: None,
            reply,
        });
        self.queue
            .send(Msg::Job(job))
            .map_err(|_| StoreError::Db("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Db("the writer stopped".into()))?
    }

    /// Finishes the queued writes, then closes the connection.
    pub async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Msg::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

fn run(
    conn: Connection,
    queue: mpsc::Receiver<Msg>,
    committed: Arc<Committed>,
    (path, storage): (PathBuf, Arc<StorageState>),
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut close = None;
    // How busy the writer is: requests per transaction rise with load, commit time should not.
    let batch_requests = metrics::histogram!("cyberhub_store_batch_requests");
    let commit_seconds = metrics::histogram!("cyberhub_store_commit_seconds");
    while close.is_none() {
        match queue.recv() {
            Ok(Msg::Job(job)) => batch.push(job),
            Ok(Msg::Close(done)) => close = Some(done),
            Err(_) => break,
        }
        while batch.len() < MAX_BATCH && close.is_none() {
            match queue.try_recv() {
                Ok(Msg::Job(job)) => batch.push(job),
                Ok(Msg::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let commit = run_batch(&conn, &mut batch).map(|events| committed.push(events));
        batch_requests.record(batch.len() as f64);
        commit_seconds.record(started.elapsed().as_secs_f64());
        let previous = *storage.fault.lock().unwrap();
        let found = storage_fault(&commit, &batch, &path);
        let fault = match (&commit, found) {
            // Failed for another reason: it says nothing of the storage either way.
            (Err(_), None) => previous,
            (_, found) => found,
        };
        if fault != previous {
            match fault {
                Some(fault) => {
                    tracing::error!(%fault, "the storage refuses writes: they are answered 503 until it takes them again")
                }
                None => tracing::warn!("the storage takes writes again"),
            }
            *storage.fault.lock().unwrap() = fault;
        }
        for job in batch.drain(..) {
            job.finish(commit.as_ref().map(|_| ()), found);
        }
    }
    drop(conn);
    if let Some(done) = close {
        let _ = done.send(());
    }
}

/// The storage fault a batch ran into: the commit's, else one a request's statement met. An I/O
/// error on a file system that turned read-only (`EROFS` shows as `SQLITE_IOERR_WRITE`) is told
/// apart by trying to open the file for writing.
fn storage_fault(
    commit: &rusqlite::Result<()>,
    batch: &[Box<dyn Job>],
    path: &Path,
) -> Option<StorageFault> {
    let fault = match commit {
        Err(e) => StorageFault::of(e),
        Ok(()) => None,
    }
    .or_else(|| batch.iter().find_map(|job| job.fault()))?;
    if fault == StorageFault::Io
        && std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ReadOnlyFilesystem)
    {
        return Some(StorageFault::ReadOnly);
    }
    Some(fault)
}

/// Runs every job of the batch in one transaction, each in a savepoint so a failing one leaves the
/// others' writes in place. Returns the events committed.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<Vec<StoredEvent>> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let mut tx = WriteTx {
        conn,
        events: Vec::new(),
    };
    let ran = (|| {
        for job in batch.iter_mut() {
            let before = tx.events.len();
            conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            if !job.run(&mut tx) {
                if conn.is_autocommit() {
                    // SQLite rolled the whole transaction back (it may on SQLITE_FULL or an I/O
                    // error): the requests before this one lost their writes too.
                    return Err(rolled_back());
                }
                conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
                tx.events.truncate(before);
            }
            conn.prepare_cached("RELEASE job")?.execute([])?;
        }
        conn.prepare_cached("COMMIT")?.execute([])
    })();
    match ran {
        Ok(_) => Ok(tx.events),
        Err(e) => {
            // Whatever state the failure left, the next batch starts from a clean connection.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            Err(e)
        }
    }
}

/// The error of a batch whose transaction SQLite rolled back under it.
fn rolled_back() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
        Some("SQLite rolled the transaction back".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v TEXT NOT NULL UNIQUE)")
            .unwrap();
        (dir, conn)
    }

    /// A job inserting `v`, then failing if `fail`; its answer arrives on the returned receiver.
    fn insert(
        v: &'static str,
        fail: bool,
        emits: bool,
    ) -> (Box<dyn Job>, oneshot::Receiver<Result<(), StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let work = move |tx: &mut WriteTx<'_>| {
            tx.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            if emits {
                tx.emitted(event(1));
            }
            if fail {
                return Err(StoreError::NotFound("test"));
            }
            Ok(())
        };
        let job = Call {
            work: Some(work),
            outcome: None,
            reply,
        };
        (Box::new(job), answer)
    }

    fn event(id: i64) -> StoredEvent {
        StoredEvent {
            id,
            kind: "announcement".into(),
            user_id: None,
            data: "{}".into(),
        }
    }

    fn rows(conn: &Connection) -> Vec<String> {
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_failing_request_in_a_batch_leaves_the_others_committed() {
        let (_dir, conn) = open();
        let (a, a_answer) = insert("a", false, false);
        let (b, b_answer) = insert("b", true, true);
        let (c, c_answer) = insert("c", false, false);
        let mut batch = vec![a, b, c];
        let events = run_batch(&conn, &mut batch).unwrap();
        for job in batch {
            job.finish(Ok(()), None);
        }
        assert_eq!(rows(&conn), ["a", "c"]);
        assert!(events.is_empty(), "only the rolled-back request emitted");
        assert!(a_answer.blocking_recv().unwrap().is_ok());
        assert!(matches!(
            b_answer.blocking_recv().unwrap(),
            Err(StoreError::NotFound("test"))
        ));
        assert!(c_answer.blocking_recv().unwrap().is_ok());
    }

    #[test]
    fn a_failed_commit_fails_every_request_of_the_batch() {
        let (_dir, conn) = open();
        // A deferred foreign key violation surfaces only at COMMIT.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        let (a, a_answer) = insert("a", false, false);
        let (reply, orphan_answer) = oneshot::channel();
        let orphan: Box<dyn Job> = Box::new(Call {
            work: Some(|tx: &mut WriteTx<'_>| {
                tx.execute("INSERT INTO child (p) VALUES (42)", [])?;
                Ok(())
            }),
            outcome: None,
            reply,
        });
        let mut batch = vec![a, orphan];
        let commit = run_batch(&conn, &mut batch);
        assert!(commit.is_err());
        for job in batch {
            job.finish(commit.as_ref().map(|_| ()), None);
        }
        assert!(rows(&conn).is_empty());
        assert!(
            conn.is_autocommit(),
            "the failed transaction was rolled back"
        );
        assert!(a_answer.blocking_recv().unwrap().is_err());
        assert!(orphan_answer.blocking_recv().unwrap().is_err());
    }

    #[tokio::test]
    async fn a_panicking_request_does_not_stop_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (v TEXT NOT NULL UNIQUE)")
            .unwrap();
        let committed = Arc::new(Committed::default());
        let writer = Writer::start(&path, committed.clone()).unwrap();
        let panicked = writer
            .write(|tx| -> Result<(), StoreError> {
                tx.execute("INSERT INTO t (v) VALUES ('lost')", [])?;
                panic!("a bug in one request");
            })
            .await;
        assert!(matches!(panicked, Err(StoreError::Db(_))));
        writer
            .write(|tx| {
                tx.execute("INSERT INTO t (v) VALUES ('kept')", [])?;
                tx.emitted(event(7));
                Ok(())
            })
            .await
            .unwrap();
        // The hub is woken for the commit that emitted, and handed its events.
        tokio::time::timeout(Duration::from_secs(5), committed.wait())
            .await
            .unwrap();
        let handed: Vec<i64> = committed.take().iter().map(|e| e.id).collect();
        assert_eq!(handed, [7]);
        writer.close().await;
        assert_eq!(rows(&Connection::open(&path).unwrap()), ["kept"]);
        assert!(
            writer.write(|_| Ok(())).await.is_err(),
            "a closed writer refuses work"
        );
    }
}
