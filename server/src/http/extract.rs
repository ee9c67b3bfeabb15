//! Extractors: body, path and query wrappers whose rejections use the JSON error shape, and the
//! caller's identity from a bearer token (or, on the stream endpoints only, the session cookie).

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use cyberhub_protocol::Role;
use serde::Serialize;

use super::AppState;
use crate::auth::token_hash;
use crate::error::ApiError;
use crate::store::SessionUser;

/// `axum::Json` with JSON error bodies for malformed, mistyped or oversized input.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` with JSON error bodies.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` with JSON error bodies.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// The name of the HttpOnly cookie login sets, scoped to `/v1/events`.
pub const SESSION_COOKIE: &str = "cyberhub_session";

/// A signed-in caller, from `Authorization: Bearer <token>`. The cookie is deliberately not honoured
/// here: routes that change state must not be callable by a cross-site form (no CSRF).
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: SessionUser,
    /// The raw token, so logout can revoke exactly this session.
    pub token: String,
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub SessionUser);

/// Whoever opens a stream: a user (by bearer header or session cookie) or anonymous.
#[derive(Debug, Clone)]
pub struct StreamViewer(pub Option<SessionUser>);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?.ok_or(ApiError::Unauthenticated)?;
        let user = session(state, &token).await?;
        Ok(AuthUser { user, token })
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthUser { user, .. } = AuthUser::from_request_parts(parts, state).await?;
        if user.role != Role::Admin {
            return Err(ApiError::Forbidden);
        }
        Ok(AdminUser(user))
    }
}

impl FromRequestParts<AppState> for StreamViewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(StreamViewer(stream_viewer(state, &parts.headers).await?))
    }
}

/// The viewer of a stream request: the bearer token, else the session cookie, else anonymous. A token
/// that was presented but is not valid is an error, not a silent downgrade to the anonymous stream:
/// the client must learn that it is signed out.
pub async fn stream_viewer(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SessionUser>, ApiError> {
    let token = match bearer(headers)? {
        Some(token) => Some(token),
        None => session_cookie(headers),
    };
    match token {
        Some(token) => Ok(Some(session(state, &token).await?)),
        None => Ok(None),
    }
}

async fn session(state: &AppState, token: &str) -> Result<SessionUser, ApiError> {
    state
        .store
        .session_user(&token_hash(token))
        .await?
        .ok_or(ApiError::Unauthenticated)
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
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
