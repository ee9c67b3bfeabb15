//! The public types that are not wire types: transport choice, connection state, hook metadata, the
//! refetched state of a resync, and the transport's notices.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cyberhub_protocol::{Case, ChatMessage, InventoryItem, SyncReason, User};

/// How the client receives events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Transport {
    /// SSE first; long-poll when streaming is refused, fails or is buffered, and back to SSE once a
    /// background probe gets through.
    #[default]
    Auto,
    /// SSE only, never long-poll.
    Sse,
    /// Long-poll only.
    Poll,
}

/// The transport in use (or being attempted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// `GET /v1/events`, a Server-Sent Events stream.
    Sse,
    /// `GET /v1/events/poll`, long-polling.
    Poll,
}

impl TransportKind {
    /// `sse` or `poll`, as the conformance suite and the TypeScript SDK spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Sse => "sse",
            TransportKind::Poll => "poll",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Sse => "SSE",
            TransportKind::Poll => "long-poll",
        })
    }
}

/// Where the connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    /// Started, nothing answered yet.
    Connecting,
    /// A stream delivered `ready`, or a long-poll answered.
    Connected,
    /// It was connected once and is trying again (after a failure, a restart, a revoked token).
    Reconnecting,
    /// Not started, or closed.
    Closed,
}

impl ConnectionStatus {
    /// `connecting`, `connected`, `reconnecting` or `closed`, as the TypeScript SDK spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "connecting",
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Reconnecting => "reconnecting",
            ConnectionStatus::Closed => "closed",
        }
    }
}

/// `client.connection_state()` and the argument of `on_connection_change`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionState {
    /// Where the connection stands.
    pub state: ConnectionStatus,
    /// The transport in use or being attempted; `None` before `connect()` and after `close()`.
    pub transport: Option<TransportKind>,
}

impl ConnectionState {
    /// The state of a client that is not running.
    pub const CLOSED: ConnectionState = ConnectionState {
        state: ConnectionStatus::Closed,
        transport: None,
    };
}

impl fmt::Display for ConnectionState {
    /// `connected over SSE`, `reconnecting over long-poll`, `closed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Some(t) => write!(f, "{} over {t}", self.state.as_str()),
            None => f.write_str(self.state.as_str()),
        }
    }
}

/// The second argument of every event hook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMeta {
    /// The outbox id of the event: the resume point and the key of exactly-once delivery. For calls
    /// made from a resync it is the id of the `sync:required` that caused them.
    pub id: i64,
    /// Set only on calls made from refetched state after `sync:required`: the whole snapshot, so a
    /// list kept by id can replace itself (removals that happened meanwhile have no event left).
    pub resync: Option<Arc<ResyncSnapshot>>,
}

impl EventMeta {
    /// Whether this call comes from refetched state rather than from a wire event.
    pub fn is_resync(&self) -> bool {
        self.resync.is_some()
    }
}

/// The state the client refetched after `sync:required`; a part it could not load is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResyncSnapshot {
    /// Why the server could not resume the cursor.
    pub reason: SyncReason,
    /// `GET /v1/me`, when the client has a token.
    pub me: Option<User>,
    /// `GET /v1/me/inventory` (newest first), when the client has a token.
    pub inventory: Option<Vec<InventoryItem>>,
    /// `GET /v1/cases`.
    pub cases: Option<Vec<Case>>,
    /// `GET /v1/chat/messages`: the newest page, newest first.
    pub chat: Option<Vec<ChatMessage>>,
}

/// What the transport is doing beyond the [`ConnectionState`], for logs and `cyberhub-watch`
/// (`on_transport_notice`). The `cause` texts are for people, not for matching.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportNotice {
    /// The next attempt on `transport` starts after `delay`.
    Retrying {
        /// The transport of the next attempt.
        transport: TransportKind,
        /// The wait: the server's `retry:` floor (or `Retry-After`) plus the backoff's random share.
        delay: Duration,
        /// Why the last attempt ended.
        cause: String,
    },
    /// `Auto` could not stream and goes on over long-poll at once; SSE is probed again after
    /// `probe_in`.
    FellBack {
        /// Why streaming did not get through.
        cause: String,
        /// When the first background SSE probe starts (after the first poll answered).
        probe_in: Duration,
    },
    /// A background SSE probe did not deliver `ready`; the next one starts after `next_probe_in`.
    ProbeFailed {
        /// Why the probe ended.
        cause: String,
        /// The delay before the next probe (doubling up to 5 minutes).
        next_probe_in: Duration,
    },
}

impl fmt::Display for TransportNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportNotice::Retrying {
                transport,
                delay,
                cause,
            } => write!(
                f,
                "reconnecting over {transport} in {:.1} s ({cause})",
                delay.as_secs_f64()
            ),
            TransportNotice::FellBack { cause, probe_in } => write!(
                f,
                "fell back to long-poll ({cause}); trying SSE again in {:.1} s",
                probe_in.as_secs_f64()
            ),
            TransportNotice::ProbeFailed {
                cause,
                next_probe_in,
            } => write!(
                f,
                "SSE probe failed ({cause}); next probe in {:.1} s",
                next_probe_in.as_secs_f64()
            ),
        }
    }
}
