//! Command line and environment: every setting is a flag and an environment variable
//! (listed with its default in `.env.example`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

mod values;

pub use values::{IpRange, Pace, RateRule, RateRules};

/// CyberHub realtime: the CyberHub API with a live event stream (SSE and long-poll).
#[derive(Debug, Parser)]
#[command(name = "cyberhub", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default command).
    Serve {
        /// On an empty database, create an admin, two users and three cases, and print the logins;
        /// then let the demo members play (see --demo-activity).
        #[arg(long)]
        demo: bool,
        /// With --demo: the mean time between two actions of the demo members (openings, sales,
        /// chat), e.g. `3s` or `1500ms`; `off` for none. Without --demo nothing of it runs.
        #[arg(long, env = "CYBERHUB_DEMO_ACTIVITY", default_value = "3s")]
        demo_activity: Pace,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add {
        name: String,
        #[arg(long)]
        password: String,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
    /// Sign an account out everywhere: every session ends, and a running server ends its open
    /// streams within a second.
    Revoke { name: String },
    /// Link an account to a client of the club's SmartShell: its payments there are credited here
    /// (those that waited for the link at once).
    Link {
        name: String,
        /// The client's uuid in SmartShell.
        #[arg(long)]
        smartshell_client: String,
    },
    /// Remove an account's link to SmartShell.
    Unlink { name: String },
}

/// Server settings.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "CYBERHUB_LISTEN",
        default_value = "0.0.0.0:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Database URL; the embedded default is a SQLite file under ./data/.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/cyberhub.db",
        global = true
    )]
    pub database_url: String,

    /// Shared secret of the billing system's top-up webhook (HMAC-SHA256). Unset: the webhook refuses
    /// every call.
    #[arg(
        long,
        env = "CYBERHUB_TOPUP_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub topup_secret: Option<String>,

    /// The previous top-up secret, still accepted while the billing system switches to the new one
    /// (rotation without refused payments). Unset once the switch is done.
    #[arg(
        long,
        env = "CYBERHUB_TOPUP_SECRET_PREVIOUS",
        hide_env_values = true,
        global = true
    )]
    pub topup_secret_previous: Option<String>,

    /// Seconds between heartbeat comments on open streams.
    #[arg(
        long,
        env = "CYBERHUB_HEARTBEAT_SECS",
        default_value_t = 15,
        global = true
    )]
    pub heartbeat_secs: u64,

    /// Reconnect delay (`retry:`) advised to SSE clients, in milliseconds.
    #[arg(long, env = "CYBERHUB_RETRY_MS", default_value_t = 2000, global = true)]
    pub retry_ms: u64,

    /// A global event that arrives within this many milliseconds of a stream's last write waits out
    /// the window and goes with everything else that arrived in it: bounds writes per stream under a
    /// flood. The viewer's own events never wait. 0 turns it off.
    #[arg(
        long,
        env = "CYBERHUB_STREAM_LINGER_MS",
        default_value_t = 50,
        global = true
    )]
    pub stream_linger_ms: u64,

    /// On shutdown, streams advise a reconnect delay of retry_ms plus a random share of this many
    /// milliseconds, so clients do not all come back in the same instant.
    #[arg(
        long,
        env = "CYBERHUB_SHUTDOWN_RETRY_SPREAD_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub shutdown_retry_spread_ms: u64,

    /// How long graceful shutdown waits for connections to finish before it gives up, in seconds.
    #[arg(
        long,
        env = "CYBERHUB_SHUTDOWN_GRACE_SECS",
        default_value_t = 10,
        global = true
    )]
    pub shutdown_grace_secs: u64,

    /// Long-poll wait when the client names none, in seconds.
    #[arg(
        long,
        env = "CYBERHUB_POLL_TIMEOUT_SECS",
        default_value_t = 25,
        global = true
    )]
    pub poll_timeout_secs: u64,

    /// The longest long-poll wait a client may ask for, in seconds.
    #[arg(
        long,
        env = "CYBERHUB_POLL_MAX_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub poll_max_timeout_secs: u64,

    /// Keep events at most this many seconds (resuming from an older id gets `sync:required`).
    #[arg(long, env = "CYBERHUB_RETENTION_MAX_AGE_SECS", default_value_t = 7 * 24 * 3600, global = true)]
    pub retention_max_age_secs: u64,

    /// Keep at most this many of the newest events.
    #[arg(
        long,
        env = "CYBERHUB_RETENTION_MAX_EVENTS",
        default_value_t = 1_000_000,
        global = true
    )]
    pub retention_max_events: i64,

    /// How many of the newest events the hub keeps in memory, so resuming clients replay without a
    /// database query (older cursors replay from the table).
    #[arg(
        long,
        env = "CYBERHUB_REPLAY_MEMORY_EVENTS",
        default_value_t = 8192,
        global = true
    )]
    pub replay_memory_events: usize,

    /// The furthest behind the newest event a resuming (or lagging) client may be replayed from;
    /// further back it gets `sync:required` (too_far_behind) and refetches instead, so one
    /// connection's replay is bounded work.
    #[arg(
        long,
        env = "CYBERHUB_REPLAY_MAX_EVENTS",
        default_value_t = 10_000,
        global = true
    )]
    pub replay_max_events: i64,

    /// Seconds between retention runs.
    #[arg(
        long,
        env = "CYBERHUB_PRUNE_INTERVAL_SECS",
        default_value_t = 60,
        global = true
    )]
    pub prune_interval_secs: u64,

    /// Lifetime of a login session, in seconds.
    #[arg(long, env = "CYBERHUB_SESSION_TTL_SECS", default_value_t = 30 * 24 * 3600, global = true)]
    pub session_ttl_secs: u64,

    /// The server is reached over TLS (terminated in front of it): the session cookie is marked
    /// `Secure` and answers carry `Strict-Transport-Security`.
    #[arg(
        long,
        env = "CYBERHUB_COOKIE_SECURE",
        default_value_t = false,
        global = true
    )]
    pub cookie_secure: bool,

    /// Who may show the live page in a frame: `'none'` (nobody), `'self'`, or origins separated by
    /// spaces (a club's own portal that embeds the page, e.g. `https://portal.club.example`).
    #[arg(
        long,
        env = "CYBERHUB_FRAME_ANCESTORS",
        default_value = "'none'",
        global = true
    )]
    pub frame_ancestors: String,

    /// `Strict-Transport-Security` max-age, in seconds, sent when CYBERHUB_COOKIE_SECURE says the
    /// server is reached over TLS (never on plain HTTP); 0: not sent.
    #[arg(
        long,
        env = "CYBERHUB_HSTS_MAX_AGE_SECS",
        default_value_t = 31_536_000,
        global = true
    )]
    pub hsts_max_age_secs: u64,

    /// Origins allowed to call the API from a browser (comma-separated); empty: same origin only.
    #[arg(
        long,
        env = "CYBERHUB_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "CYBERHUB_BODY_LIMIT_BYTES", default_value_t = 64 * 1024, global = true)]
    pub body_limit_bytes: usize,

    /// A directory served at `/` (the club's live page, built by `npm run build` in web/); nothing is
    /// served when it does not exist. API routes always win.
    #[arg(
        long,
        env = "CYBERHUB_WEB_DIR",
        default_value = "web/dist",
        global = true
    )]
    pub web_dir: std::path::PathBuf,

    /// Open connections (streams included) one client address may hold; 0: no per-address cap.
    /// A trusted proxy is held to the total only.
    #[arg(
        long,
        env = "CYBERHUB_MAX_CONNECTIONS_PER_IP",
        default_value_t = 256,
        global = true
    )]
    pub max_connections_per_ip: usize,

    /// Open connections in all; 0: as many as the process's file limit allows, less a reserve for
    /// the database and the runtime. More are refused at once (503) rather than failing `accept`.
    #[arg(
        long,
        env = "CYBERHUB_MAX_CONNECTIONS",
        default_value_t = 0,
        global = true
    )]
    pub max_connections: usize,

    /// The kernel send buffer of each connection, in bytes (the kernel doubles it for its
    /// bookkeeping): what a client that stops reading can pin in kernel memory. 0: the kernel's
    /// self-tuning default, which grows to megabytes.
    #[arg(
        long,
        env = "CYBERHUB_SEND_BUFFER_BYTES",
        default_value_t = 64 * 1024,
        global = true
    )]
    pub send_buffer_bytes: usize,

    /// Seconds a write to a client may make no progress before the connection is closed: a stream
    /// whose reader stopped reading ends, and the client resumes later from its Last-Event-ID.
    #[arg(
        long,
        env = "CYBERHUB_WRITE_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub write_timeout_secs: u64,

    /// Seconds a request may take to send its whole body; then 408.
    #[arg(
        long,
        env = "CYBERHUB_BODY_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub body_timeout_secs: u64,

    /// Seconds any request but the two stream endpoints may take in all; then 408.
    #[arg(
        long,
        env = "CYBERHUB_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// SSE streams one client address may open (rules COUNT/PERIOD, or `off`).
    #[arg(
        long,
        env = "CYBERHUB_STREAM_RATE_IP",
        default_value = "120/1m",
        global = true
    )]
    pub stream_rate_ip: RateRules,

    /// SSE streams one user may open.
    #[arg(
        long,
        env = "CYBERHUB_STREAM_RATE_USER",
        default_value = "30/1m",
        global = true
    )]
    pub stream_rate_user: RateRules,

    /// Long-polls per client address (a poll client asks again after every answer).
    #[arg(
        long,
        env = "CYBERHUB_POLL_RATE_IP",
        default_value = "600/1m",
        global = true
    )]
    pub poll_rate_ip: RateRules,

    /// Long-polls per user.
    #[arg(
        long,
        env = "CYBERHUB_POLL_RATE_USER",
        default_value = "300/1m",
        global = true
    )]
    pub poll_rate_user: RateRules,

    /// Streams and waiting long-polls one user may hold open at once (a tab-sharing browser needs
    /// one, the desktop client one more).
    #[arg(
        long,
        env = "CYBERHUB_MAX_STREAMS_PER_USER",
        default_value_t = 16,
        global = true
    )]
    pub max_streams_per_user: usize,

    /// SSE streams open at once in all; 0: bounded by the connection cap alone.
    #[arg(long, env = "CYBERHUB_MAX_STREAMS", default_value_t = 0, global = true)]
    pub max_streams: usize,

    /// Long-polls waiting at once in all.
    #[arg(
        long,
        env = "CYBERHUB_MAX_POLL_WAITERS",
        default_value_t = 10_000,
        global = true
    )]
    pub max_poll_waiters: usize,

    /// Case openings, sales and other writes one user may make.
    #[arg(
        long,
        env = "CYBERHUB_WRITE_RATE_USER",
        default_value = "20/1s,600/1m",
        global = true
    )]
    pub write_rate_user: RateRules,

    /// Proxies whose `X-Forwarded-For` names the client (comma-separated addresses or CIDR ranges,
    /// e.g. the nginx in front). Requests from anywhere else are keyed on their own address.
    #[arg(
        long,
        env = "CYBERHUB_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<IpRange>,

    /// Password checks running at once (each takes a core and 19 MiB for ~50 ms); 0: one per core.
    #[arg(
        long,
        env = "CYBERHUB_PASSWORD_CONCURRENCY",
        default_value_t = 0,
        global = true
    )]
    pub password_concurrency: usize,

    /// Logins that may wait for a password check; past that a login is answered 503 with
    /// Retry-After at once.
    #[arg(
        long,
        env = "CYBERHUB_PASSWORD_QUEUE",
        default_value_t = 8,
        global = true
    )]
    pub password_queue: usize,

    /// Login attempts per client address (rules COUNT/PERIOD, comma-separated, or `off`).
    #[arg(
        long,
        env = "CYBERHUB_LOGIN_RATE_IP",
        default_value = "10/1m,100/1h",
        global = true
    )]
    pub login_rate_ip: RateRules,

    /// Login attempts per username, from anywhere.
    #[arg(
        long,
        env = "CYBERHUB_LOGIN_RATE_USER",
        default_value = "5/1m,30/1h",
        global = true
    )]
    pub login_rate_user: RateRules,

    /// Chat messages one user may send: comma-separated rules COUNT/PERIOD (a burst of COUNT,
    /// refilled at COUNT per PERIOD), or `off`.
    #[arg(
        long,
        env = "CYBERHUB_CHAT_RATE",
        default_value = "5/10s,30/1m",
        global = true
    )]
    pub chat_rate: RateRules,

    /// Serve `/metrics` on this address instead of the main one (e.g. 127.0.0.1:9100, reachable by
    /// the monitoring only). Unset: on the main address.
    #[arg(long, env = "CYBERHUB_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// Require `Authorization: Bearer <this>` on `/metrics`. Unset: no token.
    #[arg(
        long,
        env = "CYBERHUB_METRICS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub metrics_token: Option<String>,

    /// Milliseconds a drop waits before everyone's feed shows it (the length of the page's
    /// roulette), so nobody sees the result before the member who opened the case; 0: at once.
    #[arg(
        long,
        env = "CYBERHUB_DROP_REVEAL_MS",
        default_value_t = 5000,
        global = true
    )]
    pub drop_reveal_ms: u64,

    /// The key that seals unrevealed server seeds of provably fair openings (64 hex digits), kept
    /// outside the database so a dump of it does not reveal them. Every node of one database needs
    /// the same. Unset: read from (or created in) CYBERHUB_FAIRNESS_KEY_FILE.
    #[arg(
        long,
        env = "CYBERHUB_FAIRNESS_KEY",
        hide_env_values = true,
        global = true
    )]
    pub fairness_key: Option<String>,

    /// A file holding the fairness key, created (readable by the server's user only) when missing.
    /// Unset: `fairness.key` beside the SQLite database file; on PostgreSQL, with neither set, the
    /// key is kept in the database itself (and the server warns: set CYBERHUB_FAIRNESS_KEY).
    #[arg(long, env = "CYBERHUB_FAIRNESS_KEY_FILE", global = true)]
    pub fairness_key_file: Option<std::path::PathBuf>,

    /// The club's SmartShell GraphQL endpoint, e.g. `https://billing.smartshell.gg/api/graphql`.
    /// Set, the billing bridge polls it for top-ups; unset, nothing runs (`billing: off`).
    #[arg(long, env = "CYBERHUB_SMARTSHELL_URL", global = true)]
    pub smartshell_url: Option<String>,

    /// The club in SmartShell (its company id): the `login` is for this club, and its payments
    /// are credited under it.
    #[arg(long, env = "CYBERHUB_SMARTSHELL_CLUB_ID", global = true)]
    pub smartshell_club_id: Option<i64>,

    /// The staff login the bridge signs in with (SmartShell uses the phone number).
    #[arg(long, env = "CYBERHUB_SMARTSHELL_LOGIN", global = true)]
    pub smartshell_login: Option<String>,

    /// The staff password.
    #[arg(
        long,
        env = "CYBERHUB_SMARTSHELL_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub smartshell_password: Option<String>,

    /// An access token to start with, instead of (or before) signing in with the login.
    #[arg(
        long,
        env = "CYBERHUB_SMARTSHELL_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub smartshell_token: Option<String>,

    /// Milliseconds between two polls of SmartShell: a payment reaches the member within about
    /// this long.
    #[arg(
        long,
        env = "CYBERHUB_SMARTSHELL_POLL_INTERVAL_MS",
        default_value_t = 3000,
        global = true
    )]
    pub smartshell_poll_interval_ms: u64,

    /// The payment item types that count as a top-up (SmartShell's `PaymentItemType`, comma-
    /// separated): their sums are credited.
    #[arg(
        long,
        env = "CYBERHUB_SMARTSHELL_TOPUP_ITEMS",
        value_delimiter = ',',
        default_value = "DEPOSIT",
        global = true
    )]
    pub smartshell_topup_items: Vec<String>,

    /// Payment methods never credited (SmartShell's `PaymentMethod`, comma-separated): paying from
    /// the club balance or bonus spends it, it does not top it up.
    #[arg(
        long,
        env = "CYBERHUB_SMARTSHELL_IGNORED_METHODS",
        value_delimiter = ',',
        default_value = "DEPOSIT,BONUS",
        global = true
    )]
    pub smartshell_ignored_methods: Vec<String>,

    /// The club's UTC offset, in which SmartShell writes times (`+03:00`: Moscow).
    #[arg(
        long,
        env = "CYBERHUB_SMARTSHELL_UTC_OFFSET",
        default_value = "+03:00",
        global = true
    )]
    pub smartshell_utc_offset: String,

    /// Seconds any request to SmartShell may take.
    #[arg(
        long,
        env = "CYBERHUB_SMARTSHELL_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub smartshell_timeout_secs: u64,

    /// Log format: `text` or `json`. Levels come from RUST_LOG (default `info`).
    #[arg(
        long,
        env = "CYBERHUB_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: String,
}

impl Config {
    /// The defaults, as if no flag or variable were set.
    pub fn defaults() -> Config {
        Cli::parse_from(["cyberhub"]).config
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs.max(1))
    }

    pub fn write_timeout(&self) -> Duration {
        Duration::from_secs(self.write_timeout_secs.max(1))
    }

    /// How many password checks run at once: the setting, or one per core.
    pub fn password_concurrency(&self) -> usize {
        match self.password_concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }

    pub fn retention_max_age(&self) -> Duration {
        Duration::from_secs(self.retention_max_age_secs)
    }
}
