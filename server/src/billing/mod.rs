//! The billing bridge: a member's payment in the club's SmartShell reaches their CyberHub balance,
//! exactly once, without any webhook (SmartShell has none). One task polls SmartShell's GraphQL API
//! ([`smartshell`]) every few seconds ([`poller`]), reads the top-ups of the club's open work shift
//! (and of a shift that closed since the last poll, and of every shift since the last one read
//! when the node starts), and hands each batch to the store, which credits each payment once by
//! SmartShell's own payment id and stores the bridge's position in the same transaction.
//!
//! On PostgreSQL with several nodes, one node polls at a time: it holds a lease (an advisory lock
//! on a connection of its own) that the database frees when the node dies, and another node takes
//! over within a poll interval or two. Idempotency does not rest on the lease: two pollers at once
//! would still credit each payment once.
//!
//! Unconfigured, nothing runs and `/health` says `billing: off`.

mod poller;
pub mod smartshell;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cyberhub_protocol::{BillingState, BillingStatus};
use time::UtcOffset;
use time::macros::format_description;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::{Store, now_ms};
use smartshell::{Credentials, SmartShell};

/// What counts as a top-up, and where the club's clock stands.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Item types whose sum is credited (SmartShell's `PaymentItemType`; default `DEPOSIT`).
    pub topup_items: Vec<String>,
    /// Payment methods never credited (default `DEPOSIT` and `BONUS`: paying from the club
    /// balance or bonus is spending it, not topping it up).
    pub ignored_methods: Vec<String>,
    /// The club's UTC offset, in which SmartShell writes times.
    pub offset: UtcOffset,
}

/// The bridge's state as `/health` shows it; shared by the poller and the routes.
#[derive(Clone)]
pub struct Monitor(Arc<Mutex<BillingStatus>>);

impl Monitor {
    fn new(state: BillingState) -> Monitor {
        Monitor(Arc::new(Mutex::new(BillingStatus {
            state,
            last_success_at: None,
            last_error: None,
        })))
    }

    /// The bridge as it stands.
    pub fn status(&self) -> BillingStatus {
        self.0.lock().expect("billing status lock").clone()
    }

    fn set(&self, change: impl FnOnce(&mut BillingStatus)) {
        change(&mut self.0.lock().expect("billing status lock"));
    }

    fn succeeded(&self) {
        self.set(|s| {
            s.state = BillingState::Ok;
            s.last_success_at = Some(now_ms());
            s.last_error = None;
        });
    }

    fn failed(&self, error: String) {
        self.set(|s| {
            s.state = BillingState::Degraded;
            s.last_error = Some(error);
        });
    }

    fn standby(&self) {
        self.set(|s| {
            s.state = BillingState::Standby;
            s.last_error = None;
        });
    }
}

/// A configured bridge, ready to run.
pub struct Bridge {
    smartshell: SmartShell,
    club: i64,
    interval: Duration,
    rules: Rules,
    monitor: Monitor,
}

/// The bridge the settings describe: `None` (with an `off` monitor) when SmartShell is not
/// configured; an error names what is missing or wrong.
pub fn from_config(config: &Config) -> anyhow::Result<(Option<Bridge>, Monitor)> {
    let Some(url) = config.smartshell_url.clone().filter(|u| !u.is_empty()) else {
        return Ok((None, Monitor::new(BillingState::Off)));
    };
    let club = config.smartshell_club_id.ok_or_else(|| {
        anyhow::anyhow!(
            "CYBERHUB_SMARTSHELL_URL is set: CYBERHUB_SMARTSHELL_CLUB_ID must name the club"
        )
    })?;
    let credentials = match (&config.smartshell_login, &config.smartshell_password) {
        (Some(login), Some(password)) => Some(Credentials {
            login: login.clone(),
            password: password.clone(),
        }),
        (None, None) => None,
        _ => {
            anyhow::bail!("CYBERHUB_SMARTSHELL_LOGIN and CYBERHUB_SMARTSHELL_PASSWORD go together")
        }
    };
    anyhow::ensure!(
        credentials.is_some() || config.smartshell_token.is_some(),
        "CYBERHUB_SMARTSHELL_URL is set: give CYBERHUB_SMARTSHELL_LOGIN and _PASSWORD, or a \
         CYBERHUB_SMARTSHELL_TOKEN"
    );
    let offset = UtcOffset::parse(
        &config.smartshell_utc_offset,
        format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "CYBERHUB_SMARTSHELL_UTC_OFFSET {:?} is not an offset like +03:00: {e}",
            config.smartshell_utc_offset
        )
    })?;
    let upper = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let rules = Rules {
        topup_items: upper(&config.smartshell_topup_items),
        ignored_methods: upper(&config.smartshell_ignored_methods),
        offset,
    };
    anyhow::ensure!(
        !rules.topup_items.is_empty(),
        "CYBERHUB_SMARTSHELL_TOPUP_ITEMS names no item type"
    );
    let smartshell = SmartShell::new(
        url,
        club,
        config.smartshell_token.clone(),
        credentials,
        Duration::from_secs(config.smartshell_timeout_secs.max(1)),
    )?;
    let monitor = Monitor::new(BillingState::Standby);
    let bridge = Bridge {
        smartshell,
        club,
        interval: Duration::from_millis(config.smartshell_poll_interval_ms.max(100)),
        rules,
        monitor: monitor.clone(),
    };
    Ok((Some(bridge), monitor))
}

impl Bridge {
    /// Polls until `shutdown`.
    pub fn spawn(self, store: Store, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tracing::info!(
            club = self.club,
            interval_ms = self.interval.as_millis() as u64,
            "billing bridge to SmartShell starting"
        );
        tokio::spawn(poller::run(self, store, shutdown))
    }
}
