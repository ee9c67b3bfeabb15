//! [`Client`]: the typed REST calls, the hooks, and the stream task that feeds them, put together.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use cyberhub_protocol::{
    Announcement, AnnouncementResponse, BalanceAdjustResponse, BalanceUpdated, Case, CaseInput,
    CasesUpdated, ChatDeleted, ChatMessage, ChatMuteStatus, ChatMuted, CreateUserRequest, DropNew,
    Fairness, InventoryItem, InventoryUpdated, LoginResponse, MuteResponse, OpenCaseResponse,
    Opening, RecentDrop, SeedRotation, SellResponse, ServerEvent, SyncRequired, User,
};
use futures_util::Stream;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::dispatch::Dispatcher;
use crate::error::{Error, Result};
use crate::hooks::{Hooks, Subscription, lock};
use crate::link::{Link, LinkOptions, StateCell};
use crate::rest::{ChatHistoryQuery, Rest};
use crate::types::{ConnectionState, ConnectionStatus, EventMeta, Transport, TransportNotice};

/// Builds a [`Client`]; from [`Client::builder`]. Only the URL is required.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    token: Option<String>,
    last_event_id: Option<i64>,
    link: LinkOptions,
    request_timeout: Duration,
    connect_timeout: Duration,
    runtime: Option<Handle>,
}

impl ClientBuilder {
    /// A bearer token from an earlier login; or call [`Client::login`] later.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// `Auto` (default), `Sse` only, or `Poll` only.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.link.mode = transport;
        self
    }

    /// Resume after this outbox id instead of starting where the server stands at `connect()`
    /// (pass a saved [`Client::last_event_id`]).
    pub fn last_event_id(mut self, id: i64) -> Self {
        self.last_event_id = Some(id);
        self
    }

    /// How long a fresh SSE stream may take to deliver `ready` before `Auto` falls back to long-poll
    /// (default 3 s); also the grace a long-poll gets beyond its hold.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.link.ready_timeout = timeout;
        self
    }

    /// Reconnect when no byte arrives for this many heartbeat intervals (default 2).
    pub fn watchdog_heartbeats(mut self, heartbeats: u32) -> Self {
        self.link.watchdog_heartbeats = heartbeats.max(1);
        self
    }

    /// The long-poll hold asked of the server, in seconds (default 25).
    pub fn poll_timeout_secs(mut self, secs: u64) -> Self {
        self.link.poll_timeout_secs = secs;
        self
    }

    /// The delay before `Auto` tries SSE again after streaming was refused or buffered (default
    /// 30 s, doubling per failed probe up to 5 minutes).
    pub fn sse_retry(mut self, delay: Duration) -> Self {
        self.link.sse_retry = delay;
        self
    }

    /// Reconnect backoff (default base 1 s, cap 30 s); the server's `retry:` is added as a floor.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.link.backoff = backoff;
        self
    }

    /// The time limit of one REST call (default 30 s). Streams and long-polls have their own.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The time limit of opening a TCP (and TLS) connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The tokio runtime that runs the stream task. Default: the runtime `build()` is called in.
    /// Apps whose UI thread is not a runtime thread (egui, a plain `main`) pass one here.
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Builds the client. Nothing is sent until a call, `login()` or `connect()`.
    ///
    /// Fails with [`Error::Config`] for a URL that is not `http(s)://...`, or when no runtime was
    /// given and `build()` runs outside one.
    pub fn build(self) -> Result<Client> {
        let parsed = reqwest::Url::parse(&self.url)
            .map_err(|e| Error::Config(format!("bad server URL {:?}: {e}", self.url)))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(Error::Config(format!(
                "bad server URL {:?}: want http(s)://host[:port][/prefix]",
                self.url
            )));
        }
        let runtime = match self.runtime {
            Some(handle) => handle,
            None => Handle::try_current().map_err(|_| {
                Error::Config(
                    "no tokio runtime: call build() inside one, or pass .runtime(handle)".into(),
                )
            })?,
        };
        let http_client = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .user_agent(concat!("cyberhub-sdk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        // A path prefix is kept; the trailing slash goes, since every path starts with one.
        let base = parsed.as_str().trim_end_matches('/').to_owned();
        let hooks = Arc::new(Hooks::new());
        let http = Arc::new(Rest::new(
            base,
            http_client,
            self.token,
            self.request_timeout,
        ));
        Ok(Client {
            inner: Arc::new(Inner {
                dispatcher: Arc::new(Dispatcher::new(hooks.clone(), self.last_event_id)),
                state: Arc::new(StateCell::new(hooks.clone())),
                hooks,
                http,
                link: self.link,
                runtime,
                sessions: Mutex::new(Sessions::default()),
            }),
        })
    }
}

