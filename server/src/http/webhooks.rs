//! The billing system's top-up webhook (SmartShell in the seed), signed with HMAC-SHA256.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use cyberhub_protocol::{ErrorCode, TopupRequest, TopupResponse};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Json;
use super::openapi::Errors;
use super::validate;
use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "x-cyberhub-signature";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(topup))
}

/// Verifies the signature over the raw bytes *before* parsing them, then credits the payment once.
#[utoipa::path(post, path = "/v1/webhooks/topup", tag = "billing", request_body = TopupRequest,
    params(("X-CyberHub-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body with the top-up secret>")),
    responses((status = 200, body = TopupResponse, description = "Credited once; a repeat gets the first answer"), Errors))]
#[tracing::instrument(skip_all)]
async fn topup(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<TopupResponse>, ApiError> {
    let body = body?;
    let Some(secret) = state
        .config
        .topup_secret
        .as_deref()
        .filter(|s| !s.is_empty())
    else {
        return Err(ApiError::Unavailable {
            code: ErrorCode::TopupNotConfigured,
            message: "top-ups are disabled: CYBERHUB_TOPUP_SECRET is not set".into(),
        });
    };
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let previous = state
        .config
        .topup_secret_previous
        .as_deref()
        .filter(|s| !s.is_empty());
    let signed = signature_valid(secret.as_bytes(), &body, signature)
        || previous.is_some_and(|old| signature_valid(old.as_bytes(), &body, signature));
    if !signed {
        tracing::warn!("top-up with a missing or invalid signature refused");
        return Err(ApiError::BadSignature);
    }
    let req: TopupRequest = serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
        status: axum::http::StatusCode::BAD_REQUEST,
        code: ErrorCode::InvalidJson,
        message: format!("invalid top-up body: {e}"),
    })?;
    validate::topup(&req)?;
    let answer = state.store.topup(&req).await?;
    tracing::info!(payment_id = %answer.payment_id, user_id = answer.user_id, amount = answer.amount, "top-up");
    Ok(Json(answer))
}

/// Constant-time check of `sha256=<hex>` against the HMAC of `body`.
pub fn signature_valid(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The header value a sender puts on `body` (used by tests, the demo and the README).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
