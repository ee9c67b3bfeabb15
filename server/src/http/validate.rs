//! The input rules of the handlers: one function per request body, built from small checks, each
//! failure a 422 naming the field. The fuzz targets call the same functions.

use cyberhub_protocol::{
    AnnouncementRequest, BalanceAdjustRequest, CaseInput, CreateUserRequest, ErrorCode,
    MuteRequest, TopupRequest,
};

use crate::error::ApiError;

/// The largest amount of money one request may name (10 billion roubles in kopecks); balances stay
/// far below 2^53, so JavaScript clients read them exactly.
pub const MAX_MONEY: i64 = 1_000_000_000_000;
/// The longest chat mute, in minutes: 30 days.
pub const MAX_MUTE_MINUTES: i64 = 30 * 24 * 60;

/// `value` must be `min..=max` characters long (after trimming it must not be blank when `min > 0`).
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let len = value.chars().count();
    if len < min || len > max || (min > 0 && value.trim().is_empty()) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidLength,
            format!("{field} must be {min} to {max} characters long"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidCharacters,
            format!("{field} must not contain control characters"),
        ));
    }
    Ok(())
}

/// `value` must lie in `min..=max`.
pub fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<(), ApiError> {
    if value < min || value > max {
        let code = if value < 0 {
            ErrorCode::NegativeValue
        } else {
            ErrorCode::OutOfRange
        };
        return Err(ApiError::invalid(
            code,
            format!("{field} must be between {min} and {max}"),
        ));
    }
    Ok(())
}

/// A username: 3 to 32 letters, digits, `_`, `-` or `.`.
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=32).contains(&name.len()) || !ok_chars {
        return Err(ApiError::invalid(
            ErrorCode::InvalidUsername,
            "username must be 3 to 32 characters: letters, digits, _ - .",
        ));
    }
    Ok(())
}

/// A password: 8 to 128 characters.
pub fn check_password(password: &str) -> Result<(), ApiError> {
    if !(8..=128).contains(&password.chars().count()) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidPassword,
            "password must be 8 to 128 characters long",
        ));
    }
    Ok(())
}

/// A chat message's text, normalised: line breaks as `\n`, trimmed; then 1 to 500 characters
/// (Unicode scalar values) with no control character but the newline.
pub fn chat_text(raw: &str) -> Result<String, ApiError> {
    let text = raw.replace("\r\n", "\n");
    let text = text.trim();
    let len = text.chars().count();
    if !(1..=500).contains(&len) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidLength,
            "text must be 1 to 500 characters long (after trimming)",
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid(
            ErrorCode::InvalidCharacters,
            "text must not contain control characters other than newlines",
        ));
    }
    Ok(text.to_owned())
}

/// The rules a case must meet before anything is written.
pub fn case_input(input: &CaseInput) -> Result<(), ApiError> {
    check_len("name", &input.name, 1, 100)?;
    check_range("price", input.price, 0, MAX_MONEY)?;
    check_len("image_url", &input.image_url, 0, 2048)?;
    let url = input.image_url.as_str();
    if !(url.is_empty()
        || url.starts_with("https://")
        || url.starts_with("http://")
        || url.starts_with('/'))
    {
        return Err(ApiError::invalid(
            ErrorCode::InvalidImageUrl,
            "image_url must be an http(s) URL or a path starting with /",
        ));
    }
    if input.items.is_empty() {
        return Err(ApiError::invalid(
            ErrorCode::NoItems,
            "a case needs at least one item",
        ));
    }
    if input.items.len() > 100 {
        return Err(ApiError::invalid(
            ErrorCode::TooManyItems,
            "a case holds at most 100 items",
        ));
    }
    for item in &input.items {
        check_len("item name", &item.name, 1, 100)?;
        check_range("item value", item.value, 0, MAX_MONEY)?;
        check_range("item weight", item.weight, 1, 1_000_000_000)?;
    }
    Ok(())
}

/// An account an admin creates.
pub fn create_user(req: &CreateUserRequest) -> Result<(), ApiError> {
    check_username(&req.username)?;
    check_password(&req.password)
}

/// An admin's change to a balance: not zero, within the money bounds, with a reason.
pub fn balance_adjust(req: &BalanceAdjustRequest) -> Result<(), ApiError> {
    if req.delta == 0 {
        return Err(ApiError::invalid(
            ErrorCode::ZeroDelta,
            "delta must not be zero",
        ));
    }
    check_range("delta", req.delta.saturating_abs(), 1, MAX_MONEY)?;
    check_len("reason", &req.reason, 1, 200)
}

/// An announcement's text.
pub fn announcement(req: &AnnouncementRequest) -> Result<(), ApiError> {
    check_len("text", &req.text, 1, 500)
}

/// A chat mute: 0 (lift it) to [`MAX_MUTE_MINUTES`], with an optional reason.
pub fn mute(req: &MuteRequest) -> Result<(), ApiError> {
    check_range("minutes", req.minutes, 0, MAX_MUTE_MINUTES)?;
    check_len("reason", &req.reason, 0, 200)
}

/// A SmartShell client's uuid: 1 to 64 letters, digits and `-` (SmartShell's are UUIDs).
pub fn client_uuid(uuid: &str) -> Result<(), ApiError> {
    let uuid = uuid.trim();
    check_len("client_uuid", uuid, 1, 64)?;
    if !uuid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::invalid(
            ErrorCode::InvalidCharacters,
            "client_uuid may hold letters, digits and - only",
        ));
    }
    Ok(())
}

/// A member's client seed: 1 to 64 printable ASCII characters (it is part of the message every
/// verifier hashes, so it must read the same everywhere).
pub fn client_seed(seed: &str) -> Result<(), ApiError> {
    if !(1..=64).contains(&seed.len()) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidLength,
            "client_seed must be 1 to 64 characters long",
        ));
    }
    if !seed.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidCharacters,
            "client_seed may hold printable ASCII characters only",
        ));
    }
    Ok(())
}

/// A payment from the billing system.
pub fn topup(req: &TopupRequest) -> Result<(), ApiError> {
    check_len("payment_id", &req.payment_id, 1, 128)?;
    check_range("amount", req.amount, 1, MAX_MONEY)
}
