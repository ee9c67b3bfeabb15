//! Time limits for every request but the two stream endpoints: the body must arrive within
//! `CYBERHUB_BODY_TIMEOUT_SECS`, and the whole request must be answered within
//! `CYBERHUB_REQUEST_TIMEOUT_SECS`. A client that opens a request and sends its body a byte a minute
//! (or never) no longer holds a connection and a task for as long as it likes.
//!
//! The body is read here, up to the body limit, before the handler runs; handlers then extract it
//! from memory. A request cut off by the overall limit after its handler began writing may still
//! have committed: the limit is a safety net far above any handler's time, not a cancellation.

use cyberhub_protocol::ErrorCode;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// The middleware; see the module comment.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let config = &state.config;
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, config.body_limit_bytes);
    let bytes =
        match tokio::time::timeout(Duration::from_secs(config.body_timeout_secs), read).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => return body_error(e).into_response(),
            Err(_) => return timed_out("the request body did not arrive in time").into_response(),
        };
    let request = Request::from_parts(parts, Body::from(bytes));
    let left = Duration::from_secs(config.request_timeout_secs).saturating_sub(started.elapsed());
    match tokio::time::timeout(left, next.run(request)).await {
        Ok(response) => response,
        Err(_) => timed_out("the request took too long").into_response(),
    }
}

fn timed_out(message: &str) -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::REQUEST_TIMEOUT,
        code: ErrorCode::RequestTimeout,
        message: message.into(),
    }
}

fn body_error(err: axum::Error) -> ApiError {
    let too_large = std::error::Error::source(&err)
        .is_some_and(|e| e.is::<http_body_util::LengthLimitError>())
        || err
            .into_inner()
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
    if too_large {
        ApiError::BadRequest {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: ErrorCode::PayloadTooLarge,
            message: "the request body is larger than allowed".into(),
        }
    } else {
        ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            code: ErrorCode::InvalidBody,
            message: "the request body could not be read".into(),
        }
    }
}
