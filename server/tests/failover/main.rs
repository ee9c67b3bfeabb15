//! PostgreSQL failing over to its streaming replica under a running node whose `DATABASE_URL` names
//! both servers: the node finds the new primary by itself. With asynchronous replication the new
//! primary lacks the last events the old one acknowledged: a client that was shown them gets
//! `sync:required` (`failover`) rather than silently missing what the new primary writes; with
//! synchronous replication nothing acknowledged is lost and nobody is told to refetch.
//!
//! A real primary and a real replica (`initdb`, `pg_basebackup -R`, `pg_ctl promote`) from the
//! machine's binaries: `scripts/with-postgres.sh` names them (`TEST_PG_BIN`); as root they run as
//! the `postgres` account, since PostgreSQL refuses root.

#[path = "../nodes/cluster.rs"]
mod cluster;
#[path = "../support/database.rs"]
mod database;
#[path = "../support/sse.rs"]
mod sse;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;

use cluster::{ADMIN_PASSWORD, Node, eventually, start_node};
use sse::EventStream;

/// A primary and its streaming replica on free loopback ports, stopped and removed when dropped.
struct Pair {
    dir: tempfile::TempDir,
    bin: PathBuf,
    primary: u16,
    replica: u16,
}

impl Pair {
    fn start(synchronous: bool) -> Pair {
        let bin = PathBuf::from(std::env::var("TEST_PG_BIN").expect(
            "this test starts its own primary and replica: run it under scripts/with-postgres.sh \
             (TEST_PG_BIN names PostgreSQL's binaries)",
        ));
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            run("chown", &["postgres:", path(dir.path())]);
        }
        let pair = Pair {
            bin,
            primary: free_port(),
            replica: free_port(),
            dir,
        };
        pair.as_owner(
            "initdb",
            &[
                "-D",
                &pair.data("primary"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ],
        );
        pair.pg_ctl("primary", pair.primary, "start", synchronous);
        pair.as_owner(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &pair.primary.to_string(),
                "-U",
                "postgres",
                "-D",
                &pair.data("replica"),
                "-R",
                "-X",
                "stream",
            ],
        );
        // The replica, once promoted, has no standby of its own to wait for.
        pair.pg_ctl("replica", pair.replica, "start", false);
        pair
    }

    fn data(&self, which: &str) -> String {
        format!("{}/{which}", path(self.dir.path()))
    }

    fn url(&self, port: u16, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/{database}")
    }

    /// `pg_ctl ACTION` on one server, with the settings a streaming pair needs.
    fn pg_ctl(&self, which: &str, port: u16, action: &str, synchronous: bool) {
        let mut settings = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c wal_level=replica \
             -c max_wal_senders=5 -c hot_standby=on -c fsync=off",
            path(self.dir.path())
        );
        if synchronous {
            // Every commit waits until the replica has it.
            settings.push_str(" -c synchronous_standby_names=* -c synchronous_commit=on");
        }
        let log = format!("{}.log", self.data(which));
        self.as_owner(
            "pg_ctl",
            &[
                "-D",
                &self.data(which),
                "-l",
                &log,
                "-w",
                "-m",
                "immediate",
                "-o",
                &settings,
                action,
            ],
        );
    }

    /// One of PostgreSQL's programs, run as the `postgres` account when this is root (PostgreSQL
    /// refuses root).
    fn owner_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn as_owner(&self, program: &str, args: &[&str]) {
        let out = self.owner_command(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn query(&self, port: u16, sql: &str) -> Vec<sqlx::postgres::PgRow> {
        let mut conn = sqlx::PgConnection::connect(&self.url(port, "cyberhub"))
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut conn)
            .await
            .unwrap()
    }

    /// Waits until the replica has replayed the event `id`.
    async fn replicated(&self, id: i64) {
        use sqlx::Row;
        eventually(
            Duration::from_secs(10),
            "replication of the event",
            || async {
                let rows = self
                    .query(self.replica, "SELECT COALESCE(MAX(id), 0) FROM events")
                    .await;
                rows[0].get::<i64, _>(0) >= id
            },
        )
        .await;
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for which in ["primary", "replica"] {
            let data = self.data(which);
            let _ = self
                .owner_command("pg_ctl")
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().unwrap();
    assert!(status.success(), "{program} {args:?}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The pair with a `cyberhub` database, an admin, and one node whose URL names both servers.
struct Club {
    pair: Pair,
    node: Node,
    http: reqwest::Client,
    admin: String,
}

impl Club {
    async fn start(synchronous: bool) -> Club {
        let pair = Pair::start(synchronous);
        let mut admin = sqlx::PgConnection::connect(&pair.url(pair.primary, "postgres"))
            .await
            .unwrap();
        sqlx::raw_sql("CREATE DATABASE cyberhub")
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/cyberhub?target_session_attrs=read-write",
            pair.primary, pair.replica
        );
        let added = Command::new(env!("CARGO_BIN_EXE_cyberhub"))
            .args([
                "user",
                "add",
                "admin",
                "--password",
                ADMIN_PASSWORD,
                "--admin",
                "--database-url",
                &url,
            ])
            .output()
            .unwrap();
        assert!(added.status.success(), "{added:?}");
        let node = start_node(&url, &["--heartbeat-secs", "1"]);
        let http = reqwest::Client::new();
        let login: Value = http
            .post(node.url("/v1/auth/login"))
            .json(&serde_json::json!({ "username": "admin", "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let admin = login["token"].as_str().unwrap().to_owned();
        Club {
            pair,
            node,
            http,
            admin,
        }
    }

    async fn announce(&self, text: &str) -> i64 {
        let res = self
            .http
            .post(self.node.url("/v1/admin/announcements"))
            .bearer_auth(&self.admin)
            .json(&serde_json::json!({ "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "{text}");
        res.json::<Value>().await.unwrap()["event_id"]
            .as_i64()
            .unwrap()
    }

    async fn stream(&self, after: Option<i64>) -> EventStream {
        EventStream::open(&self.http, &self.node.url("/v1/events"), None, after).await
    }

    /// Kills the primary (no shutdown: its last words never reach the replica) and promotes the
    /// replica; waits until the node writes again.
    async fn fail_over(&self) {
        self.pair
            .pg_ctl("primary", self.pair.primary, "stop", false);
        self.pair
            .pg_ctl("replica", self.pair.replica, "promote", false);
        eventually(
            Duration::from_secs(30),
            "the node's switch to the new primary",
            || async {
                let res = self.http.get(self.node.url("/health")).send().await;
                res.is_ok_and(|r| r.status() == StatusCode::OK)
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL's binaries: scripts/with-postgres.sh runs it"]
async fn after_an_asynchronous_failover_a_client_shown_lost_events_is_told_to_refetch_and_misses_nothing_new()
 {
    let club = Club::start(false).await;
    let mut live = club.stream(None).await;
    let kept = club.announce("replicated").await;
    assert_eq!(live.next().await.id, Some(kept));
    club.pair.replicated(kept).await;

    // The replica stops receiving: what the primary acknowledges now exists on it alone.
    club.pair
        .query(club.pair.replica, "ALTER SYSTEM SET primary_conninfo = ''")
        .await;
    club.pair
        .query(club.pair.replica, "SELECT pg_reload_conf()")
        .await;
    eventually(
        Duration::from_secs(10),
        "the replica's detachment",
        || async {
            club.pair
                .query(club.pair.primary, "SELECT 1 FROM pg_stat_replication")
                .await
                .is_empty()
        },
    )
    .await;
    let lost = [club.announce("lost 1").await, club.announce("lost 2").await];
    for id in lost {
        assert_eq!(live.next().await.id, Some(id), "shown before the failover");
    }

    club.fail_over().await;
    // Ids go on after a gap on the new primary: the lost ids are never reused for other events.
    let first_new = club.announce("on the new primary").await;
    assert!(first_new > lost[1], "{first_new} after {lost:?}");

    // The live client is told its view forked, at an id from which it misses nothing new.
    let sync = live.next_named("sync:required").await;
    assert_eq!(sync.data["reason"], "failover", "{sync:?}");
    let resume_at = sync.data["last_event_id"].as_i64().unwrap();
    assert!(resume_at >= first_new - 1, "{resume_at} vs {first_new}");
    let next = club.announce("after the refetch").await;
    // After it: the new history's events above that id, each once, in order, up to the newest.
    let mut after_sync = Vec::new();
    while after_sync.last() != Some(&next) {
        let frame = live.next().await;
        after_sync.push(frame.id.unwrap());
    }
    assert!(
        after_sync.is_sorted() && after_sync[0] > resume_at,
        "{after_sync:?} after {resume_at}"
    );
    assert!(
        after_sync.iter().all(|&id| id == first_new || id == next),
        "{after_sync:?}"
    );

    // A client resuming from a lost event is told too; one from before the fork just resumes.
    let mut resumed_lost = club.stream(Some(lost[0])).await;
    let told = resumed_lost.next().await;
    assert_eq!(
        (told.event.as_str(), told.data["reason"].as_str()),
        ("sync:required", Some("failover"))
    );
    let mut resumed_kept = club.stream(Some(kept)).await;
    let replayed: Vec<Option<i64>> = resumed_kept.take(2).await.iter().map(|f| f.id).collect();
    assert_eq!(
        replayed,
        [Some(first_new), Some(next)],
        "what the new history holds, once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL's binaries: scripts/with-postgres.sh runs it"]
async fn after_a_synchronous_failover_nothing_acknowledged_is_lost_and_nobody_refetches() {
    let club = Club::start(true).await;
    let mut live = club.stream(None).await;
    let acknowledged = [club.announce("one").await, club.announce("two").await];
    for id in acknowledged {
        assert_eq!(live.next().await.id, Some(id));
    }

    club.fail_over().await;
    let first_new = club.announce("on the new primary").await;
    assert_eq!(
        live.next().await.id,
        Some(first_new),
        "no sync:required: nothing was lost"
    );
    let mut resumed = club.stream(Some(acknowledged[0])).await;
    let replayed: Vec<Option<i64>> = resumed.take(2).await.iter().map(|f| f.id).collect();
    assert_eq!(replayed, [Some(acknowledged[1]), Some(first_new)]);
}