/// The CyberHub client: typed calls for every REST endpoint, one hook per protocol event, and the
/// stream (SSE, or long-poll) that feeds them exactly once.
///
/// Cloning is cheap and gives another handle to the same client (same token, hooks and stream).
/// When the last handle is dropped the stream task is stopped; [`Client::close`] stops it and waits.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: Arc<Rest>,
    hooks: Arc<Hooks>,
    dispatcher: Arc<Dispatcher>,
    state: Arc<StateCell>,
    link: LinkOptions,
    runtime: Handle,
    sessions: Mutex<Sessions>,
}

#[derive(Default)]
struct Sessions {
    /// `connect()` was called and `close()` not since.
    running: bool,
    /// The newest session, running or being stopped.
    current: Option<Session>,
}

struct Session {
    stop: CancellationToken,
    started: watch::Receiver<bool>,
    done: watch::Receiver<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(session) = &lock(&self.sessions).current {
            session.stop.cancel();
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.http.base())
            .field("state", &self.connection_state())
            .field("last_event_id", &self.last_event_id())
            .finish_non_exhaustive()
    }
}

/// Resolves once the starting position of the stream is fixed: every event committed after that
/// reaches the hooks. Returned by [`Client::connect`]; awaiting it is optional.
#[derive(Debug)]
pub struct Started {
    started: watch::Receiver<bool>,
}

impl IntoFuture for Started {
    type Output = ();
    type IntoFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let mut started = self.started;
        Box::pin(async move {
            // An error means the session ended before it started (closed): resolve as well.
            let _ = started.wait_for(|s| *s).await;
        })
    }
}

/// A [`Stream`] of every wire event the hooks receive, as `(meta, event)`; from [`Client::events`].
/// Dropping it unsubscribes. It buffers without bound, so keep reading it.
pub struct Events {
    receiver: mpsc::UnboundedReceiver<(EventMeta, ServerEvent)>,
    _subscription: Subscription,
}

