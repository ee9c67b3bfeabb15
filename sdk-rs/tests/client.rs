//! Client behaviour outside the shared scenarios, against the real server binary on loopback:
//! connection states, resume points, close and drop, token changes and revocation, the `retry:`
//! floor and `Retry-After`, forced SSE, errors, and the `events()` stream.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cyberhub_sdk::protocol::ServerEvent;
use cyberhub_sdk::{
    Backoff, Client, ConnectionState, ConnectionStatus, Transport, TransportKind, TransportNotice,
};
use futures_util::StreamExt;
use support::{Proxy, TestServer};

const FAST: Backoff = Backoff {
    base: Duration::from_millis(100),
    cap: Duration::from_millis(1000),
};

fn client(url: &str) -> Client {
    Client::builder(url).backoff(FAST).build().unwrap()
}

async fn signed_in(url: &str, user: &str) -> Client {
    let c = client(url);
    c.login(user, support::demo_password(user).unwrap())
        .await
        .unwrap();
    c
}

/// Records every connection change of `client` as `state/transport`.
fn states(client: &Client) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    client
        .on_connection_change(move |s: ConnectionState| {
            let t = s.transport.map_or("null", |t| t.as_str());
            sink.lock()
                .unwrap()
                .push(format!("{}/{t}", s.state.as_str()));
        })
        .detach();
    seen
}

