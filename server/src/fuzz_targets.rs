//! The cargo-fuzz targets' entry points (`fuzz/`, built with the `fuzz-targets` feature; not in
//! the server otherwise), with their regression tests below: each takes arbitrary bytes and must
//! never panic, whatever a client sends. They call the server's own parsers and input rules.

use cyberhub_protocol::{
    AnnouncementRequest, BalanceAdjustRequest, CaseInput, CreateUserRequest, LoginRequest,
    MuteRequest, SendChatMessage, TopupRequest,
};

use crate::http::validate;
use crate::http::webhooks::{sign, signature_valid};
use crate::stream::parse_cursor;

/// A request head as the connection-level fast path reads it.
pub fn request_head(data: &[u8]) {
    crate::net::check_head(data);
}

/// A `Last-Event-ID` or `after` cursor.
pub fn cursor(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(Some(id)) = parse_cursor(Some(text), "cursor")
    {
        assert!(id >= 0, "cursors are never negative");
    }
}

/// Every JSON request body, parsed and then validated by its handler's own rule.
pub fn json_bodies(data: &[u8]) {
    if let Ok(case) = serde_json::from_slice::<CaseInput>(data) {
        let _ = validate::case_input(&case);
    }
    if let Ok(chat) = serde_json::from_slice::<SendChatMessage>(data)
        && let Ok(text) = validate::chat_text(&chat.text)
    {
        // What the rule promises of an accepted text.
        let len = text.chars().count();
        assert!((1..=500).contains(&len), "accepted {len} characters");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
    }
    if let Ok(user) = serde_json::from_slice::<CreateUserRequest>(data) {
        let _ = validate::create_user(&user);
    }
    if let Ok(adjust) = serde_json::from_slice::<BalanceAdjustRequest>(data) {
        let _ = validate::balance_adjust(&adjust);
    }
    if let Ok(mute) = serde_json::from_slice::<MuteRequest>(data) {
        let _ = validate::mute(&mute);
    }
    if let Ok(announcement) = serde_json::from_slice::<AnnouncementRequest>(data) {
        let _ = validate::announcement(&announcement);
    }
    if let Ok(topup) = serde_json::from_slice::<TopupRequest>(data) {
        let _ = validate::topup(&topup);
    }
    let _ = serde_json::from_slice::<LoginRequest>(data);
}

/// The top-up webhook's signature check: the first line is the header, the rest the body. A
/// signature the server makes itself always passes.
pub fn topup_signature(data: &[u8]) {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..split], &data[split.min(data.len())..]);
    let header = String::from_utf8_lossy(header);
    let _ = signature_valid(b"fuzz-secret", body, &header);
    assert!(signature_valid(
        b"fuzz-secret",
        body,
        &sign(b"fuzz-secret", body)
    ));
}

/// The entry points on inputs worth keeping: the attacks the hardening issue found, and edge cases
/// of each parser. `scripts/fuzz.sh` runs the targets themselves; any crash they find is added
/// here first.
#[cfg(test)]
mod regressions {
    #[test]
    fn request_heads() {
        for head in [
            &b"GET /v1/events/poll HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\ncontent-length: 44\r\n\r\nGET /v1/cases HTTP/1.1\r\n\r\n"[..],
            b"GET /v1/events/poll HTTP/1.1\nhost: x\n\n",
            b"GET /v1/events HTTP/1.0\r\n\r\n",
            b"GET /v1/events HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            b"GET /v1/events HTTP/1.1\r\nx: \xff\xfe\r\n\r\n",
            b"GET /v1/events?last_event_id=%ZZ HTTP/1.1\r\n\r\n",
            b"\r\n\r\nGET /v1/events HTTP/1.1\r\n\r\n",
            b"",
            b"GET",
        ] {
            super::request_head(head);
        }
        let huge = format!(
            "GET /v1/events HTTP/1.1\r\nx: {}\r\n\r\n",
            "a".repeat(20_000)
        );
        super::request_head(huge.as_bytes());
    }

    #[test]
    fn cursors() {
        for cursor in [
            "",
            " ",
            "0",
            "-1",
            "9223372036854775807",
            "9223372036854775808",
            "1e3",
            "\u{0}",
            "٣",
        ] {
            super::cursor(cursor.as_bytes());
        }
    }

    #[test]
    fn json_bodies() {
        for body in [
            r#"{"delta":-9223372036854775808,"reason":"x"}"#,
            r#"{"text":"\r\n\r\n"}"#,
            r#"{"text":"\u0085"}"#,
            r#"{"name":"x","price":-1,"items":[{"name":"","rarity":"rare","value":0,"weight":0}]}"#,
            r#"{"minutes":9223372036854775807}"#,
            r#"{"username":"ы","password":"12345678"}"#,
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        ] {
            super::json_bodies(body.as_bytes());
        }
    }

    #[test]
    fn topup_signatures() {
        for input in [
            &b""[..],
            b"\n",
            b"sha256=\n{}",
            b"sha256=zz\n{}",
            b"sha256=00\n",
            b"\xff\xfe\n\xff",
        ] {
            super::topup_signature(input);
        }
    }
}
