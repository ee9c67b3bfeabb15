//! Login and logout.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse};
use cyberhub_protocol::{LoginRequest, LoginResponse};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::client_ip::ClientIp;
use super::extract::{AuthUser, Json};
use super::openapi::Errors;
use crate::auth::credentials::SESSION_COOKIE;
use crate::auth::{new_token, token_hash};
use crate::error::ApiError;
use crate::limits::username_key;
use crate::state::AppState;
use crate::store::now_ms;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
}

/// Checks the password, opens a session and returns its token. The token is also set as an HttpOnly
/// cookie limited to `/v1/events`, for a browser's native `EventSource`, which cannot send headers.
///
/// Attempts are limited per client address and per username before any hashing, and the check
/// itself waits its turn at the password gate (503 when too many wait). Known and unknown names
/// cost the same check.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "Signed in; also sets the session cookie"), Errors))]
#[tracing::instrument(skip_all, fields(username = %req.username, client = %client.0))]
async fn login(
    State(state): State<AppState>,
    client: ClientIp,
    Json(req): Json<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state.limits.login_ip.check(&client.0)?;
    state
        .limits
        .login_user
        .check(&username_key(&req.username))?;
    let found = state.store.user_with_password(&req.username).await?;
    let stored_hash = found.as_ref().map(|(_, hash)| hash.clone());
    let ok = state.passwords.verify(req.password, stored_hash).await?;
    let Some((user, _)) = found.filter(|_| ok) else {
        return Err(ApiError::BadCredentials);
    };
    let token = new_token();
    let ttl = state.config.session_ttl_secs;
    state
        .store
        .create_session(&token_hash(&token), user.id, now_ms() + ttl as i64 * 1000)
        .await?;
    tracing::info!(user_id = user.id, "logged in");
    let cookie = session_cookie(&token, ttl, state.config.cookie_secure);
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(LoginResponse { token, user }),
    ))
}

/// Revokes the session of the presented bearer token, ends its open streams and long-polls, and
/// clears the cookie.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Signed out; the token's streams end"), Errors))]
async fn logout(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<impl IntoResponse, ApiError> {
    let hash = token_hash(&caller.token);
    state.store.delete_session(&hash).await?;
    // Streams opened with this token end now (on other servers, within a second).
    state.hub.revoke_session(&hash);
    let cookie = session_cookie("", 0, state.config.cookie_secure);
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, cookie)]),
    ))
}

fn session_cookie(token: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/v1/events; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}
