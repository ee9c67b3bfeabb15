//! Operations: `/health`, `/metrics`, and the per-route request metrics behind them.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cyberhub_protocol::Health;

use super::AppState;
use super::extract::Json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
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

/// Prometheus text format.
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.run_upkeep();
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
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
