use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::server::Server;

#[tokio::test]
async fn user_revoke_signs_a_member_out_everywhere_and_ends_their_streams() {
    let server = Server::start(&[]).await;
    let http = reqwest::Client::new();
    let token = server.token(&http, "alice", "alice-demo-1").await;
    let stream = http
        .get(server.url("/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let mut body = stream.bytes_stream();
    assert!(body.next().await.is_some(), "the ready frame");

    // The operator's command, a process of its own on the same database.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cyberhub"))
        .args(["user", "revoke", "alice", "--database-url", &server.db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 session(s) ended"));

    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended within a second or so");
    let me = http
        .get(server.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}
