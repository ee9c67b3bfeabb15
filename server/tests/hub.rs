//! The hub on its own, without HTTP: fan-out order, per-user routing and catching up after lag, on
//! SQLite or (with `TEST_DATABASE_URL`) PostgreSQL.

#[path = "support/database.rs"]
mod database;

use std::time::Duration;

use cyberhub_protocol::Role;
use cyberhub_server::hub::{Feed, FeedItem, Hub, HubConfig, Viewer};
use cyberhub_server::store::Store;
use tokio_util::sync::CancellationToken;

use database::TestDatabase;

async fn next_event(feed: &mut Feed) -> (i64, Option<i64>) {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .expect("an event within 5 s")
            .unwrap()
        {
            FeedItem::Event(e) => return (e.id, e.user_id),
            FeedItem::Heartbeat => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn wait_for_head(hub: &Hub, id: i64) {
    for _ in 0..100 {
        if hub.head() >= id {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("hub head stuck at {}", hub.head());
}

/// A hub with its publisher running, on a fresh database file.
struct Running {
    _db: TestDatabase,
    url: String,
    store: Store,
    hub: Hub,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn start_hub(
    global_capacity: usize,
    user_capacity: usize,
    recent_capacity: usize,
) -> Running {
    let db = TestDatabase::create().await;
    let url = db.url.clone();
    let store = Store::open(&url).await.unwrap();
    let shutdown = CancellationToken::new();
    let config = HubConfig {
        heartbeat: Duration::from_secs(60),
        global_capacity,
        user_capacity,
        recent_capacity,
        replay_max: i64::MAX,
    };
    let (hub, task) = Hub::start(store.clone(), config, shutdown.clone())
        .await
        .unwrap();
    Running {
        _db: db,
        url,
        store,
        hub,
        shutdown,
        task,
    }
}

impl Running {
    async fn user(&self, name: &str) -> i64 {
        self.store
            .create_user(name, "x", Role::User)
            .await
            .unwrap()
            .id
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap();
    }
}

#[tokio::test]
async fn feeds_that_fall_far_behind_catch_up_from_the_table_without_gaps_or_strangers_events() {
    lagging_feeds_catch_up(0).await;
}

#[tokio::test]
async fn feeds_that_fall_behind_catch_up_from_memory_without_gaps_or_strangers_events() {
    lagging_feeds_catch_up(1_000).await;
}

#[tokio::test]
async fn feeds_catch_up_from_the_table_when_they_fall_behind_further_than_memory_reaches() {
    lagging_feeds_catch_up(16).await;
}

/// Channels far smaller than the burst, so every feed overflows and must replay: from memory when
/// it holds `recent_capacity` events enough, else from the table.
async fn lagging_feeds_catch_up(recent_capacity: usize) {
    let running = start_hub(4, 2, recent_capacity).await;
    let (store, hub) = (&running.store, &running.hub);
    let alice = running.user("alice").await;
    let bob = running.user("bob").await;

    let mut anonymous = hub.open_feed(None, None).await.unwrap();
    let mut alice_feed = hub
        .open_feed(Some(Viewer::user(alice)), None)
        .await
        .unwrap();
    let mut bob_feed = hub.open_feed(Some(Viewer::user(bob)), None).await.unwrap();
    for i in 0..60 {
        store.announce(&format!("global {i}")).await.unwrap();
        store.adjust_balance(alice, 1, "drip").await.unwrap();
    }
    wait_for_head(hub, 120).await;

    let mut alice_seen = Vec::new();
    for _ in 0..120 {
        alice_seen.push(next_event(&mut alice_feed).await);
    }
    assert_eq!(
        alice_seen.iter().map(|e| e.0).collect::<Vec<_>>(),
        (1..=120).collect::<Vec<_>>()
    );
    assert!(
        alice_seen
            .iter()
            .all(|(id, user)| (id % 2 == 0) == (*user == Some(alice)))
    );

    for feed in [&mut anonymous, &mut bob_feed] {
        let mut seen = Vec::new();
        for _ in 0..60 {
            seen.push(next_event(feed).await);
        }
        assert_eq!(
            seen,
            (0..60).map(|i| (2 * i + 1, None)).collect::<Vec<_>>(),
            "global events only, in order"
        );
    }
    running.stop().await;
}

#[tokio::test]
async fn a_feed_whose_own_channel_overflowed_while_waiting_for_its_own_event_still_catches_up() {
    let running = start_hub(64, 2, 0).await;
    let (store, hub) = (&running.store, &running.hub);
    let alice = running.user("alice").await;
    let mut feed = hub
        .open_feed(Some(Viewer::user(alice)), None)
        .await
        .unwrap();
    for _ in 0..10 {
        store.adjust_balance(alice, 1, "drip").await.unwrap();
    }
    wait_for_head(hub, 10).await;

    tokio::time::timeout(Duration::from_secs(5), feed.own_event())
        .await
        .expect("the overflow ends the wait");
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(next_event(&mut feed).await);
    }
    let want: Vec<_> = (1..=10).map(|id| (id, Some(alice))).collect();
    assert_eq!(got, want, "every own event once, in order");
    running.stop().await;
}

#[tokio::test]
async fn commits_from_another_process_on_the_same_file_are_published_in_order_without_gaps() {
    let running = start_hub(64, 8, 1_000).await;
    let (store, hub) = (&running.store, &running.hub);
    // A second handle on the file stands for another process: its commits are not handed to this
    // hub, which must find them in the table.
    let other = Store::open(&running.url).await.unwrap();
    let mut feed = hub.open_feed(None, None).await.unwrap();

    let foreign = other.announce("from the other process").await.unwrap();
    let own = store.announce("from this one").await.unwrap();
    assert_eq!((foreign, own), (1, 2));
    assert_eq!(next_event(&mut feed).await, (1, None));
    assert_eq!(next_event(&mut feed).await, (2, None));
    running.stop().await;
}
