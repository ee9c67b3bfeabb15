//! Operations: `/health`, `/metrics`, and the per-route request metrics behind them.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cyberhub_protocol::Health;
use sha2::{Digest, Sha256};

use super::AppState;
use super::extract::Json;
use crate::config::Config;
use crate::error::ApiError;

/// `/health`, and `/metrics` unless it has a listener of its own.
pub fn router(config: &Config) -> Router<AppState> {
    let router = Router::new().route("/health", get(health));
    if config.metrics_listen.is_some() {
        router
    } else {
        router.merge(metrics_router())
    }
}

/// `/metrics` alone (on `CYBERHUB_METRICS_LISTEN` when that is set).
pub fn metrics_router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics_text))
}

/// `{"status":"ok","stream":"active","clients":N,...}` as in the seed; 503 when the database fails.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let database_ok = state.store.ping().await;
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
        database: if database_ok { "ok" } else { "error" }.into(),
        last_event_id: state.hub.head(),
        version: env!("CARGO_PKG_VERSION").into(),
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
