//! What every request, stream and background task of a running server shares: the store, the hub,
//! the settings, the limits and the shutdown signal. Built once by `App::build`; both the accept
//! loop (`net`) and the routes (`http`) take it from here.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use crate::auth::PasswordGate;
use crate::billing::Monitor;
use crate::config::Config;
use crate::http::headers::HeaderPolicy;
use crate::hub::Hub;
use crate::limits::Limits;
use crate::store::Store;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hub: Hub,
    pub config: Arc<Config>,
    /// Cancelled when the server begins to shut down; streams end on it.
    pub shutdown: CancellationToken,
    pub metrics: PrometheusHandle,
    pub limits: Arc<Limits>,
    /// Every password hash and check goes through it.
    pub passwords: PasswordGate,
    /// The security and CORS headers of every answer, on both paths.
    pub headers: Arc<HeaderPolicy>,
    /// How the billing bridge is doing (`off` when not configured).
    pub billing: Monitor,
}
