//! The OpenAPI 3.1 document of the API, generated from the handlers' `#[utoipa::path]` attributes
//! and the wire types' `ToSchema` derives, served at `/openapi.json` and committed as
//! `openapi.json` at the top of the repository (a test keeps the file current).

use std::collections::BTreeMap;

use cyberhub_protocol::{ErrorBody, ErrorDetail};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{IntoResponses, Modify, OpenApi};

/// The document's fixed parts: title, description, security schemes, tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "CyberHub realtime",
        description = "The CyberHub API (accounts, loot cases, wallet, chat) and its live event stream: \
            Server-Sent Events with Last-Event-ID resume, and a long-poll fallback. Money is an integer \
            count of kopecks; timestamps are Unix milliseconds. Every error carries \
            {\"error\":{\"code\",\"message\"}}; a refused request changes nothing."
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Logins and sessions"),
        (name = "me", description = "The signed-in member's account"),
        (name = "cases", description = "Loot cases"),
        (name = "chat", description = "The club chat"),
        (name = "admin", description = "Administration"),
        (name = "billing", description = "The billing system's webhook"),
        (name = "events", description = "The live event stream"),
        (name = "operations", description = "Health, metrics and this document")
    )
)]
pub struct ApiDoc;

/// Adds what the derive cannot: the security schemes and the shared error responses.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The token from POST /v1/auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "cyberhub_session",
                "Set by login; honoured on the two stream endpoints only",
            ))),
        );
        for (name, response) in error_responses() {
            components.responses.insert(name, RefOr::T(response));
        }
    }
}

/// The error answers any route may give, each with the JSON error body: what a client must be
/// ready for. (A route gives only those that apply to it; the list is the same everywhere so that
/// no possible answer goes undocumented.) Each is described once, under `components/responses`.
pub struct Errors;

const ERRORS: [(&str, &str); 12] = [
    (
        "400",
        "The request could not be read: bad JSON, path, query or header",
    ),
    (
        "401",
        "Authentication required, or a bad token, password or signature",
    ),
    ("403", "Not allowed: an admin route, or muted in the chat"),
    ("404", "No such thing"),
    (
        "408",
        "The body, or the whole request, did not arrive in time",
    ),
    (
        "409",
        "Conflicts with the current state (funds, duplicates, a taken name)",
    ),
    ("413", "The body is larger than allowed"),
    ("415", "The body is not JSON"),
    ("422", "A value breaks a rule"),
    ("429", "Over a rate limit or cap; see Retry-After"),
    ("500", "An internal failure"),
    ("503", "Busy, full or not configured; see Retry-After"),
];

fn error_name(status: &str) -> String {
    format!("Error{status}")
}

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        ERRORS
            .iter()
            .map(|(status, _)| {
                let reference = Ref::from_response_name(error_name(status));
                (status.to_string(), RefOr::Ref(reference))
            })
            .collect()
    }
}

/// The error responses themselves, for `components/responses`.
fn error_responses() -> impl Iterator<Item = (String, Response)> {
    ERRORS.iter().map(|(status, description)| {
        let response = ResponseBuilder::new()
            .description(*description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        (error_name(status), response)
    })
}
