use std::collections::HashMap;

use reqwest::StatusCode;

use crate::server::Server;

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn a_flood_of_wrong_passwords_holds_memory_flat_and_sheds_what_it_cannot_check() {
    // The per-address and per-name limits are off: this is the gate alone.
    let server = Server::start(&["--login-rate-ip", "off", "--login-rate-user", "off"]).await;
    let http = server.client_from("127.0.0.2");
    assert_eq!(
        server.login(&http, "alice", "alice-demo-1").await.status(),
        StatusCode::OK
    );
    let before = server.rss();

    let mut statuses: HashMap<StatusCode, usize> = HashMap::new();
    for _round in 0..3 {
        let attempts = (0..64).map(|i| {
            let (server, http) = (&server, &http);
            async move {
                let res = server.login(http, "alice", &format!("wrong-{i}")).await;
                if res.status() == StatusCode::SERVICE_UNAVAILABLE {
                    assert_eq!(res.headers()["retry-after"], "1");
                    let body: serde_json::Value = res.json().await.unwrap();
                    assert_eq!(body["error"]["code"], "busy");
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                res.status()
            }
        });
        for status in futures_util::future::join_all(attempts).await {
            *statuses.entry(status).or_default() += 1;
        }
    }
    let after = server.rss();
    // 64 checks at once used to take 64 blocks of 19 MiB (and keep them); now one per core runs,
    // a few wait, the rest are told to come back.
    assert!(
        after < before + 120 * MIB,
        "RSS grew from {} to {} MiB",
        before / MIB,
        after / MIB
    );
    assert!(statuses[&StatusCode::UNAUTHORIZED] >= 3 * 2, "{statuses:?}");
    assert!(
        statuses[&StatusCode::SERVICE_UNAVAILABLE] >= 3 * 40,
        "{statuses:?}"
    );
    assert_eq!(statuses.len(), 2, "only 401 and 503: {statuses:?}");

    // Once it has passed, the right password works at once.
    assert_eq!(
        server.login(&http, "alice", "alice-demo-1").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn logins_are_limited_per_address_and_per_username() {
    let server = Server::start(&["--login-rate-ip", "4/1m", "--login-rate-user", "6/1m"]).await;
    let attacker = server.client_from("127.0.0.2");
    for _ in 0..4 {
        let res = server.login(&attacker, "nobody-here", "guess-123").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = server.login(&attacker, "alice", "alice-demo-1").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=15).contains(&retry_after),
        "4/1m refills one every 15 s: {retry_after}"
    );

    // Another address is not affected…
    let member = server.client_from("127.0.0.3");
    assert_eq!(
        server
            .login(&member, "alice", "alice-demo-1")
            .await
            .status(),
        StatusCode::OK
    );
    // …but guesses at one name from many addresses are: alice has used 1 of her 6 above.
    for source in 4..9 {
        let from = server.client_from(&format!("127.0.0.{source}"));
        assert_eq!(
            server.login(&from, "ALICE", "guess-123").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let from = server.client_from("127.0.0.9");
    assert_eq!(
        server.login(&from, "alice", "alice-demo-1").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        server.login(&from, "bob", "bob-demo-1").await.status(),
        StatusCode::OK
    );
}
