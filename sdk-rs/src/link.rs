//! The transport loop, a port of the TypeScript SDK's `connection.ts`: fixes the starting position,
//! runs SSE or long-poll, reconnects with backoff, falls back from SSE to long-poll in `Auto` and
//! probes SSE again in the background. It knows nothing of hooks: it hands every wire event to the
//! dispatcher and every state change to the state cell, and reads the resume cursor from the
//! dispatcher each time it (re)connects.
//!
//! Exactly once rests on one rule applied by the dispatcher: every source delivers in id order from
//! a cursor no later than the dispatcher's, so dropping every id at or below the last one received
//! loses nothing and repeats nothing, even while a long-poll and an SSE probe overlap in a switch.
//!
//! Everything of one session runs in one task (the probe is a future polled next to the polls), so
//! the dispatcher sees one source at a time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use cyberhub_protocol::Ready;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::dispatch::{Dispatcher, Job};
use crate::error::Error;
use crate::hooks::{Hooks, lock};
use crate::rest::{PollAnswer, Rest, WireEvent};
use crate::sse::{SessionResult, SessionSink, SessionTiming, SseOutcome, run_session};
use crate::types::{ConnectionState, ConnectionStatus, Transport, TransportKind, TransportNotice};

/// The longest delay between SSE probes while on long-poll.
const MAX_PROBE_DELAY: Duration = Duration::from_secs(5 * 60);

/// The transport settings of a client.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinkOptions {
    pub mode: Transport,
    pub ready_timeout: Duration,
    pub watchdog_heartbeats: u32,
    pub poll_timeout_secs: u64,
    pub sse_retry: Duration,
    pub backoff: Backoff,
}

/// The connection state and the hooks that hear of its changes.
pub(crate) struct StateCell {
    current: std::sync::Mutex<ConnectionState>,
    /// Held while listeners run, so two changes never reach them out of order.
    emitting: std::sync::Mutex<()>,
    hooks: Arc<Hooks>,
}

impl StateCell {
    pub(crate) fn new(hooks: Arc<Hooks>) -> Self {
        StateCell {
            current: std::sync::Mutex::new(ConnectionState::CLOSED),
            emitting: std::sync::Mutex::new(()),
            hooks,
        }
    }

    pub(crate) fn get(&self) -> ConnectionState {
        *lock(&self.current)
    }

    /// Reports a change; a repeat of the current state is ignored.
    pub(crate) fn set(&self, state: ConnectionStatus, transport: Option<TransportKind>) {
        let _emitting = lock(&self.emitting);
        let next = ConnectionState { state, transport };
        {
            let mut current = lock(&self.current);
            if *current == next {
                return;
            }
            *current = next;
        }
        self.hooks.connection.emit(|h| h(next));
    }
}

/// One session of the transport loop: everything it reads and reports to.
pub(crate) struct Link {
    pub http: Arc<Rest>,
    pub dispatcher: Arc<Dispatcher>,
    pub state: Arc<StateCell>,
    pub hooks: Arc<Hooks>,
    pub options: LinkOptions,
    pub queue: mpsc::UnboundedSender<Job>,
    pub stop: CancellationToken,
    pub started: watch::Sender<bool>,
    /// The server answered 401: the session ended (a logout elsewhere, a revoke, expiry). Returns
    /// `true` when the client dropped its token and restarts the stream anonymously (this session
    /// then ends); `false` when there was no token to drop.
    pub unauthorized: Box<dyn Fn() -> bool + Send + Sync>,
    /// The server's `retry:` advice, in ms: the floor of every reconnect delay.
    retry_floor_ms: AtomicU64,
    failures: AtomicU32,
    ever_connected: AtomicBool,
}

type SessionFuture = Pin<Box<dyn Future<Output = SessionResult> + Send>>;

/// An SSE probe running next to the polls.
struct Probe {
    running: Option<SessionFuture>,
    /// When the next probe starts, if one is scheduled.
    at: Option<Instant>,
    failures: u32,
    /// Set by the probe's `ready`: the poll phase ends and the loop adopts the probe's stream.
    adopted: Arc<AtomicBool>,
    /// A probe that delivered `ready` and ended before the poll phase noticed.
    finished: Option<SessionResult>,
}