/// Waits until `check` holds, up to `ms`.
async fn eventually(ms: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_millis(ms);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {ms} ms waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn until_state(client: &Client, state: ConnectionStatus, transport: Option<TransportKind>) {
    let what = format!("{state:?} over {transport:?}");
    eventually(8000, &what, || {
        let s = client.connection_state();
        s.state == state && s.transport == transport
    })
    .await;
}

#[tokio::test]
async fn states_run_connecting_connected_closed_and_last_event_id_follows_the_hooks() {
    let server = TestServer::start(&[]).await;
    let alice = signed_in(&server.url, "alice").await;
    let seen = states(&alice);
    assert_eq!(alice.connection_state(), ConnectionState::CLOSED);
    assert_eq!(alice.last_event_id(), None);
    let started = alice.connect();
    assert_eq!(
        alice.connection_state().state,
        ConnectionStatus::Connecting,
        "connect() reports connecting at once"
    );
    started.await;
    assert!(
        alice.last_event_id().is_some(),
        "the start position is fixed"
    );
    until_state(
        &alice,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;

    let balance_id = Arc::new(Mutex::new(None));
    let sink = balance_id.clone();
    let _b = alice.on_balance_updated(move |_, meta| *sink.lock().unwrap() = Some(meta.id));
    let drops = Arc::new(Mutex::new(0));
    let sink = drops.clone();
    let _d = alice.on_drop(move |_, _| *sink.lock().unwrap() += 1);
    let opened = alice.open_case(1).await.unwrap();
    eventually(5000, "the drop", || *drops.lock().unwrap() == 1).await;
    let id = balance_id.lock().unwrap().expect("balance hook");
    assert!(
        alice.last_event_id().unwrap() >= id + 2,
        "covers the drop that followed"
    );
    assert_eq!(opened.balance, alice.me().await.unwrap().balance);
    alice.close().await;
    assert_eq!(
        *seen.lock().unwrap(),
        ["connecting/sse", "connected/sse", "closed/null"]
    );
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn refused_and_failed_calls_carry_status_and_code() {
    let server = TestServer::start(&[]).await;
    let alice = signed_in(&server.url, "alice").await;
    let error = alice.get_case(999).await.unwrap_err();
    assert_eq!((error.status(), error.code()), (404, "not_found"));
    assert_eq!(error.to_string(), "404 not_found: case not found");
    let error = client(&server.url).me().await.unwrap_err();
    assert!(
        error.to_string().starts_with("401 unauthenticated: "),
        "{error}"
    );
    let nobody = client("http://127.0.0.1:9");
    let error = nobody.cases().await.unwrap_err();
    assert_eq!((error.status(), error.code()), (0, "network_error"));
    assert!(matches!(
        Client::builder("club.example").build(),
        Err(cyberhub_sdk::Error::Config(_))
    ));
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn close_waits_for_the_task_and_connect_resumes_where_it_stopped() {
    let server = TestServer::start(&[]).await;
    let admin = signed_in(&server.url, "admin").await;
    let viewer = client(&server.url);
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = seen.clone();
    let _a = viewer.on_announcement(move |e, _| sink.lock().unwrap().push(e.text.clone()));
    viewer.connect().await;
    until_state(
        &viewer,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    admin.admin().announce("one").await.unwrap();
    eventually(5000, "one", || seen.lock().unwrap().len() == 1).await;
    viewer.close().await;
    assert_eq!(viewer.connection_state(), ConnectionState::CLOSED);
    // A witness still connected sees "two" and "three" go out: had the closed client still been
    // streaming, its hook would have run for them by then.
    let witness = client(&server.url);
    let witnessed = Arc::new(Mutex::new(0));
    let sink = witnessed.clone();
    let _w = witness.on_announcement(move |_, _| *sink.lock().unwrap() += 1);
    witness.connect().await;
    admin.admin().announce("two").await.unwrap();
    admin.admin().announce("three").await.unwrap();
    eventually(5000, "the witness to see both", || {
        *witnessed.lock().unwrap() == 2
    })
    .await;
    assert_eq!(*seen.lock().unwrap(), ["one"], "no hook runs after close()");
    witness.close().await;
    viewer.connect().await;
    eventually(5000, "two and three", || seen.lock().unwrap().len() == 3).await;
    assert_eq!(*seen.lock().unwrap(), ["one", "two", "three"]);
    viewer.close().await;
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn a_resume_id_given_at_build_replays_what_came_after_it() {
    let server = TestServer::start(&[]).await;
    let start = server.health().await["last_event_id"].as_i64().unwrap();
    let admin = signed_in(&server.url, "admin").await;
    admin.admin().announce("replay me").await.unwrap();
    for transport in [Transport::Sse, Transport::Poll] {
        let viewer = Client::builder(&server.url)
            .last_event_id(start)
            .transport(transport)
            .build()
            .unwrap();
        let mut events = viewer.events();
        viewer.connect();
        let (meta, event) = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("an event")
            .unwrap();
        assert!(meta.id > start && !meta.is_resync());
        assert!(
            matches!(&event, ServerEvent::Announcement(a) if a.text == "replay me"),
            "{event:?}"
        );
        viewer.close().await;
    }
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn set_token_on_a_running_stream_reconnects_as_that_user_from_the_same_cursor() {
    let server = TestServer::start(&[]).await;
    let viewer = client(&server.url);
    let seen = states(&viewer);
    viewer.connect().await;
    until_state(
        &viewer,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let sink = tokens.clone();
    let _t = viewer.on_token_change(move |t| sink.lock().unwrap().push(t.map(str::to_owned)));
    let bob = viewer.login("bob", "bob-demo-1").await.unwrap();
    eventually(5000, "reconnected", || seen.lock().unwrap().len() >= 4).await;
    until_state(
        &viewer,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    let balance = Arc::new(Mutex::new(None));
    let sink = balance.clone();
    let _b = viewer.on_balance_updated(move |e, _| *sink.lock().unwrap() = Some(e.user_id));
    viewer.open_case(1).await.unwrap();
    eventually(5000, "bob's balance", || balance.lock().unwrap().is_some()).await;
    assert_eq!(*balance.lock().unwrap(), Some(bob.user.id));
    assert_eq!(tokens.lock().unwrap().len(), 1);
    assert_eq!(
        seen.lock().unwrap()[..4],
        [
            "connecting/sse",
            "connected/sse",
            "connecting/sse",
            "connected/sse"
        ]
    );
    viewer.close().await;
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn a_revoked_session_drops_the_token_and_goes_on_anonymously_until_a_new_login() {
    let server = TestServer::start(&[]).await;
    let alice = signed_in(&server.url, "alice").await;
    let admin = signed_in(&server.url, "admin").await;
    for transport in [Transport::Auto, Transport::Poll] {
        // A desktop app restored from a saved token; the phone logs the same session out.
        let phone = signed_in(&server.url, "alice").await;
        let desktop = Client::builder(&server.url)
            .token(phone.token().unwrap())
            .transport(transport)
            .backoff(FAST)
            .build()
            .unwrap();
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let sink = tokens.clone();
        let _t = desktop.on_token_change(move |t| sink.lock().unwrap().push(t.map(str::to_owned)));
        let balances = Arc::new(Mutex::new(Vec::new()));
        let sink = balances.clone();
        let _b = desktop.on_balance_updated(move |e, _| sink.lock().unwrap().push(e.balance));
        let texts = Arc::new(Mutex::new(Vec::new()));
        let sink = texts.clone();
        let _a = desktop.on_announcement(move |e, _| sink.lock().unwrap().push(e.text.clone()));
        let kind = match transport {
            Transport::Poll => TransportKind::Poll,
            _ => TransportKind::Sse,
        };
        desktop.connect().await;
        until_state(&desktop, ConnectionStatus::Connected, Some(kind)).await;
        phone.logout().await.unwrap();
        eventually(5000, "the token dropped", || desktop.token().is_none()).await;
        assert_eq!(*tokens.lock().unwrap(), [None]);
        let me = alice.me().await.unwrap();
        admin
            .admin()
            .adjust_balance(me.id, 1, "private")
            .await
            .unwrap();
        admin.admin().announce("global").await.unwrap();
        eventually(8000, "the announcement", || {
            !texts.lock().unwrap().is_empty()
        })
        .await;
        until_state(&desktop, ConnectionStatus::Connected, Some(kind)).await;
        // Events reach the hooks in id order: the private one came first, so had it been
        // delivered, it would have been before the announcement.
        assert!(
            balances.lock().unwrap().is_empty(),
            "no private event after the session ended"
        );
        assert_eq!(*texts.lock().unwrap(), ["global"]);
        // Signing in again resumes as that user.
        desktop.login("alice", "alice-demo-1").await.unwrap();
        until_state(&desktop, ConnectionStatus::Connected, Some(kind)).await;
        admin
            .admin()
            .adjust_balance(me.id, 1, "private again")
            .await
            .unwrap();
        eventually(8000, "the balance", || balances.lock().unwrap().len() == 1).await;
        desktop.close().await;
    }
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn a_reconnect_waits_at_least_the_servers_retry_advice() {
    let server = TestServer::start(&["--retry-ms".into(), "1500".into()]).await;
    let proxy = Proxy::start(&server.url).await;
    let viewer = client(&proxy.url);
    let delays = Arc::new(Mutex::new(Vec::new()));
    let sink = delays.clone();
    let _n = viewer.on_transport_notice(move |n| {
        if let TransportNotice::Retrying { delay, .. } = n {
            sink.lock().unwrap().push(*delay);
        }
    });
    viewer.connect().await;
    until_state(
        &viewer,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    let cut = Instant::now();
    proxy.command(serde_json::json!({"action": "cut"})).await;
    eventually(3000, "reconnecting", || {
        viewer.connection_state().state == ConnectionStatus::Reconnecting
    })
    .await;
    until_state(
        &viewer,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    let back_after = cut.elapsed();
    assert!(
        back_after >= Duration::from_millis(1500),
        "back after {back_after:?}"
    );
    let delays = delays.lock().unwrap().clone();
    assert!(
        !delays.is_empty() && delays.iter().all(|d| *d >= Duration::from_millis(1500)),
        "{delays:?}"
    );
    viewer.close().await;
    proxy.close().await;
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn a_throttled_stream_waits_out_retry_after_and_does_not_fall_back() {
    // One stream per user every 3 s: the reconnect after a cut is answered 429 with Retry-After.
    let server = TestServer::start(&["--stream-rate-user".into(), "1/3s".into()]).await;
    let proxy = Proxy::start(&server.url).await;
    let alice = signed_in(&proxy.url, "alice").await;
    let seen = states(&alice);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    let _n = alice.on_transport_notice(move |n| sink.lock().unwrap().push(n.clone()));
    alice.connect().await;
    until_state(
        &alice,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    let cut = Instant::now();
    proxy.command(serde_json::json!({"action": "cut"})).await;
    // The client notices the cut (and is throttled for 1.5 s or more), then comes back.
    eventually(5000, "the cut to be noticed", || {
        alice.connection_state().state != ConnectionStatus::Connected
    })
    .await;
    until_state(
        &alice,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    let back_after = cut.elapsed();
    let notices = notices.lock().unwrap().clone();
    let throttled: Vec<Duration> = notices
        .iter()
        .filter_map(|n| match n {
            TransportNotice::Retrying { delay, cause, .. } if cause.contains("429") => Some(*delay),
            _ => None,
        })
        .collect();
    assert!(!throttled.is_empty(), "a 429 was met: {notices:?}");
    assert!(
        throttled.iter().all(|d| *d >= Duration::from_secs(1)),
        "each wait honours Retry-After: {throttled:?}"
    );
    assert!(
        back_after >= Duration::from_secs(1),
        "back after {back_after:?}"
    );
    let states = seen.lock().unwrap().clone();
    assert!(!states.iter().any(|s| s.ends_with("/poll")), "{states:?}");
    alice.close().await;
    proxy.close().await;
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn transport_sse_never_falls_back_even_when_streams_are_refused() {
    let server = TestServer::start(&[]).await;
    let proxy = Proxy::start(&server.url).await;
    proxy.command(serde_json::json!({"mode": "refuse"})).await;
    let viewer = Client::builder(&proxy.url)
        .transport(Transport::Sse)
        .backoff(FAST)
        .build()
        .unwrap();
    let seen = states(&viewer);
    let refusals = Arc::new(Mutex::new(0));
    let sink = refusals.clone();
    let _n = viewer.on_transport_notice(move |n| {
        if matches!(n, TransportNotice::Retrying { .. }) {
            *sink.lock().unwrap() += 1;
        }
    });
    viewer.connect().await;
    // Refused three times over: in Auto, the first refusal would already have fallen back.
    eventually(8000, "three refusals", || *refusals.lock().unwrap() >= 3).await;
    assert!(
        !seen.lock().unwrap().iter().any(|s| s.ends_with("/poll")),
        "{:?}",
        seen.lock().unwrap()
    );
    assert_eq!(
        viewer.connection_state().state,
        ConnectionStatus::Connecting
    );
    proxy.command(serde_json::json!({"mode": "pass"})).await;
    until_state(
        &viewer,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    viewer.close().await;
    proxy.close().await;
    server.stop(libc::SIGKILL).await;
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_stream() {
    let server = TestServer::start(&[]).await;
    let viewer = client(&server.url);
    let clone = viewer.clone();
    viewer.connect().await;
    until_state(
        &viewer,
        ConnectionStatus::Connected,
        Some(TransportKind::Sse),
    )
    .await;
    assert_eq!(server.health().await["sse_clients"], 1);
    let announced = Arc::new(Mutex::new(0));
    let sink = announced.clone();
    let _a = clone.on_announcement(move |_, _| *sink.lock().unwrap() += 1);
    drop(viewer);
    // The clone still streams: an announcement made after the drop reaches its hook.
    let admin = signed_in(&server.url, "admin").await;
    admin.admin().announce("still here").await.unwrap();
    eventually(5000, "the clone's hook", || *announced.lock().unwrap() == 1).await;
    assert_eq!(server.health().await["sse_clients"], 1, "a clone keeps it");
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.health().await["sse_clients"] != 0 {
        assert!(Instant::now() < deadline, "the stream outlived its client");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop(libc::SIGKILL).await;
}

/// The vectors of `conformance/fairness.json`, which the TypeScript SDK checks too.
#[test]
fn verify_opening_gives_the_conformance_vectors() {
    use cyberhub_sdk::protocol::{CaseItem, FairDraw, Opening, Rarity};
    let text =
        std::fs::read_to_string(support::repo_root().join("conformance/fairness.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for v in doc["vectors"].as_array().unwrap() {
        let items: Vec<CaseItem> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| CaseItem {
                id: i["id"].as_i64().unwrap(),
                name: String::new(),
                rarity: Rarity::Common,
                value: 0,
                weight: i["weight"].as_i64().unwrap(),
            })
            .collect();
        let opening = Opening {
            id: 1,
            case_id: 1,
            case_name: String::new(),
            price: 0,
            opened_at: 0,
            won_item_id: v["item_id"].as_i64().unwrap(),
            fair: FairDraw {
                server_seed_hash: v["server_seed_hash"].as_str().unwrap().to_owned(),
                client_seed: v["client_seed"].as_str().unwrap().to_owned(),
                nonce: v["nonce"].as_i64().unwrap(),
            },
            items,
            server_seed: None,
        };
        let check = cyberhub_sdk::verify_opening(&opening, v["server_seed"].as_str().unwrap());
        assert!(check.valid, "{v}");
        assert_eq!(check.roll, v["roll"].as_f64().unwrap());
    }
}

#[tokio::test]
async fn openings_verify_against_their_revealed_seeds_and_a_tampered_one_does_not() {
    let server = TestServer::start(&["--drop-reveal-ms".into(), "0".into()]).await;
    let alice = signed_in(&server.url, "alice").await;
    let pair = alice.fairness().await.unwrap();
    for nonce in 0..6 {
        let opened = alice.open_case(1).await.unwrap();
        assert_eq!(opened.fair.nonce, nonce);
        assert_eq!(opened.fair.server_seed_hash, pair.server_seed_hash);
    }
    // Not checkable before the reveal.
    assert!(
        alice.openings(None, None).await.unwrap()[0]
            .server_seed
            .is_none()
    );
    let rotation = alice.set_client_seed("desk 7").await.unwrap();
    assert_eq!(rotation.revealed.last_nonce, Some(5));
    assert_eq!(rotation.next.client_seed, "desk 7");
    let openings = alice.openings(None, Some(10)).await.unwrap();
    assert_eq!(openings.len(), 6);
    for opening in &openings {
        let seed = opening.server_seed.as_deref().unwrap();
        assert!(cyberhub_sdk::verify_opening(opening, seed).valid);
    }
    let mut tampered = openings[0].clone();
    tampered.won_item_id = tampered
        .items
        .iter()
        .map(|i| i.id)
        .find(|id| *id != tampered.won_item_id)
        .unwrap();
    let seed = tampered.server_seed.clone().unwrap();
    assert!(!cyberhub_sdk::verify_opening(&tampered, &seed).valid);
    assert!(!cyberhub_sdk::verify_opening(&openings[0], &rotation.next.server_seed_hash).valid);
    server.stop(libc::SIGKILL).await;
}
