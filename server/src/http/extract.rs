//! Extractors: body, path and query wrappers whose rejections use the JSON error shape, and the
//! caller's identity from a bearer token ([`crate::auth::credentials`]).

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use cyberhub_protocol::Role;
use serde::Serialize;

use crate::auth::credentials::{bearer, session};
use crate::error::ApiError;
use crate::state::AppState;
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

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?.ok_or(ApiError::Unauthenticated)?;
        let user = session(&state.store, &token).await?;
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
