//! The one error type of the SDK: every refused or failed call returns an [`Error`].

use std::time::Duration;

use cyberhub_protocol::{ErrorBody, ErrorCode};

/// A call the server refused, one that got no answer, or an answer the SDK could not read.
///
/// [`Error::status`] and [`Error::code`] give the same pair for every variant, so code that only
/// branches on the error needs no `match` on the variants; [`Error::api_code`] gives the server's
/// code typed, for an exhaustive `match`:
///
/// ```
/// use cyberhub_sdk::protocol::ErrorCode;
/// # fn show(error: &cyberhub_sdk::Error) -> &'static str {
/// match error.api_code() {
///     Some(ErrorCode::InsufficientFunds) => "top up first",
///     Some(ErrorCode::RateLimited) => "slow down",
///     None if error.code() == "network_error" => "offline?",
///     _ => "something went wrong",
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server (or a proxy in front of it) answered with a status outside 2xx. `Display` names
    /// both: `404 not_found: case not found`.
    #[error("{status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's stable code (`insufficient_funds`, `not_found`, ...): a code this version
        /// does not know passes through as [`ErrorCode::Other`], and so does `http_<status>` when
        /// the body was not the server's JSON error (a proxy's error page).
        code: ErrorCode,
        /// The server's human-readable message.
        message: String,
        /// The `Retry-After` header of a 429 or 503, when there was one.
        retry_after: Option<Duration>,
        /// For a refusal that ends by itself (a chat mute, a rate limit): when it ends, Unix ms.
        until: Option<i64>,
    },
    /// The request got no answer: connection refused or reset, DNS, a timeout.
    #[error("network_error: {message}")]
    Network {
        /// What went wrong, as the HTTP stack says it.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A 2xx answer whose body is not what the endpoint promises.
    #[error("{status} invalid_response: {message}")]
    InvalidResponse {
        /// The HTTP status of the answer.
        status: u16,
        /// Why it could not be read.
        message: String,
    },
    /// The client was built with an unusable setting (a bad URL, no tokio runtime).
    #[error("invalid_config: {0}")]
    Config(String),
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status, or 0 when no answer came (or the client was misconfigured).
    pub fn status(&self) -> u16 {
        match self {
            Error::Api { status, .. } | Error::InvalidResponse { status, .. } => *status,
            Error::Network { .. } | Error::Config(_) => 0,
        }
    }

    /// The server's error code; `network_error`, `invalid_response` or `invalid_config` for the
    /// failures that have none.
    pub fn code(&self) -> &str {
        match self {
            Error::Api { code, .. } => code.as_str(),
            Error::Network { .. } => "network_error",
            Error::InvalidResponse { .. } => "invalid_response",
            Error::Config(_) => "invalid_config",
        }
    }

    /// The server's error code, typed; `None` for the failures that got no answer from it.
    pub fn api_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// How long the server asked to wait before trying again (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether trying again later may succeed: no answer, a 5xx, or a 429.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } => true,
            Error::Api { status, .. } => *status >= 500 || *status == 429,
            Error::InvalidResponse { .. } | Error::Config(_) => false,
        }
    }

    pub(crate) fn network(error: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Network {
            message: describe(&error),
            source: Some(Box::new(error)),
        }
    }

    /// Builds the error of a non-2xx answer from its status, `Retry-After` header and body.
    pub(crate) fn from_answer(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Error {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => Error::Api {
                status,
                code: error.code,
                message: error.message,
                retry_after,
                until: error.until,
            },
            // Not the server's JSON (a proxy's HTML page): keep a status-derived code.
            Err(_) => Error::Api {
                status,
                code: ErrorCode::Other(format!("http_{status}")),
                message: reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_owned(),
                retry_after,
                until: None,
            },
        }
    }
}

/// An error and its causes on one line (reqwest's own message is often just "error sending request").
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Reads `Retry-After` as whole seconds (the form the server sends; an HTTP date is ignored).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: u64 = value.trim().parse().ok()?;
    (secs > 0).then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_names_status_and_code() {
        let body = br#"{"error":{"code":"not_found","message":"case not found"}}"#;
        let error = Error::from_answer(404, None, body);
        assert_eq!(error.to_string(), "404 not_found: case not found");
        assert_eq!((error.status(), error.code()), (404, "not_found"));
        assert!(!error.is_transient());
    }

    #[test]
    fn a_proxy_page_gets_a_status_code() {
        let error = Error::from_answer(502, None, b"<html>Bad Gateway</html>");
        assert_eq!(error.code(), "http_502");
        assert_eq!(error.to_string(), "502 http_502: Bad Gateway");
        assert!(error.is_transient());
    }

    #[test]
    fn retry_after_and_until_are_kept() {
        let body = br#"{"error":{"code":"rate_limited","message":"slow down","until":1234}}"#;
        let error = Error::from_answer(429, Some(Duration::from_secs(3)), body);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
        assert!(matches!(
            error,
            Error::Api {
                until: Some(1234),
                ..
            }
        ));
        assert!(error.is_transient());
    }
}
