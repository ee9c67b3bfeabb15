//! CyberHub realtime server: the CyberHub API and its live event stream.
//!
//! - [`store`]: the database (SQLite, the embedded default, or PostgreSQL for several nodes), with
//!   every visible change written as an event row in the same transaction (the outbox);
//! - [`hub`]: reads the outbox once, encodes each event once and fans it out to open feeds; knows
//!   nothing of HTTP;
//! - [`stream`]: one SSE stream or one long-poll over a hub feed, whichever path carries it;
//! - [`http`]: the axum routes (the two stream endpoints among them, thin over [`stream`]) and the
//!   headers every answer carries;
//! - [`net`]: the accept loop, which serves SSE streams and long-polls straight on the socket and
//!   hands every other request to hyper and axum;
//! - [`state`]: what every request and task shares; [`limits`]: rate limits and connection caps;
//! - [`billing`]: the bridge that polls the club's SmartShell and credits its top-ups;
//! - [`auth`], [`config`], [`error`], [`demo`]: passwords, tokens and credentials, settings, the
//!   HTTP error type, the demo seed and the demo members' activity.
//!
//! `main` parses the configuration and calls [`App::build`] then [`App::serve`]; tests do the same on
//! port 0.

pub mod auth;
pub mod billing;
pub mod config;
pub mod demo;
pub mod error;
pub mod fairness_key;
/// The fuzz targets' entry points: only in tests and in builds for `fuzz/`.
#[cfg(any(test, feature = "fuzz-targets"))]
pub mod fuzz_targets;
pub mod http;
pub mod hub;
pub mod limits;
pub mod net;
pub mod state;
pub mod store;
pub mod stream;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::PasswordGate;
use crate::config::Config;
use crate::hub::{Hub, HubConfig};
use crate::limits::Limits;
use crate::state::AppState;
use crate::store::{FairOpenings, Sealer, Store, now_ms};

/// How long the password gate keeps its argon2 blocks (19 MiB each) after the last check: logins
/// come in bursts, and between them the server need not hold a block per core.
const PASSWORD_MEMORY_QUIET: Duration = Duration::from_secs(60);

/// A built server: state and background tasks, ready to serve on a listener.
pub struct App {
    pub state: AppState,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl App {
    /// Opens the database (applying migrations) and starts the hub and the retention task.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let headers = Arc::new(http::headers::HeaderPolicy::new(&config)?);
        let (bridge, billing) = billing::from_config(&config)?;
        let store = Store::open(&config.database_url).await?;
        let key = fairness_key::resolve(&config, &store).await?;
        store
            .enable_openings(FairOpenings {
                sealer: Arc::new(Sealer::new(key)),
                reveal_ms: config.drop_reveal_ms as i64,
            })
            .await?;
        let shutdown = CancellationToken::new();
        let hub_config = HubConfig {
            heartbeat: config.heartbeat(),
            global_capacity: 4096,
            // Per-user traffic is light; a feed that falls further behind reads the table.
            user_capacity: 8,
            recent_capacity: config.replay_memory_events,
            replay_max: config.replay_max_events,
        };
        let (hub, hub_task) = Hub::start(store.clone(), hub_config, shutdown.clone()).await?;
        let pruner = tokio::spawn(prune_loop(hub.clone(), config.clone(), shutdown.clone()));
        let limits = Arc::new(Limits::new(&config));
        let passwords = PasswordGate::new(config.password_concurrency(), config.password_queue);
        let trimmer = tokio::spawn(forget_idle_loop(
            limits.clone(),
            passwords.clone(),
            shutdown.clone(),
        ));
        let scheduler = tokio::spawn(schedule_loop(store.clone(), shutdown.clone()));
        let mut tasks = vec![hub_task, pruner, trimmer, scheduler];
        if let Some(bridge) = bridge {
            tasks.push(bridge.spawn(store.clone(), shutdown.clone()));
        }
        let state = AppState {
            store,
            hub,
            config: Arc::new(config),
            shutdown,
            metrics: metrics_handle(),
            limits,
            passwords,
            headers,
            billing,
        };
        Ok(App { state, tasks })
    }

    /// Serves until `state.shutdown` is cancelled, then lets open requests finish (streams end at
    /// once with a jittered `retry:` hint), bounded by the configured grace period.
    pub async fn serve(self, listener: TcpListener) -> anyhow::Result<()> {
        let state = self.state.clone();
        http::web::log_presence(&state.config);
        if let Some(addr) = state.config.metrics_listen {
            let metrics = net::bind(addr).map_err(|e| anyhow::anyhow!("binding {addr}: {e}"))?;
            let router = http::metrics_router().with_state(state.clone());
            let shutdown = state.shutdown.clone();
            tokio::spawn(async move {
                let serving = axum::serve(metrics, router)
                    .with_graceful_shutdown(async move { shutdown.cancelled().await });
                if let Err(e) = serving.await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        net::serve(listener, state.clone(), http::router(state.clone())).await;
        for task in self.tasks {
            let _ = task.await;
        }
        state.store.close().await;
        Ok(())
    }
}

async fn prune_loop(hub: Hub, config: Config, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(config.prune_interval_secs.max(1)));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if let Err(e) = hub
            .prune(config.retention_max_age(), config.retention_max_events)
            .await
        {
            tracing::error!(error = %e, "retention run failed");
        }
        // Expired sessions go (their streams have already ended); revocation records are kept a
        // day, long enough for every server on the database to have read them.
        if let Err(e) = hub.store().prune_sessions(24 * 3600 * 1000).await {
            tracing::error!(error = %e, "session cleanup failed");
        }
    }
}

/// Publishes scheduled events (drops after their reveal delay) when they fall due, those due
/// within `SCHEDULE_BATCH_MS` of each other in one transaction (a busy feed's drops go out a few
/// dozen at a time, not one transaction each); it looks at least every second, for events
/// another node scheduled or the clock moved.
async fn schedule_loop(store: Store, shutdown: CancellationToken) {
    const SCHEDULE_BATCH_MS: i64 = 20;
    loop {
        let wait = match store.publish_due().await {
            Ok(Some(due)) => (due - now_ms()).clamp(SCHEDULE_BATCH_MS, 1_000),
            Ok(None) => 1_000,
            Err(e) => {
                tracing::warn!(error = %e, "publishing scheduled events failed; retrying");
                1_000
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = store.scheduled_before(now_ms() + wait) => {}
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
}

/// Keeps the rate limiters' memory to the clients active lately.
async fn forget_idle_loop(
    limits: Arc<Limits>,
    passwords: PasswordGate,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {
                limits.forget_idle();
                passwords.release_idle(PASSWORD_MEMORY_QUIET);
            }
        }
    }
}

/// The process-wide Prometheus recorder, installed on first use (tests build several apps in one
/// process; they share it).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .expect("static buckets are valid")
                .set_buckets_for_metric(
                    Matcher::Full("cyberhub_store_batch_requests".into()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
                )
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}
