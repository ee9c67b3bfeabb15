//! The Rust client of CyberHub realtime, for the club's desktop client (Tauri, egui, a service):
//! typed calls for every REST endpoint, one hook per protocol event, fed by an SSE stream with a
//! long-poll fallback, exactly once across reconnects, server restarts and transport switches. It
//! behaves as the TypeScript SDK (`sdk-ts/`) does, and both pass the same conformance scenarios
//! (`conformance/`).
//!
//! ```no_run
//! use cyberhub_sdk::{Client, Transport};
//! use cyberhub_sdk::protocol::ErrorCode;
//!
//! # async fn run() -> Result<(), cyberhub_sdk::Error> {
//! let client = Client::builder("http://club.example:3000")
//!     .transport(Transport::Auto) // Auto (default) | Sse | Poll
//!     .build()?;
//! client.login("alice", "alice-demo-1").await?; // or .token(saved) on the builder
//!
//! // Every hook returns a Subscription: dropped or cancelled, the hook is gone.
//! let balance = client.on_balance_updated(|e, meta| {
//!     println!("balance {} (event {})", e.balance, meta.id);
//! });
//! let indicator = client.on_connection_change(|s| println!("{s}")); // "connected over SSE"
//!
//! client.connect().await; // resolves once the starting position is fixed
//! match client.open_case(1).await {
//!     Ok(opened) => println!("won {}", opened.item.name),
//!     Err(e) if e.api_code() == Some(&ErrorCode::InsufficientFunds) => println!("top up first"),
//!     Err(e) => return Err(e),
//! }
//! let resume_from = client.last_event_id(); // save it; Client::builder(..).last_event_id(id)
//! client.close().await; // the stream task has ended; no hook runs after this
//! # drop((balance, indicator, resume_from));
//! # Ok(())
//! # }
//! ```
//!
//! # Hooks and threads
//!
//! Hooks are `FnMut + Send + 'static` and run on the client's tokio runtime (the one `build()` ran
//! in, or [`ClientBuilder::runtime`]): one firing task per client calls them in event order. Keep
//! them short and non-blocking; hand work to your UI thread (a channel, `egui::Context::request_repaint`)
//! or spawn a task. A hook that panics is reported and skipped; the stream goes on.
//! [`Client::events`] gives the same wire events as a `Stream`.
//!
//! Each hook gets its payload (the `cyberhub-protocol` types) and an [`EventMeta`]: the outbox id,
//! and after `sync:required` the refetched [`ResyncSnapshot`] (see below).
//!
//! # Transport
//!
//! - **SSE** on `GET /v1/events` with the bearer token and `Last-Event-ID`. The frames are parsed
//!   by the [`sse_stream`] crate (`SseByteStream` over reqwest's byte stream): a maintained,
//!   parser-only crate that follows the WHATWG rules (CRLF, split chunks, comments, `retry:`) and
//!   leaves reconnecting to us. `reqwest-eventsource`, the usual alternative, brings its own
//!   reconnect loop (which cannot do the fallback, the probe or the watchdog below) and is stuck on
//!   reqwest 0.12.
//! - **Starting position.** Without a resume id, `connect()` first asks the long-poll endpoint where
//!   the server stands (answered at once) and opens the stream from there, so an event committed
//!   after `connect()` is delivered even if that first stream never says `ready` and the client
//!   falls back.
//! - **Fallback** (`Transport::Auto`): a stream that is refused (not `200 text/event-stream`),
//!   fails, or delivers no `ready` within 3 s (a buffering proxy) is replaced at once by long-poll;
//!   SSE is probed again in the background (after 30 s when refused or buffered, doubling up to
//!   5 minutes; at once after a network error) and the client switches back once a probe delivers
//!   `ready`.
//! - **Reconnects** wait the server's `retry:` (a floor) plus a full-jitter share of
//!   `min(30 s, 1 s × 2^n)` ([`Backoff`]); a 429 or 503 with `Retry-After` raises the floor to it
//!   (and is not taken for a path that refuses streaming). A heartbeat watchdog ends a stream silent
//!   for two heartbeat intervals; a long-poll silent for its hold plus 3 s is abandoned likewise.
//! - **Exactly once.** Every source (stream, poll, probe) delivers in id order from a cursor no
//!   later than the client's, and the client drops every id at or below the last one it took.
//! - **`sync:required`** (the cursor is older than the server keeps, newer than its database, or
//!   too far behind): `on_sync_required` fires, the client refetches `me` and the inventory (with a
//!   token), the cases and the chat, and fires the usual hooks with that state and
//!   [`EventMeta::resync`] set: `on_balance_updated` once (`reason: sync`, `delta` from the last
//!   balance seen), `on_inventory_updated` `added` per item (oldest first), `on_cases_updated`
//!   `updated` per case, `on_chat_message` per message (oldest first). Live events that arrive
//!   meanwhile wait until it has been fired.
//! - **Session end.** A 401 on the stream or a poll means the session ended elsewhere (a logout on
//!   another device, `cyberhub user revoke`, expiry): the client forgets its token
//!   (`on_token_change(None)`: show a sign-in) and goes on anonymously at once from the same
//!   position, so the member's private events stop and the global ones keep coming, none repeated.
//!   `login` or [`Client::set_token`] resumes as that user.
//!
//! # `cyberhub-watch`
//!
//! The crate's binary prints a stream for operators: `cyberhub-watch --url URL [--token T |
//! --username U --password P] [--transport auto|sse|poll] [--last-event-id N] [--json]`.
//! Apps that embed the SDK can leave it out: `default-features = false, features = ["rustls"]`.
#![warn(missing_docs)]

mod backoff;
mod client;
mod dispatch;
mod error;
mod hooks;
mod link;
mod rest;
mod sse;
mod types;

pub use backoff::Backoff;
pub use client::{Admin, Client, ClientBuilder, Events, Started};
pub use error::{Error, Result};
pub use hooks::Subscription;
pub use rest::ChatHistoryQuery;
pub use types::{
    ConnectionState, ConnectionStatus, EventMeta, ResyncSnapshot, Transport, TransportKind,
    TransportNotice,
};

/// The protocol's wire types (`cyberhub-protocol`), re-exported: every payload a hook or call
/// returns.
pub use cyberhub_protocol as protocol;

/// Checks an opening (from [`Client::openings`]) against its revealed server seed: the seed must
/// hash to the commitment published before the opening, and the roll it gives (HMAC-SHA256 of
/// `"{client_seed}:{nonce}"` keyed by the seed) must draw the item that was won from the case's
/// items as they were then. The scheme is `cyberhub_protocol::fairness`, the same code the server
/// draws with; the TypeScript SDK's `verifyOpening` agrees with it on the vectors of
/// `conformance/fairness.json`.
pub fn verify_opening(opening: &protocol::Opening, server_seed: &str) -> protocol::Verification {
    protocol::fairness::verify(opening, server_seed)
}
