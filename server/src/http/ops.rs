//! Operations: `/health`, `/metrics`, and the per-route request metrics behind them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cyberhub_protocol::Health;
use sha2::{Digest, Sha256};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Json;
use super::openapi::Errors;
use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;

/// `/health`, and `/metrics` unless it has a listener of its own.
pub fn router(config: &Config) -> OpenApiRouter<AppState> {
    let router = OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(openapi_json));
    if config.metrics_listen.is_some() {
        router
    } else {
        router.routes(routes!(metrics_text))
    }
}

/// `/metrics` alone (on `CYBERHUB_METRICS_LISTEN` when that is set).
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", axum::routing::get(metrics_text))
}

/// `{"status":"ok","stream":"active","clients":N,...}` as in the seed; 503 when the database fails.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, body = Health, description = "Up; open stream connections and the database's state"),
        (status = 503, body = Health, description = "The database does not answer, or refuses writes")
    ))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database = state.store.health().await;
    let database_ok = database.is_ok();
    let (sse, poll) = state.hub.client_counts();
    let health = Health {
        status: if database_ok { "ok" } else { "degraded" }.into(),
        stream: if state.hub.is_running() && !state.shutdown.is_cancelled() {
            "active"
        } else {
            "stopping"
        }
        .into(),
        clients: sse + poll,
        sse_clients: sse,
        poll_clients: poll,
        database: database.as_str().into(),
        last_event_id: state.hub.head(),
        version: env!("CARGO_PKG_VERSION").into(),
        billing: state.billing.status(),
    };
    let status = if database_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

/// Prometheus text format; with `CYBERHUB_METRICS_TOKEN` set, only for `Authorization: Bearer`
/// with that token.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String, description = "Prometheus text format"), Errors))]
async fn metrics_text(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = state
        .config
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compared as digests, so the time taken says nothing about the token.
        if Sha256::digest(presented.as_bytes()) != Sha256::digest(token.as_bytes()) {
            return Err(ApiError::Unauthenticated);
        }
    }
    state.metrics.run_upkeep();
    Ok((
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    ))
}

/// The OpenAPI document, rendered once when the router is built.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<str>);

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, content_type = "application/json", body = Object, description = "The OpenAPI 3.1 document"), Errors))]
async fn openapi_json(Extension(document): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [("content-type", "application/json")],
        document.0.to_string(),
    )
}

/// Counts requests and their latency (to the response head) by method, matched route and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    record_request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Counts one request and its latency; the SSE fast path, which bypasses the middleware, calls it too.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("cyberhub_http_requests_total", &labels).increment(1);
    metrics::histogram!("cyberhub_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
}
