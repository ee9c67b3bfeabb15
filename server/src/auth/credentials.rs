//! Who is calling: the bearer token of `Authorization`, or, on the two read-only stream endpoints
//! only, the HttpOnly session cookie. Routes that change state read the bearer token alone, so a
//! cross-site form cannot act for a member (no CSRF).

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};

use super::token_hash;
use crate::error::ApiError;
use crate::store::{SessionUser, Store};

/// The name of the HttpOnly cookie login sets, scoped to `/v1/events`.
pub const SESSION_COOKIE: &str = "cyberhub_session";

/// The viewer of a stream request: the bearer token, else the session cookie, else anonymous. A token
/// that was presented but is not valid is an error, not a silent downgrade to the anonymous stream:
/// the client must learn that it is signed out.
pub async fn stream_viewer(
    store: &Store,
    headers: &HeaderMap,
) -> Result<Option<SessionUser>, ApiError> {
    let token = match bearer(headers)? {
        Some(token) => Some(token),
        None => session_cookie(headers),
    };
    match token {
        Some(token) => Ok(Some(session(store, &token).await?)),
        None => Ok(None),
    }
}

/// The session of `token`; an unknown, expired or revoked one is 401.
pub async fn session(store: &Store, token: &str) -> Result<SessionUser, ApiError> {
    store
        .session_user(&token_hash(token))
        .await?
        .ok_or(ApiError::Unauthenticated)
}

/// The token of `Authorization: Bearer <token>`; another scheme or a blank token is 401.
pub fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(ApiError::Unauthenticated),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, token)| token.to_owned())
        .filter(|token| !token.is_empty())
}