impl Stream for Events {
    type Item = (EventMeta, ServerEvent);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl Client {
    /// Starts building a client for the server at `url` (`http://club.example:3000`; a path prefix
    /// is kept).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            token: None,
            last_event_id: None,
            link: LinkOptions {
                mode: Transport::Auto,
                ready_timeout: Duration::from_secs(3),
                watchdog_heartbeats: 2,
                poll_timeout_secs: 25,
                sse_retry: Duration::from_secs(30),
                backoff: Backoff::default(),
            },
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            runtime: None,
        }
    }

    // ----- the stream -----

    /// Starts the stream task (hooks may be added before or after). Calling it while running
    /// returns the running session's [`Started`]; after [`Client::close`] it resumes from
    /// [`Client::last_event_id`]. Await the result to know that every event committed from then on
    /// will reach the hooks.
    pub fn connect(&self) -> Started {
        let mut sessions = lock(&self.inner.sessions);
        if sessions.running
            && let Some(session) = &sessions.current
        {
            return Started {
                started: session.started.clone(),
            };
        }
        sessions.running = true;
        let previous = sessions.current.take().map(|s| s.done);
        let session = self.spawn_session(previous);
        let started = session.started.clone();
        sessions.current = Some(session);
        Started { started }
    }

    /// Stops the stream and waits until its task has ended: no hook is called after this returns.
    /// The state becomes `closed`. Events received but not yet handed to the hooks are fetched again
    /// by the next `connect()`.
    pub async fn close(&self) {
        let done = {
            let mut sessions = lock(&self.inner.sessions);
            sessions.running = false;
            sessions.current.as_ref().map(|s| {
                s.stop.cancel();
                s.done.clone()
            })
        };
        if let Some(mut done) = done {
            let _ = done.wait_for(|d| *d).await;
        }
        let still_closed = !lock(&self.inner.sessions).running;
        if still_closed {
            self.inner.state.set(ConnectionStatus::Closed, None);
        }
    }

    /// Spawns a session task; it waits for `previous` (a session being stopped) to end first, so
    /// two sessions never deliver at once.
    fn spawn_session(&self, previous: Option<watch::Receiver<bool>>) -> Session {
        let stop = CancellationToken::new();
        let (started_tx, started) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        let inner = &self.inner;
        // Reported at once, so `connection_state()` right after `connect()` says so (the stopped
        // session, if any, reports nothing more once cancelled).
        let first = match inner.link.mode {
            Transport::Poll => crate::TransportKind::Poll,
            Transport::Auto | Transport::Sse => crate::TransportKind::Sse,
        };
        inner.state.set(ConnectionStatus::Connecting, Some(first));
        let (http, dispatcher, state, hooks, options) = (
            inner.http.clone(),
            inner.dispatcher.clone(),
            inner.state.clone(),
            inner.hooks.clone(),
            inner.link,
        );
        let session_stop = stop.clone();
        // A 401 on the stream or a poll: drop the token and go on anonymously (a new session from
        // the same cursor), as the TypeScript SDK does. Weak, so the task does not keep the client.
        let client = Arc::downgrade(&self.inner);
        let unauthorized = Box::new(move || {
            let Some(inner) = client.upgrade() else {
                return false;
            };
            let client = Client { inner };
            if client.token().is_none() {
                return false;
            }
            tracing::info!("the session ended (401): going on anonymously");
            client.set_token(None);
            true
        });
        inner.runtime.spawn(async move {
            if let Some(mut previous) = previous {
                let _ = previous.wait_for(|d| *d).await;
            }
            if !session_stop.is_cancelled() {
                let (queue, jobs) = mpsc::unbounded_channel();
                let firing = tokio::spawn(dispatcher.clone().run(
                    http.clone(),
                    jobs,
                    session_stop.clone(),
                ));
                let link = Arc::new(Link::new(
                    http,
                    dispatcher.clone(),
                    state,
                    hooks,
                    options,
                    queue,
                    session_stop.clone(),
                    started_tx,
                    unauthorized,
                ));
                link.run().await;
                session_stop.cancel();
                let _ = firing.await;
                dispatcher.rewind();
            }
            let _ = done_tx.send(true);
        });
        Session {
            stop,
            started,
            done,
        }
    }

    /// Where the connection stands and on which transport.
    pub fn connection_state(&self) -> ConnectionState {
        self.inner.state.get()
    }

    /// The last outbox id every hook has seen (`None` before the starting position is known). Save
    /// it and pass it to [`ClientBuilder::last_event_id`] to resume in a later run.
    pub fn last_event_id(&self) -> Option<i64> {
        self.inner.dispatcher.delivered()
    }

    /// Every wire event the hooks receive, as a [`Stream`] of `(meta, event)` (what `on_event`
    /// gets; refetched state after `sync:required` reaches the typed hooks only).
    pub fn events(&self) -> Events {
        let (tx, receiver) = mpsc::unbounded_channel();
        let subscription = self.on_event(move |event, meta| {
            let _ = tx.send((meta, event.clone()));
        });
        Events {
            receiver,
            _subscription: subscription,
        }
    }

    // ----- hooks -----

    /// `cases:updated`: a case was created, updated or deleted (after a resync: `updated` for every
    /// case).
    pub fn on_cases_updated(
        &self,
        hook: impl FnMut(&CasesUpdated, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.cases_updated.add(Box::new(hook))
    }

    /// `balance:updated`: the user's new balance (absolute) and the change.
    pub fn on_balance_updated(
        &self,
        hook: impl FnMut(&BalanceUpdated, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.balance_updated.add(Box::new(hook))
    }

    /// `inventory:updated`: one item added (won) or removed (sold).
    pub fn on_inventory_updated(
        &self,
        hook: impl FnMut(&InventoryUpdated, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.inventory_updated.add(Box::new(hook))
    }

    /// `drop:new`: one line of the live drop feed (`meta.id` is the drop's id in [`Client::drops`]).
    pub fn on_drop(&self, hook: impl FnMut(&DropNew, EventMeta) + Send + 'static) -> Subscription {
        self.inner.hooks.drop_new.add(Box::new(hook))
    }

    /// `announcement`: an admin's broadcast.
    pub fn on_announcement(
        &self,
        hook: impl FnMut(&Announcement, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.announcement.add(Box::new(hook))
    }

    /// `sync:required`: fired first; the refetched state then follows through the other hooks with
    /// [`EventMeta::resync`] set.
    pub fn on_sync_required(
        &self,
        hook: impl FnMut(&SyncRequired, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.sync_required.add(Box::new(hook))
    }

    /// `chat:message`: a new message in the club chat.
    pub fn on_chat_message(
        &self,
        hook: impl FnMut(&ChatMessage, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.chat_message.add(Box::new(hook))
    }

    /// `chat:deleted`: a moderator removed a message.
    pub fn on_chat_deleted(
        &self,
        hook: impl FnMut(&ChatDeleted, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.chat_deleted.add(Box::new(hook))
    }

    /// `chat:muted`: this user was muted (`muted_until`) or unmuted (`None`).
    pub fn on_chat_muted(
        &self,
        hook: impl FnMut(&ChatMuted, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.chat_muted.add(Box::new(hook))
    }

    /// Every wire event the other hooks receive, as the protocol's [`ServerEvent`] (not the calls
    /// made from refetched state).
    pub fn on_event(
        &self,
        hook: impl FnMut(&ServerEvent, EventMeta) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.event.add(Box::new(hook))
    }

    /// Every change of [`ConnectionState`].
    pub fn on_connection_change(
        &self,
        hook: impl FnMut(ConnectionState) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.connection.add(Box::new(hook))
    }

    /// Every change of the token (login, logout, [`Client::set_token`]).
    pub fn on_token_change(&self, hook: impl FnMut(Option<&str>) + Send + 'static) -> Subscription {
        self.inner.hooks.token.add(Box::new(hook))
    }

    /// What the transport does beyond the state: retries with their delay, fallbacks, failed
    /// probes. For logs and `cyberhub-watch`.
    pub fn on_transport_notice(
        &self,
        hook: impl FnMut(&TransportNotice) + Send + 'static,
    ) -> Subscription {
        self.inner.hooks.notice.add(Box::new(hook))
    }

    // ----- the token -----

    /// `POST /v1/auth/login`; keeps the token for every later call and the stream.
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse> {
        let answer = self.inner.http.login(username, password).await?;
        self.set_token(Some(answer.token.clone()));
        Ok(answer)
    }

    /// `POST /v1/auth/logout`: revokes the token on the server, then forgets it.
    pub async fn logout(&self) -> Result<()> {
        if self.inner.http.token().is_some() {
            self.inner.http.logout().await?;
        }
        self.set_token(None);
        Ok(())
    }

    /// Sets or clears the bearer token; a running stream reconnects as the new user from the same
    /// cursor.
    pub fn set_token(&self, token: Option<String>) {
        if !self.inner.http.set_token(token.clone()) {
            return;
        }
        self.inner.hooks.token.emit(|h| h(token.as_deref()));
        let mut sessions = lock(&self.inner.sessions);
        if sessions.running {
            let previous = sessions.current.take().map(|s| {
                s.stop.cancel();
                s.done
            });
            let session = self.spawn_session(previous);
            sessions.current = Some(session);
        }
    }

    /// The current bearer token.
    pub fn token(&self) -> Option<String> {
        self.inner.http.token()
    }

    // ----- member calls -----

    /// `GET /v1/me`: the logged-in user with the current balance.
    pub async fn me(&self) -> Result<User> {
        self.inner.http.me().await
    }

    /// `GET /v1/cases`: every case with its items and weights.
    pub async fn cases(&self) -> Result<Vec<Case>> {
        self.inner.http.cases().await
    }

    /// `GET /v1/cases/{id}`.
    pub async fn get_case(&self, id: i64) -> Result<Case> {
        self.inner.http.get_case(id).await
    }

    /// `POST /v1/cases/{id}/open`: the item won and the balance after paying (409
    /// `insufficient_funds`).
    pub async fn open_case(&self, id: i64) -> Result<OpenCaseResponse> {
        self.inner.http.open_case(id).await
    }

    /// `GET /v1/me/inventory`, newest first.
    pub async fn inventory(&self) -> Result<Vec<InventoryItem>> {
        self.inner.http.inventory().await
    }

    /// `POST /v1/me/inventory/{id}/sell`: sells one's own item for its value.
    pub async fn sell(&self, item_id: i64) -> Result<SellResponse> {
        self.inner.http.sell(item_id).await
    }

    /// `POST /v1/chat/messages`: sends to the club chat (403 `chat_muted`, 409
    /// `duplicate_message`, 429 over the rate limit with [`Error::retry_after`]).
    pub async fn send_chat_message(&self, text: &str) -> Result<ChatMessage> {
        self.inner.http.send_chat_message(text).await
    }

    /// `GET /v1/chat/messages`: newest first, deleted messages left out.
    pub async fn chat_history(&self, query: ChatHistoryQuery) -> Result<Vec<ChatMessage>> {
        self.inner.http.chat_history(query).await
    }

    /// `GET /v1/chat/mute`: this user's mute in force (`muted_until`, `reason`), or `None`s, so an
    /// app started during a mute can show it without waiting for `chat:muted`.
    pub async fn chat_mute(&self) -> Result<ChatMuteStatus> {
        self.inner.http.chat_mute().await
    }

    /// `GET /v1/me/fairness`: the current seed pair (the server seed's hash, the client seed, the
    /// next opening's nonce).
    pub async fn fairness(&self) -> Result<Fairness> {
        self.inner.http.fairness().await
    }

    /// `PUT /v1/me/fairness/client-seed`: a new pair with this client seed (1 to 64 printable
    /// ASCII characters); the old server seed comes back revealed.
    pub async fn set_client_seed(&self, client_seed: &str) -> Result<SeedRotation> {
        self.inner.http.set_client_seed(client_seed).await
    }

    /// `POST /v1/me/fairness/rotate`: a new pair; the old server seed comes back revealed.
    pub async fn rotate_seeds(&self) -> Result<SeedRotation> {
        self.inner.http.rotate_seeds().await
    }

    /// `GET /v1/me/openings`: this member's openings, newest first, each with what it was drawn
    /// under and from (and the server seed once revealed): check one with [`verify_opening`].
    ///
    /// [`verify_opening`]: crate::verify_opening
    pub async fn openings(&self, before: Option<i64>, limit: Option<u32>) -> Result<Vec<Opening>> {
        self.inner.http.openings(before, limit).await
    }

    /// `GET /v1/drops?limit=N`: the newest drops of the live feed, newest first (N at most 100,
    /// default 20).
    pub async fn drops(&self, limit: Option<u32>) -> Result<Vec<RecentDrop>> {
        self.inner.http.drops(limit).await
    }

    /// The admin calls (they need an admin's token).
    pub fn admin(&self) -> Admin {
        Admin {
            http: self.inner.http.clone(),
        }
    }
}

/// The admin calls, from [`Client::admin`]; they use the client's token.
#[derive(Clone)]
pub struct Admin {
    http: Arc<Rest>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// `POST /v1/admin/cases`: creates a case; everyone gets `cases:updated` `created`.
    pub async fn create_case(&self, input: &CaseInput) -> Result<Case> {
        self.http.create_case(input).await
    }

    /// `PUT /v1/admin/cases/{id}`: replaces a case.
    pub async fn update_case(&self, id: i64, input: &CaseInput) -> Result<Case> {
        self.http.update_case(id, input).await
    }

    /// `DELETE /v1/admin/cases/{id}`.
    pub async fn delete_case(&self, id: i64) -> Result<()> {
        self.http.delete_case(id).await
    }

    /// `POST /v1/admin/users`: creates an account.
    pub async fn create_user(&self, input: &CreateUserRequest) -> Result<User> {
        self.http.create_user(input).await
    }

    /// `POST /v1/admin/users/{id}/balance`: a signed adjustment that never takes the balance below
    /// zero.
    pub async fn adjust_balance(
        &self,
        user_id: i64,
        delta: i64,
        reason: &str,
    ) -> Result<BalanceAdjustResponse> {
        self.http.adjust_balance(user_id, delta, reason).await
    }

    /// `POST /v1/admin/announcements`: broadcasts an `announcement`.
    pub async fn announce(&self, text: &str) -> Result<AnnouncementResponse> {
        self.http.announce(text).await
    }

    /// `DELETE /v1/admin/chat/messages/{id}`: hides a chat message (204 again when already deleted).
    pub async fn delete_chat_message(&self, id: i64) -> Result<()> {
        self.http.delete_chat_message(id).await
    }

    /// `POST /v1/admin/users/{id}/mute`: mutes for 1 to 43,200 minutes; 0 lifts the mute.
    pub async fn mute_user(
        &self,
        user_id: i64,
        minutes: i64,
        reason: &str,
    ) -> Result<MuteResponse> {
        self.http.mute_user(user_id, minutes, reason).await
    }
}
