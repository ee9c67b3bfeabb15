//! The stable codes of `{"error":{"code","message"}}`: what a client branches on. The server can
//! answer only with these; both SDKs get them typed (a TypeScript literal union, a Rust enum), and a
//! code this version does not know (a newer server, a proxy's page) passes through as
//! [`ErrorCode::Other`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Defines [`ErrorCode`] with each code's wire name written once: the enum, `as_str` and the list.
macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, )*) => {
        /// A stable, snake_case error code.
        #[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq, Hash)]
        #[ts(export)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* #[serde(rename = $name)] $variant, )*
            /// A code this version does not know, kept as it was sent.
            #[serde(untagged)]
            #[ts(skip)]
            Other(String),
        }

        impl ErrorCode {
            /// Every code this version knows.
            pub const KNOWN: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire name (`insufficient_funds`).
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $name, )*
                    ErrorCode::Other(name) => name,
                }
            }
        }
    };
}

error_codes! {
    /// No valid bearer token (or session cookie, on the streams): sign in (again).
    Unauthenticated = "unauthenticated",
    /// Wrong username or password.
    BadCredentials = "bad_credentials",
    /// The route needs an admin.
    Forbidden = "forbidden",
    /// The top-up webhook's signature is missing or wrong.
    BadSignature = "bad_signature",
    /// No such thing (a case, an item of this member, a message, a route).
    NotFound = "not_found",
    /// The balance does not cover the price.
    InsufficientFunds = "insufficient_funds",
    /// Over a rate limit; `Retry-After` says when to try again.
    RateLimited = "rate_limited",
    /// Too many password checks waiting; try again in a second.
    Busy = "busy",
    /// Muted in the chat until `until`.
    ChatMuted = "chat_muted",
    /// The server failed; nothing was changed.
    Internal = "internal",
    /// The database cannot be reached right now; nothing was changed.
    DatabaseUnavailable = "database_unavailable",
    /// The server holds as many streams or polls as it may.
    ServerFull = "server_full",
    /// This account has as many streams open as it may.
    TooManyStreams = "too_many_streams",
    /// This address (or the server) has as many connections open as it may.
    TooManyConnections = "too_many_connections",
    /// The top-up webhook has no secret configured.
    TopupNotConfigured = "topup_not_configured",
    /// The username is taken.
    UsernameTaken = "username_taken",
    /// The same chat message again within the duplicate window.
    DuplicateMessage = "duplicate_message",
    /// The balance would exceed the largest supported amount.
    BalanceLimit = "balance_limit",
    /// The case has no items to draw.
    CaseEmpty = "case_empty",
    /// The member's seed pair changed while this request was made (another rotation): fetch it
    /// and try again.
    SeedsChanged = "seeds_changed",
    /// A payment id already credited with another user or amount.
    PaymentMismatch = "payment_mismatch",
    /// The body is not JSON.
    InvalidJson = "invalid_json",
    /// The body is JSON of the wrong shape.
    InvalidBody = "invalid_body",
    /// A path parameter is malformed.
    InvalidPath = "invalid_path",
    /// A query parameter is malformed.
    InvalidQuery = "invalid_query",
    /// The long-poll timeout is not a whole number of seconds.
    InvalidTimeout = "invalid_timeout",
    /// The resume cursor is not a non-negative event id.
    InvalidLastEventId = "invalid_last_event_id",
    /// A username breaks its rules (3 to 32 letters, digits, `_ - .`).
    InvalidUsername = "invalid_username",
    /// A password breaks its rules (8 to 128 characters).
    InvalidPassword = "invalid_password",
    /// A text is too short or too long.
    InvalidLength = "invalid_length",
    /// A text has control characters.
    InvalidCharacters = "invalid_characters",
    /// A case's image is neither an http(s) URL nor a path.
    InvalidImageUrl = "invalid_image_url",
    /// A number that must not be negative is.
    NegativeValue = "negative_value",
    /// A case without items.
    NoItems = "no_items",
    /// A case with more than 100 items.
    TooManyItems = "too_many_items",
    /// A number outside its range.
    OutOfRange = "out_of_range",
    /// A balance adjustment of zero.
    ZeroDelta = "zero_delta",
    /// The SmartShell client is linked to another member already.
    SmartshellClientLinked = "smartshell_client_linked",
    /// The route does not take that method.
    MethodNotAllowed = "method_not_allowed",
    /// The body is larger than the server accepts.
    PayloadTooLarge = "payload_too_large",
    /// The request took too long to arrive or to answer.
    RequestTimeout = "request_timeout",
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type",
}

/// In the OpenAPI document: a string, one of the known codes (the server sends no other).
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A stable, snake_case error code."))
            .enum_values(Some(ErrorCode::KNOWN.iter().map(ErrorCode::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_travel_as_their_snake_case_names_and_unknown_ones_pass_through() {
        for code in ErrorCode::KNOWN {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(&serde_json::from_str::<ErrorCode>(&json).unwrap(), code);
        }
        let future: ErrorCode = serde_json::from_str("\"from_the_future\"").unwrap();
        assert_eq!(future, ErrorCode::Other("from_the_future".into()));
        assert_eq!(
            serde_json::to_string(&future).unwrap(),
            "\"from_the_future\""
        );
        assert_eq!(
            ErrorCode::InsufficientFunds.to_string(),
            "insufficient_funds"
        );
    }

    #[test]
    fn the_typescript_type_is_the_union_of_the_known_names() {
        let ts = ErrorCode::decl(&ts_rs::Config::default());
        for code in ErrorCode::KNOWN {
            assert!(ts.contains(&format!("\"{}\"", code.as_str())), "{ts}");
        }
        assert!(
            !ts.contains("string"),
            "unknown codes widen the union: {ts}"
        );
    }
}
