//! The embedded database's storage failing under a running server, on real file systems the test
//! mounts (so it runs as root: `scripts/test.sh` runs it when it is root, as in CI, and says so
//! when it cannot): a tmpfs that fills up (`ENOSPC`), and an ext4 image that
//! turns read-only on an error (`errors=remount-ro`, as a failing disk does). A write is refused
//! with 503 and nothing of it is kept, `/health` says why, reads and streams go on; a full disk
//! takes writes again once space is freed, with no restart.

#[path = "../support/database.rs"]
mod database;
#[path = "../support/server.rs"]
mod server;
#[path = "../support/sse.rs"]
mod sse;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use database::TestDatabase;
use server::Server;
use sse::EventStream;

/// A file system mounted on a temporary directory for one test, unmounted when dropped.
struct Mount {
    dir: tempfile::TempDir,
    /// The ext4 image behind it, if it is one.
    image: Option<PathBuf>,
}

impl Mount {
    /// A tmpfs of `size` (e.g. `8m`).
    fn tmpfs(size: &str) -> Mount {
        let dir = tempfile::tempdir().unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                path(dir.path()),
            ],
        );
        Mount { dir, image: None }
    }

    /// An ext4 file system of 32 MiB in an image file, mounted through a loop device so that an
    /// error makes the kernel remount it read-only.
    fn ext4() -> Mount {
        let dir = tempfile::tempdir().unwrap();
        let image = std::env::temp_dir().join(format!("cyberhub-disk-{}.img", std::process::id()));
        std::fs::File::create(&image)
            .unwrap()
            .set_len(32 << 20)
            .unwrap();
        run("mkfs.ext4", &["-q", "-F", path(&image)]);
        let mount = Mount {
            dir,
            image: Some(image),
        };
        mount.mount_image();
        mount
    }

    fn mount_image(&self) {
        let image = self.image.as_deref().unwrap();
        run(
            "mount",
            &[
                "-o",
                "loop,errors=remount-ro",
                path(image),
                path(self.dir.path()),
            ],
        );
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Makes the ext4 file system hit an error, as a failing disk would: the kernel remounts it
    /// read-only under the open files.
    fn fail(&self) {
        let source = output("findmnt", &["-n", "-o", "SOURCE", path(self.path())]);
        let device = Path::new(source.trim())
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        std::fs::write(
            format!("/sys/fs/ext4/{device}/trigger_fs_error"),
            "cyberhub test\n",
        )
        .unwrap();
    }

    /// What an operator does after such an error: unmount, check, mount again.
    fn repair(&self) {
        run("umount", &[path(self.path())]);
        // e2fsck exits 1 when it fixed something, which it may after the error.
        let checked = Command::new("e2fsck")
            .args(["-f", "-y", path(self.image.as_deref().unwrap())])
            .output()
            .unwrap();
        assert!(
            checked.status.code().is_some_and(|c| c <= 1),
            "e2fsck: {checked:?}"
        );
        self.mount_image();
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .args(["-l", path(self.dir.path())])
            .status();
        if let Some(image) = &self.image {
            let _ = std::fs::remove_file(image);
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run(program: &str, args: &[&str]) {
    output(program, args);
}

/// Fills the file system of `dir` to the last byte; returns the file that holds the space.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    for chunk in [1 << 20, 4096, 512, 1] {
        let block = vec![0u8; chunk];
        while file
            .write_all(&block)
            .and_then(|()| file.sync_data())
            .is_ok()
        {}
    }
    filler
}

/// The server on a SQLite file in `dir`, with alice signed in and her stream open.
struct Club {
    server: Server,
    http: reqwest::Client,
    token: String,
    stream: EventStream,
}

impl Club {
    async fn start(dir: &Path) -> Club {
        let server = Server::start_on(
            TestDatabase::sqlite_in(dir),
            &["serve", "--demo", "--demo-activity", "off"],
            &["--drop-reveal-ms", "0"],
            "info",
        );
        let http = reqwest::Client::new();
        let token = server.token(&http, "alice", "alice-demo-1").await;
        let stream = Club::stream(&server, &http, &token).await;
        Club {
            server,
            http,
            token,
            stream,
        }
    }

    async fn stream(server: &Server, http: &reqwest::Client, token: &str) -> EventStream {
        EventStream::open(http, &server.url("/v1/events"), Some(token), None).await
    }

    async fn open(&self) -> (StatusCode, Value) {
        let res = self
            .http
            .post(self.server.url("/v1/cases/1/open"))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .get(self.server.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    }

    async fn balance(&self) -> i64 {
        let (status, me) = self.get("/v1/me").await;
        assert_eq!(status, StatusCode::OK, "reads go on: {me}");
        me["balance"].as_i64().unwrap()
    }

    /// Waits for `/health` to report `database` (polling: the probe write runs at most once a
    /// second).
    async fn health_becomes(&self, database: &str, status: StatusCode) -> Value {
        let mut last = Value::Null;
        for _ in 0..100 {
            let res = self
                .http
                .get(self.server.url("/health"))
                .send()
                .await
                .unwrap();
            let code = res.status();
            last = res.json().await.unwrap();
            if code == status && last["database"] == database {
                assert_eq!(last["stream"], "active", "{last}");
                return last;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("/health never said {database} with {status}: {last}");
    }

    /// The events of one opening (its balance and inventory, then its drop: the reveal delay is
    /// 0 here), each after `after`, checked against its answer; returns the last id.
    async fn expect_opening_events(&mut self, opened: &Value, after: i64) -> i64 {
        let balance = self.stream.next_named("balance:updated").await;
        assert_eq!(balance.data["balance"], opened["balance"]);
        let inventory = self.stream.next_named("inventory:updated").await;
        let drop = self.stream.next_named("drop:new").await;
        assert_eq!(drop.data["item"], opened["item"]["name"]);
        let ids = [balance.id.unwrap(), inventory.id.unwrap(), drop.id.unwrap()];
        assert!(ids.iter().all(|&id| id > after), "after {after}: {ids:?}");
        ids.into_iter().max().unwrap()
    }
}

/// Whether this process may mount file systems (root, as in CI).
fn require_root() {
    let uid = output("id", &["-u"]);
    assert_eq!(
        uid.trim(),
        "0",
        "this test mounts file systems: run it as root (CI does)"
    );
}

/// The ledger and balance of alice straight from the file, with a connection of the test's own:
/// nothing partly applied means the balance is the sum of the ledger and every opening has its
/// item.
async fn assert_consistent(db: &TestDatabase) {
    use sqlx::Row;
    let mut conn = db.sqlite_connection().await;
    let row = sqlx::query(
        "SELECT u.balance, (SELECT SUM(delta) FROM ledger l WHERE l.user_id = u.id),
                (SELECT COUNT(*) FROM openings o WHERE o.user_id = u.id),
                (SELECT COUNT(*) FROM inventory i WHERE i.user_id = u.id)
         FROM users u WHERE u.username = 'alice'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let (balance, ledger, openings, items): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(balance, ledger, "the balance is the sum of the ledger");
    assert_eq!(
        openings, items,
        "every opening has its item (none was sold here)"
    );
}

#[tokio::test]
#[ignore = "mounts file systems, so needs root: scripts/test.sh runs it as root"]
async fn a_full_disk_refuses_writes_with_503_keeps_reads_and_streams_and_recovers_without_a_restart()
 {
    require_root();
    let mount = Mount::tmpfs("16m");
    let mut club = Club::start(mount.path()).await;
    let (status, first) = club.open().await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let seen = club.expect_opening_events(&first, 0).await;

    // Fold the WAL into the file and empty it, so the next commit needs new space.
    let mut conn = club.server.database.sqlite_connection().await;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let filler = fill(mount.path());

    let balance = club.balance().await;
    let (status, refused) = club.open().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    assert_eq!(refused["error"]["code"], "database_unavailable");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("disk is full"), "{message}");
    let health = club
        .health_becomes("disk_full", StatusCode::SERVICE_UNAVAILABLE)
        .await;
    assert_eq!(health["status"], "degraded");

    // Reads go on, nothing of the refused opening is there, and the stream stays open and quiet.
    assert_eq!(club.balance().await, balance);
    let (status, cases) = club.get("/v1/cases").await;
    assert_eq!(status, StatusCode::OK, "{cases}");
    assert_consistent(&club.server.database).await;
    club.stream.assert_quiet(Duration::from_millis(500)).await;
    // Still refused while full: the probe does not pretend otherwise.
    assert_eq!(club.open().await.0, StatusCode::SERVICE_UNAVAILABLE);
    club.health_becomes("disk_full", StatusCode::SERVICE_UNAVAILABLE)
        .await;

    // Space comes back: health says so by itself, and writes work with no restart.
    std::fs::remove_file(filler).unwrap();
    club.health_becomes("ok", StatusCode::OK).await;
    let (status, opened) = club.open().await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["balance"].as_i64().unwrap(), balance - 5_000);
    club.expect_opening_events(&opened, seen).await;
    let more = club
        .stream
        .drain_until_quiet(Duration::from_millis(500))
        .await;
    assert!(more.is_empty(), "nothing twice, nothing invented: {more:?}");
    assert_consistent(&club.server.database).await;
}

#[tokio::test]
#[ignore = "mounts file systems, so needs root: scripts/test.sh runs it as root"]
async fn a_file_system_turned_read_only_refuses_writes_keeps_reads_and_streams_and_loses_nothing_over_the_repair()
 {
    require_root();
    let mount = Mount::ext4();
    let mut club = Club::start(mount.path()).await;
    let (status, first) = club.open().await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let seen = club.expect_opening_events(&first, 0).await;

    // The error comes after the opening reached the disk. (SQLite runs with synchronous=NORMAL in
    // WAL mode: a commit not yet flushed when the file system fails is lost as on a power cut;
    // the README's deployment section says so.)
    run("sync", &[]);
    mount.fail();
    let balance = club.balance().await;
    let (status, refused) = club.open().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{refused}");
    assert_eq!(refused["error"]["code"], "database_unavailable");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(message.contains("read-only"), "{message}");
    club.health_becomes("read_only", StatusCode::SERVICE_UNAVAILABLE)
        .await;
    assert_eq!(club.balance().await, balance);
    let (status, _) = club.get("/v1/me/inventory").await;
    assert_eq!(status, StatusCode::OK);
    club.stream.assert_quiet(Duration::from_millis(500)).await;

    // The kernel does not let an errored ext4 be written again until it is checked, which needs it
    // unmounted: the server is stopped, the operator runs e2fsck, and the server starts again on the
    // same file with everything it had committed.
    club.server.kill();
    mount.repair();
    club.server.restart();
    club.token = club.server.token(&club.http, "alice", "alice-demo-1").await;
    assert_eq!(club.balance().await, balance);
    assert_consistent(&club.server.database).await;
    club.stream = Club::stream(&club.server, &club.http, &club.token).await;
    let (status, opened) = club.open().await;
    assert_eq!(status, StatusCode::OK, "{opened}");
    assert_eq!(opened["balance"].as_i64().unwrap(), balance - 5_000);
    club.expect_opening_events(&opened, seen).await;
}
