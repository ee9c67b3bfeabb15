//! Provably fair openings through the API: every opening recomputes from its revealed seeds, over
//! many openings and several pairs; the client seed is the member's to set; seeds stay secret until
//! revealed (not in events, not in other members' answers, not in the database in the clear); an
//! admin's edit of a case leaves past verifications alone; concurrent openings get consecutive
//! nonces. And the reveal: another member's feed shows a drop no earlier than the delay, once, in
//! id order, on streams and long-polls alike.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use cyberhub_protocol::fairness::{seed_hash, verify};
use cyberhub_protocol::{Fairness, OpenCaseResponse, OpeningList, PollResponse, SeedRotation};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A case of five items whose weights make every draw matter.
async fn five_item_case(app: &TestApp) -> cyberhub_protocol::Case {
    let res = app
        .create_case(&case_body(
            "Fair",
            100,
            &[
                ("a", "common", 10, 600),
                ("b", "uncommon", 20, 300),
                ("c", "rare", 30, 90),
                ("d", "epic", 40, 9),
                ("e", "legendary", 50, 1),
            ],
        ))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn fairness(app: &TestApp, token: &str) -> Fairness {
    let res = app.get("/v1/me/fairness", Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn rotate(app: &TestApp, token: &str) -> SeedRotation {
    let res = app.post("/v1/me/fairness/rotate", Some(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn set_client_seed(app: &TestApp, token: &str, seed: &str) -> reqwest::Response {
    app.http
        .put(app.url("/v1/me/fairness/client-seed"))
        .bearer_auth(token)
        .json(&json!({ "client_seed": seed }))
        .send()
        .await
        .unwrap()
}

async fn open(app: &TestApp, token: &str, case_id: i64) -> OpenCaseResponse {
    let res = app.open_case(token, case_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn openings(app: &TestApp, token: &str, query: &str) -> OpeningList {
    let res = app
        .get(&format!("/v1/me/openings?{query}"), Some(token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_opening_recomputes_from_its_revealed_seed_across_pairs() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 100_000).await;
    let case = five_item_case(&app).await;
    let mut revealed = Vec::new();
    for round in 0..3 {
        let pair = fairness(&app, &token).await;
        assert_eq!(pair.nonce, 0);
        for nonce in 0..12 {
            let opened = open(&app, &token, case.id).await;
            assert_eq!(opened.fair.nonce, nonce);
            assert_eq!(opened.fair.server_seed_hash, pair.server_seed_hash);
            assert_eq!(opened.fair.client_seed, pair.client_seed);
        }
        let rotation = match round {
            1 => set_client_seed(&app, &token, "alice's own seed")
                .await
                .json()
                .await
                .unwrap(),
            _ => rotate(&app, &token).await,
        };
        assert_eq!(rotation.revealed.server_seed_hash, pair.server_seed_hash);
        assert_eq!(
            seed_hash(&rotation.revealed.server_seed),
            pair.server_seed_hash
        );
        assert_eq!(rotation.revealed.last_nonce, Some(11));
        assert_ne!(rotation.next.server_seed_hash, pair.server_seed_hash);
        revealed.push(rotation.revealed);
    }
    assert_eq!(
        fairness(&app, &token).await.client_seed.len(),
        16,
        "a random seed again"
    );

    let listed = openings(&app, &token, "limit=100").await.openings;
    assert_eq!(listed.len(), 36);
    let mut drawn = BTreeSet::new();
    for opening in &listed {
        let seed = opening.server_seed.as_deref().expect("every pair revealed");
        let check = verify(opening, seed);
        assert!(
            check.valid,
            "opening {} does not verify: {check:?}",
            opening.id
        );
        drawn.insert(opening.won_item_id);
    }
    assert!(
        drawn.len() > 1,
        "36 draws of five items all gave one: {drawn:?}"
    );
    assert_eq!(
        listed
            .iter()
            .filter(|o| o.fair.client_seed == "alice's own seed")
            .count(),
        12
    );
    // Paged back with `before`, newest first.
    let first = openings(&app, &token, "limit=10").await.openings;
    let next = openings(&app, &token, &format!("limit=10&before={}", first[9].id))
        .await
        .openings;
    assert!(next[0].id < first[9].id);
}

#[tokio::test]
async fn the_client_seed_is_the_members_and_must_be_printable_ascii() {
    let app = spawn_app().await;
    let (_, token) = app.new_user("alice").await;
    let before = fairness(&app, &token).await;
    for bad in ["", &"x".repeat(65), "тест", "tab\there"] {
        let res = set_client_seed(&app, &token, bad).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    assert_eq!(
        fairness(&app, &token).await,
        before,
        "a refused seed changes nothing"
    );
    let res = set_client_seed(&app, &token, "lucky 7 ~!").await;
    assert_eq!(res.status(), StatusCode::OK);
    let now = fairness(&app, &token).await;
    assert_eq!((now.client_seed.as_str(), now.nonce), ("lucky 7 ~!", 0));
    assert_ne!(now.server_seed_hash, before.server_seed_hash);
    assert_eq!(
        app.get("/v1/me/fairness", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn seeds_stay_secret_until_revealed_in_events_answers_and_the_database() {
    let app = spawn_app().await;
    let (alice, alice_token) = app.new_user("alice").await;
    let (_, bob_token) = app.new_user("bob").await;
    app.fund(alice.id, 10_000).await;
    let case = five_item_case(&app).await;
    let mut stream = app.stream(Some(&alice_token), None).await;
    assert_eq!(stream.next().await.event, "ready");
    let opened = open(&app, &alice_token, case.id).await;
    let inventory = stream.next_named("inventory:updated").await;
    assert_eq!(inventory.data["fair"]["nonce"], 0);
    assert_eq!(
        inventory.data["fair"]["server_seed_hash"],
        opened.fair.server_seed_hash
    );
    // Before the reveal: no seed in the listing, and the database holds it sealed only.
    let listed = openings(&app, &alice_token, "").await.openings;
    assert_eq!(listed[0].server_seed, None);
    let sealed = app
        .sql_text("SELECT sealed_seed FROM fairness_pairs WHERE revealed_at IS NULL")
        .await;
    let dump = app.sql_text("SELECT data FROM events").await.join("\n");
    let rotation = rotate(&app, &alice_token).await;
    let seed = rotation.revealed.server_seed.clone();
    assert!(
        !sealed.iter().any(|s| s.contains(&seed)),
        "the seed was stored in the clear"
    );
    assert!(!dump.contains(&seed), "the seed is in an event");
    let events = app.sql_text("SELECT data FROM events").await.join("\n");
    assert!(
        !events.contains(&seed),
        "the revealed seed went into an event"
    );
    // Bob sees none of Alice's draws.
    assert!(openings(&app, &bob_token, "").await.openings.is_empty());
    let bobs = fairness(&app, &bob_token).await;
    assert_ne!(bobs.server_seed_hash, opened.fair.server_seed_hash);
    assert_eq!(
        openings(&app, &alice_token, "").await.openings[0]
            .server_seed
            .as_deref(),
        Some(seed.as_str())
    );
}

#[tokio::test]
async fn an_admins_edit_of_the_case_leaves_past_verifications_alone() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 10_000).await;
    let case = five_item_case(&app).await;
    for _ in 0..5 {
        open(&app, &token, case.id).await;
    }
    let edited = app
        .http
        .put(app.url(&format!("/v1/admin/cases/{}", case.id)))
        .bearer_auth(&app.admin_token)
        .json(&case_body("Fair, edited", 100, &[("only", "common", 1, 1)]))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    let seed = rotate(&app, &token).await.revealed.server_seed;
    for opening in openings(&app, &token, "").await.openings {
        assert_eq!(opening.items.len(), 5, "the items of the opening's time");
        assert_eq!(opening.case_name, "Fair");
        assert!(verify(&opening, &seed).valid);
    }
}

#[tokio::test]
async fn concurrent_openings_of_one_member_get_distinct_consecutive_nonces() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 100_000).await;
    let case = five_item_case(&app).await;
    let opens = (0..20).map(|_| open(&app, &token, case.id));
    let nonces: BTreeSet<i64> = futures_util::future::join_all(opens)
        .await
        .into_iter()
        .map(|o| o.fair.nonce)
        .collect();
    assert_eq!(nonces, (0..20).collect());
    assert_eq!(fairness(&app, &token).await.nonce, 20);
}

#[tokio::test]
async fn openings_racing_rotations_are_each_drawn_from_a_pair_not_yet_revealed() {
    let app = spawn_app().await;
    let (alice, token) = app.new_user("alice").await;
    app.fund(alice.id, 100_000).await;
    let case = five_item_case(&app).await;
    let opens = futures_util::future::join_all((0..30).map(|_| open(&app, &token, case.id)));
    let rotations = futures_util::future::join_all((0..3).map(|_| async {
        let res = app
            .http
            .post(app.url("/v1/me/fairness/rotate"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        // A rotation that lost a race with another says so; one that went through revealed.
        match res.status() {
            StatusCode::OK => Some(res.json::<SeedRotation>().await.unwrap().revealed),
            _ => {
                assert_error(res, StatusCode::CONFLICT, "seeds_changed").await;
                None
            }
        }
    }));
    let (opened, revealed) = tokio::join!(opens, rotations);
    let mut revealed: Vec<_> = revealed.into_iter().flatten().collect();
    revealed.push(rotate(&app, &token).await.revealed);
    for pair in &revealed {
        // Under each pair the nonces run from 0 to the last one its reveal names, none after.
        let mut nonces: Vec<i64> = opened
            .iter()
            .filter(|o| o.fair.server_seed_hash == pair.server_seed_hash)
            .map(|o| o.fair.nonce)
            .collect();
        nonces.sort_unstable();
        let expected: Vec<i64> = pair.last_nonce.map_or(vec![], |last| (0..=last).collect());
        assert_eq!(nonces, expected, "openings under {}", pair.server_seed_hash);
    }
    let listed = openings(&app, &token, "limit=100").await.openings;
    assert_eq!(listed.len(), 30);
    for opening in &listed {
        assert!(verify(opening, opening.server_seed.as_deref().unwrap()).valid);
    }
}

#[tokio::test]
async fn an_opening_that_cannot_be_paid_uses_up_no_nonce() {
    let app = spawn_app().await;
    let (_, token) = app.new_user("alice").await;
    let case = five_item_case(&app).await;
    let res = app.open_case(&token, case.id).await;
    assert_error(res, StatusCode::CONFLICT, "insufficient_funds").await;
    assert_eq!(fairness(&app, &token).await.nonce, 0);
}

#[tokio::test]
async fn a_drop_reaches_the_feed_after_the_reveal_delay_once_and_in_id_order() {
    let app = spawn_app_with(|c| c.drop_reveal_ms = 1_500).await;
    let (alice, alice_token) = app.new_user("alice").await;
    app.fund(alice.id, 10_000).await;
    let case = five_item_case(&app).await;
    let head = app.committed_head().await;
    let mut watcher = app.stream(None, None).await;
    assert_eq!(watcher.next().await.event, "ready");
    let mut own = app.stream(Some(&alice_token), None).await;
    assert_eq!(own.next().await.event, "ready");

    let opened_at = Instant::now();
    let opened = open(&app, &alice_token, case.id).await;
    assert_eq!(opened.reveal_in_ms, 1_500);
    // The opener's own events come at once.
    let balance = own.next().await;
    assert_eq!(balance.event, "balance:updated");
    assert!(opened_at.elapsed() < Duration::from_millis(1_500));
    // An announcement made meanwhile comes first: the drop gets its id when it is published.
    let announced = app.announce("during the roulette").await;
    assert_eq!(watcher.next().await.id, Some(announced));
    let drop = watcher.next_named("drop:new").await;
    assert!(
        opened_at.elapsed() >= Duration::from_millis(1_500),
        "the drop came {:?} after the opening",
        opened_at.elapsed()
    );
    assert_eq!(drop.data["item"], opened.item.name);
    assert!(drop.id.unwrap() > announced);
    watcher.assert_quiet(Duration::from_millis(1_200)).await;

    // A long-poll and a resumed stream see it once too, in order.
    let polled: PollResponse = app
        .poll(None, &format!("after={head}"))
        .await
        .json()
        .await
        .unwrap();
    let drops: Vec<i64> = polled
        .events
        .iter()
        .filter(|e| e.event.name() == "drop:new")
        .map(|e| e.id)
        .collect();
    assert_eq!(drops, vec![drop.id.unwrap()]);
    let ids: Vec<i64> = polled.events.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let mut resumed = app.stream(None, Some(head)).await;
    assert_eq!(resumed.next().await.event, "ready");
    let replayed = resumed.drain_until_quiet(Duration::from_millis(500)).await;
    assert_eq!(replayed.iter().filter(|f| f.event == "drop:new").count(), 1);
    // The feed's history has it only now.
    let drops: serde_json::Value = app.get("/v1/drops", None).await.json().await.unwrap();
    assert_eq!(drops["drops"].as_array().unwrap().len(), 1);
}