impl Link {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        http: Arc<Rest>,
        dispatcher: Arc<Dispatcher>,
        state: Arc<StateCell>,
        hooks: Arc<Hooks>,
        options: LinkOptions,
        queue: mpsc::UnboundedSender<Job>,
        stop: CancellationToken,
        started: watch::Sender<bool>,
        unauthorized: Box<dyn Fn() -> bool + Send + Sync>,
    ) -> Self {
        Link {
            http,
            dispatcher,
            state,
            hooks,
            options,
            queue,
            stop,
            started,
            unauthorized,
            retry_floor_ms: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            ever_connected: AtomicBool::new(false),
        }
    }

    fn deliver(&self, event: WireEvent) {
        self.dispatcher.deliver(event, &self.queue);
    }

    fn set_state(&self, state: ConnectionStatus, transport: TransportKind) {
        self.state.set(state, Some(transport));
    }

    fn trying(&self) -> ConnectionStatus {
        match self.ever_connected.load(Ordering::Relaxed) {
            true => ConnectionStatus::Reconnecting,
            false => ConnectionStatus::Connecting,
        }
    }

    fn connected(&self, transport: TransportKind) {
        self.failures.store(0, Ordering::Relaxed);
        self.ever_connected.store(true, Ordering::Relaxed);
        self.set_state(ConnectionStatus::Connected, transport);
    }

    /// The next reconnect delay: the `retry:` floor (or a longer `Retry-After`) plus full jitter.
    fn next_delay(&self, retry_after: Option<Duration>) -> Duration {
        let attempt = self.failures.fetch_add(1, Ordering::Relaxed);
        let floor = Duration::from_millis(self.retry_floor_ms.load(Ordering::Relaxed));
        let floor = floor.max(retry_after.unwrap_or_default());
        self.options.backoff.delay(attempt, floor)
    }

    fn notice(&self, notice: TransportNotice) {
        tracing::debug!(%notice, "cyberhub transport");
        self.hooks.notice.emit(|h| h(&notice));
    }

    /// Waits `delay` before the next attempt on `transport`, telling the notice hooks why.
    async fn back_off(&self, transport: TransportKind, delay: Duration, cause: String) {
        self.notice(TransportNotice::Retrying {
            transport,
            delay,
            cause,
        });
        tokio::select! {
            _ = self.stop.cancelled() => {}
            _ = sleep(delay) => {}
        }
    }

    fn timing(&self) -> SessionTiming {
        SessionTiming {
            ready_timeout: self.options.ready_timeout,
            watchdog_heartbeats: self.options.watchdog_heartbeats,
        }
    }

    /// Runs until the session's stop token is cancelled.
    pub(crate) async fn run(self: Arc<Self>) {
        let mode = self.options.mode;
        let mut transport = match mode {
            Transport::Poll => TransportKind::Poll,
            Transport::Auto | Transport::Sse => TransportKind::Sse,
        };
        self.set_state(ConnectionStatus::Connecting, transport);
        self.fix_start(transport).await;
        if self.stop.is_cancelled() {
            return;
        }
        let _ = self.started.send(true);
        let mut adopted: Option<SessionFuture> = None;
        let mut probe_delay = Duration::ZERO;
        while !self.stop.is_cancelled() {
            if transport == TransportKind::Poll {
                match self.clone().poll_phase(probe_delay).await {
                    Some(session) => {
                        adopted = Some(session);
                        transport = TransportKind::Sse;
                        continue;
                    }
                    None => break,
                }
            }
            let result = match adopted.take() {
                Some(session) => session.await,
                None => {
                    self.set_state(self.trying(), TransportKind::Sse);
                    let mut sink = MainSink { link: &self };
                    let cursor = self.dispatcher.received();
                    run_session(&self.http, cursor, self.timing(), &self.stop, &mut sink).await
                }
            };
            if self.stop.is_cancelled() {
                break;
            }
            if matches!(result.outcome, SseOutcome::Refused { status: 401, .. })
                && (self.unauthorized)()
            {
                break;
            }
            let throttled = result.outcome.throttled();
            if !result.got_ready && mode == Transport::Auto && throttled.is_none() {
                // Streaming did not get through; a plain request may: go on over long-poll at once.
                // After a network error (a restart, most likely) probe SSE as soon as a poll gets
                // through; after a refusal or a buffered stream, only after sse_retry.
                probe_delay = match result.outcome {
                    SseOutcome::Network(_) => Duration::ZERO,
                    _ => self.options.sse_retry,
                };
                self.notice(TransportNotice::FellBack {
                    cause: result.outcome.describe(),
                    probe_in: probe_delay,
                });
                transport = TransportKind::Poll;
                continue;
            }
            self.set_state(self.trying(), TransportKind::Sse);
            let delay = self.next_delay(throttled);
            self.back_off(TransportKind::Sse, delay, result.outcome.describe())
                .await;
        }
    }

    /// Without a resume point, asks the server where it stands before opening anything: a stream
    /// opened without `Last-Event-ID` starts wherever the server is when it answers, so an event
    /// committed in between would be lost if that stream then never delivered `ready` and the
    /// client fell back.
    async fn fix_start(&self, first: TransportKind) {
        while self.dispatcher.received().is_none() && !self.stop.is_cancelled() {
            let answer = tokio::select! {
                _ = self.stop.cancelled() => return,
                answer = timeout(self.options.ready_timeout, self.http.poll(None, 0)) => answer,
            };
            match answer {
                Ok(Ok(answer)) => self.dispatcher.start_at(answer.next),
                Ok(Err(e)) if e.status() == 401 && (self.unauthorized)() => return,
                failed => {
                    let (retry_after, cause) = poll_failure(failed);
                    self.set_state(self.trying(), first);
                    let delay = self.next_delay(retry_after);
                    self.back_off(first, delay, cause).await;
                }
            }
        }
    }

    /// Long-polls until the session stops or an SSE probe delivers `ready`; returns that probe's
    /// running session so the loop adopts it instead of opening another stream.
    async fn poll_phase(self: Arc<Self>, first_probe_delay: Duration) -> Option<SessionFuture> {
        let polling = self.stop.child_token();
        let mut probe = Probe {
            running: None,
            at: None,
            failures: 0,
            adopted: Arc::new(AtomicBool::new(false)),
            finished: None,
        };
        let mut polled_once = false;
        // The first poll of a phase, and the first after a failure, asks for an immediate answer:
        // it proves the path works (connected at once rather than after a whole hold) and brings
        // whatever is pending.
        let mut confirmed = false;
        self.set_state(self.trying(), TransportKind::Poll);
        while !polling.is_cancelled() {
            let hold = if confirmed {
                self.options.poll_timeout_secs
            } else {
                0
            };
            // A poll that does not answer within its hold plus the ready timeout went into a
            // stalled connection: give up on it rather than wait for TCP to notice.
            let deadline = Duration::from_secs(hold) + self.options.ready_timeout;
            let cursor = self.dispatcher.received();
            let request = timeout(deadline, self.http.poll(cursor, hold));
            let Some(answer) = self.alongside(&mut probe, &polling, request).await else {
                break;
            };
            match answer {
                Ok(Ok(answer)) => {
                    confirmed = true;
                    if !polling.is_cancelled() {
                        self.connected(TransportKind::Poll);
                    }
                    let PollAnswer { events, .. } = answer;
                    for event in events {
                        self.deliver(event);
                    }
                    if !polled_once {
                        polled_once = true;
                        self.schedule_probe(&mut probe, first_probe_delay);
                    }
                }
                Ok(Err(e)) if e.status() == 401 && (self.unauthorized)() => break,
                failed => {
                    confirmed = false;
                    let (retry_after, cause) = poll_failure(failed);
                    self.set_state(self.trying(), TransportKind::Poll);
                    let delay = self.next_delay(retry_after);
                    self.notice(TransportNotice::Retrying {
                        transport: TransportKind::Poll,
                        delay,
                        cause,
                    });
                    if self
                        .alongside(&mut probe, &polling, sleep(delay))
                        .await
                        .is_none()
                    {
                        break;
                    }
                }
            }
        }
        if !probe.adopted.load(Ordering::Acquire) || self.stop.is_cancelled() {
            return None;
        }
        match (probe.running.take(), probe.finished.take()) {
            (Some(running), _) => Some(running),
            (None, Some(done)) => Some(Box::pin(std::future::ready(done))),
            (None, None) => None,
        }
    }

    /// Schedules the next probe (only in `Auto`, and only one at a time).
    fn schedule_probe(&self, probe: &mut Probe, delay: Duration) {
        if self.options.mode != Transport::Auto || probe.running.is_some() || probe.at.is_some() {
            return;
        }
        probe.at = Some(Instant::now() + delay);
    }

    /// Runs `work` while driving the probe next to it; `None` when the poll phase is over (the
    /// session stopped, or a probe delivered `ready`).
    async fn alongside<F: Future>(
        self: &Arc<Self>,
        probe: &mut Probe,
        polling: &CancellationToken,
        work: F,
    ) -> Option<F::Output> {
        tokio::pin!(work);
        loop {
            let probing = probe.running.is_some();
            let probe_at = probe.at.filter(|_| !probing);
            let outcome = {
                let running = probe.running.as_mut();
                tokio::select! {
                    biased;
                    _ = polling.cancelled() => return None,
                    out = &mut work => return Some(out),
                    result = async { running.expect("guarded by `probing`").await }, if probing => Some(result),
                    _ = sleep_until(probe_at.unwrap_or_else(Instant::now)), if probe_at.is_some() => None,
                }
            };
            match outcome {
                Some(result) => {
                    probe.running = None;
                    if result.got_ready {
                        // Adopted, and already over: the loop reconnects over SSE from here.
                        probe.finished = Some(result);
                        polling.cancel();
                        continue;
                    }
                    probe.failures += 1;
                    let doubling = 1u32 << (probe.failures - 1).min(10);
                    let mut next = self
                        .options
                        .sse_retry
                        .saturating_mul(doubling)
                        .min(MAX_PROBE_DELAY);
                    if let Some(wait) = result.outcome.throttled() {
                        next = next.max(wait);
                    }
                    self.notice(TransportNotice::ProbeFailed {
                        cause: result.outcome.describe(),
                        next_probe_in: next,
                    });
                    self.schedule_probe(probe, next);
                }
                None => {
                    probe.at = None;
                    probe.running = Some(self.start_probe(polling.clone(), probe.adopted.clone()));
                }
            }
        }
    }

    /// Starts an SSE session whose `ready` ends the poll phase.
    fn start_probe(
        self: &Arc<Self>,
        polling: CancellationToken,
        adopted: Arc<AtomicBool>,
    ) -> SessionFuture {
        let link = self.clone();
        Box::pin(async move {
            let mut sink = ProbeSink {
                link: &link,
                polling,
                adopted,
            };
            let cursor = link.dispatcher.received();
            run_session(&link.http, cursor, link.timing(), &link.stop, &mut sink).await
        })
    }
}

