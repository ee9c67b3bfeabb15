//! Entry points for the cargo-fuzz targets in `fuzz/` and for their regression tests: each takes
//! arbitrary bytes and must never panic, whatever a client sends.

use cyberhub_protocol::{
    AnnouncementRequest, BalanceAdjustRequest, CaseInput, CreateUserRequest, LoginRequest,
    MuteRequest, SendChatMessage, TopupRequest,
};

use crate::http::sse::parse_cursor;
use crate::http::validate;
use crate::http::webhooks::{sign, signature_valid};

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

/// Every JSON request body, parsed and then validated as its handler does.
pub fn json_bodies(data: &[u8]) {
    if let Ok(case) = serde_json::from_slice::<CaseInput>(data) {
        let _ = validate::case_input(&case);
    }
    if let Ok(chat) = serde_json::from_slice::<SendChatMessage>(data)
        && let Ok(text) = validate::chat_text(&chat.text)
    {
        let len = text.chars().count();
        assert!((1..=500).contains(&len), "accepted {len} characters");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
    }
    if let Ok(user) = serde_json::from_slice::<CreateUserRequest>(data) {
        let _ = validate::check_username(&user.username);
        let _ = validate::check_password(&user.password);
    }
    if let Ok(adjust) = serde_json::from_slice::<BalanceAdjustRequest>(data) {
        let _ = validate::check_range(
            "delta",
            adjust.delta.saturating_abs(),
            1,
            validate::MAX_MONEY,
        );
        let _ = validate::check_len("reason", &adjust.reason, 1, 200);
    }
    if let Ok(mute) = serde_json::from_slice::<MuteRequest>(data) {
        let _ = validate::check_range("minutes", mute.minutes, 0, 43_200);
    }
    let _ = serde_json::from_slice::<LoginRequest>(data);
    let _ = serde_json::from_slice::<AnnouncementRequest>(data);
    let _ = serde_json::from_slice::<TopupRequest>(data);
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
