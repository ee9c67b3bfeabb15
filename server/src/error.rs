//! The one error type of the HTTP boundary: each variant is an outcome a client can see, and every
//! answer carries `{"error":{"code":"...","message":"..."}}`.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cyberhub_protocol::{ErrorBody, ErrorCode, ErrorDetail};

use crate::limits::Refused;
use crate::store::{StoreError, now_ms};

/// A Unix-ms time as an HTTP date, for messages people read.
fn http_date(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    httpdate::fmt_http_date(at)
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is well-formed but a value is not acceptable (422).
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// The request itself could not be read: bad JSON, bad path or query, bad header (4xx as given).
    #[error("{message}")]
    BadRequest {
        status: StatusCode,
        code: ErrorCode,
        message: String,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    BadCredentials,
    #[error("this requires an admin")]
    Forbidden,
    #[error("missing or invalid signature")]
    BadSignature,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds { balance: i64, needed: i64 },
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    #[error("{message}")]
    Unavailable { code: ErrorCode, message: String },
    /// Over a rate limit: 429 with `Retry-After`; nothing was done.
    #[error("too many requests: try again in {} s", .0.retry_after_secs())]
    RateLimited(Refused),
    /// A cap is reached (streams of one user, streams or waiting polls in all): answered at once,
    /// with `Retry-After`.
    #[error("{message}")]
    Full {
        status: StatusCode,
        code: ErrorCode,
        message: String,
        retry_after: u64,
    },
    /// Too much work waiting (password checks): 503 with `Retry-After`.
    #[error("the server is busy: try again in a second")]
    Busy,
    /// Muted in the chat until `until` (Unix ms): 403.
    #[error("you are muted in the chat until {}: {reason}", http_date(*until))]
    Muted { until: i64, reason: String },
    /// Anything else: logged here once, answered as an opaque 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 422 for a value that breaks a rule.
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::Invalid {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        match self {
            ApiError::Invalid { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code.clone()),
            ApiError::BadRequest { status, code, .. } => (*status, code.clone()),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, ErrorCode::Unauthenticated),
            ApiError::BadCredentials => (StatusCode::UNAUTHORIZED, ErrorCode::BadCredentials),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, ErrorCode::Forbidden),
            ApiError::BadSignature => (StatusCode::UNAUTHORIZED, ErrorCode::BadSignature),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            ApiError::InsufficientFunds { .. } => {
                (StatusCode::CONFLICT, ErrorCode::InsufficientFunds)
            }
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code.clone()),
            ApiError::Unavailable { code, .. } => (StatusCode::SERVICE_UNAVAILABLE, code.clone()),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited),
            ApiError::Busy => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Busy),
            ApiError::Full { status, code, .. } => (*status, code.clone()),
            ApiError::Muted { .. } => (StatusCode::FORBIDDEN, ErrorCode::ChatMuted),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "internal server error".to_owned()
            }
            other => other.to_string(),
        };
        let until = match &self {
            ApiError::Muted { until, .. } => Some(*until),
            ApiError::RateLimited(refused) => {
                Some(now_ms() + refused.retry_after.as_millis() as i64)
            }
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                until,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match &self {
            ApiError::RateLimited(refused) => Some(refused.retry_after_secs()),
            ApiError::Busy => Some(1),
            ApiError::Full { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::InsufficientFunds { balance, needed } => {
                ApiError::InsufficientFunds { balance, needed }
            }
            StoreError::Conflict { code, message } => ApiError::Conflict { code, message },
            StoreError::Muted { until, reason } => ApiError::Muted { until, reason },
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "the database is unavailable");
                ApiError::Unavailable {
                    code: ErrorCode::DatabaseUnavailable,
                    message: "the database is unavailable; try again shortly".into(),
                }
            }
            StoreError::Storage(fault) => {
                tracing::warn!(%fault, "a write was refused by the database's storage");
                ApiError::Unavailable {
                    code: ErrorCode::DatabaseUnavailable,
                    message: format!(
                        "{fault}: writes are refused until the operator fixes it; reads and \
                         streams go on"
                    ),
                }
            }
            StoreError::Db(e) => ApiError::Internal(anyhow::anyhow!(e)),
        }
    }
}

impl From<crate::auth::Busy> for ApiError {
    fn from(_: crate::auth::Busy) -> ApiError {
        ApiError::Busy
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> ApiError {
        ApiError::RateLimited(refused)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let code = match &rejection {
            JsonRejection::JsonSyntaxError(_) => ErrorCode::InvalidJson,
            JsonRejection::JsonDataError(_) => ErrorCode::InvalidBody,
            JsonRejection::MissingJsonContentType(_) => ErrorCode::UnsupportedMediaType,
            JsonRejection::BytesRejection(_) => body_code(rejection.status()),
            _ => ErrorCode::InvalidBody,
        };
        ApiError::BadRequest {
            status: rejection.status(),
            code,
            message: rejection.body_text(),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        ApiError::BadRequest {
            status: rejection.status(),
            code: body_code(rejection.status()),
            message: rejection.body_text(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::BadRequest {
            status: rejection.status(),
            code: ErrorCode::InvalidPath,
            message: rejection.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::BadRequest {
            status: rejection.status(),
            code: ErrorCode::InvalidQuery,
            message: rejection.body_text(),
        }
    }
}

fn body_code(status: StatusCode) -> ErrorCode {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ErrorCode::PayloadTooLarge
    } else {
        ErrorCode::InvalidBody
    }
}