/// Reads a failed poll: the `Retry-After` to honour and a cause for the notice.
fn poll_failure(
    failed: Result<Result<PollAnswer, Error>, tokio::time::error::Elapsed>,
) -> (Option<Duration>, String) {
    match failed {
        Ok(Err(e)) => (e.retry_after(), format!("poll failed: {e}")),
        Err(_) => (None, "poll got no answer in time".to_owned()),
        Ok(Ok(_)) => (None, String::new()),
    }
}

/// The sink of the loop's own SSE sessions.
struct MainSink<'a> {
    link: &'a Link,
}

impl SessionSink for MainSink<'_> {
    fn ready(&mut self, _: &Ready) {
        self.link.connected(TransportKind::Sse);
    }
    fn event(&mut self, event: WireEvent) {
        self.link.deliver(event);
    }
    fn retry(&mut self, ms: u64) {
        self.link.retry_floor_ms.store(ms, Ordering::Relaxed);
    }
}

/// The sink of a background probe: its `ready` switches the client back to SSE.
struct ProbeSink<'a> {
    link: &'a Link,
    polling: CancellationToken,
    adopted: Arc<AtomicBool>,
}

impl SessionSink for ProbeSink<'_> {
    fn ready(&mut self, _: &Ready) {
        self.adopted.store(true, Ordering::Release);
        self.link.connected(TransportKind::Sse);
        self.polling.cancel();
    }
    fn event(&mut self, event: WireEvent) {
        self.link.deliver(event);
    }
    fn retry(&mut self, ms: u64) {
        self.link.retry_floor_ms.store(ms, Ordering::Relaxed);
    }
}
