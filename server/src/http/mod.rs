//! The HTTP surface: one router per resource, merged once, with the shared layers.

mod admin;
mod auth;
mod billing;
mod cases;
mod chat;
pub mod client_ip;
mod deadline;
mod drops;
pub mod extract;
mod fairness;
pub mod headers;
mod me;
mod openapi;
mod ops;
mod stream;
pub mod validate;
pub mod web;
pub mod webhooks;

pub use ops::{metrics_router, record_request};

use cyberhub_protocol::ErrorCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, COOKIE, HeaderName, SET_COOKIE};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;
use openapi::ApiDoc;

/// Every route but the two stream endpoints, with its OpenAPI description: the router and the
/// document are built from the same attributes, so they cannot drift apart.
fn timed_routes(config: &Config) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(me::router())
        .merge(fairness::router())
        .merge(cases::router())
        .merge(chat::router())
        .merge(drops::router())
        .merge(admin::router())
        .merge(billing::router())
        .merge(webhooks::router())
        .merge(ops::router(config))
}

/// The OpenAPI document as `/openapi.json` serves it (and `openapi.json` in the repository holds
/// it for the default settings).
pub fn openapi_json(config: &Config) -> String {
    let mut document = timed_routes(config).into_openapi();
    document.merge(stream::router().into_openapi());
    document.to_pretty_json().expect("the document serializes")
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let document = ops::OpenApiJson(Arc::from(openapi_json(&state.config)));
    let (timed, _) = timed_routes(&state.config).split_for_parts();
    let (streams, _) = stream::router().split_for_parts();
    Router::new()
        .merge(timed)
        // Every route so far; the two stream endpoints, merged next, hold requests open on purpose.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            deadline::limit,
        ))
        .merge(streams)
        .layer(axum::Extension(document))
        .fallback(web::service(&state.config))
        .method_not_allowed_fallback(|| async {
            ApiError::BadRequest {
                status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
                code: ErrorCode::MethodNotAllowed,
                message: "this route does not accept that method".into(),
            }
        })
        .layer(axum::middleware::from_fn(ops::track))
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        // Security headers and CORS, one policy with the fast path's (headers.rs).
        .layer(axum::middleware::from_fn_with_state(
            state.headers.clone(),
            headers::apply,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        // Tokens, cookies and webhook signatures never reach the logs.
        .layer(SetSensitiveHeadersLayer::new([
            AUTHORIZATION,
            COOKIE,
            SET_COOKIE,
            HeaderName::from_static(webhooks::SIGNATURE_HEADER),
        ]))
        .with_state(state)
}
