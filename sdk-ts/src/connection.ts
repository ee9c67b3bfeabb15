/**
 * The transport loop: fixes the starting position, runs SSE or long-poll, reconnects with backoff,
 * falls back from SSE to long-poll in `auto` mode and probes SSE again in the background. It knows
 * nothing of hooks: it hands every wire event to `deliver` and every state change to `setState`, and
 * reads the resume cursor from `cursor()` each time it (re)connects.
 *
 * Exactly-once rests on one rule applied by the receiver: events arrive in id order from every
 * source, each source starts at a cursor no later than the receiver's, so dropping every id at or
 * below the last one delivered loses nothing and repeats nothing, even while two sources (a long-poll
 * and an SSE probe) overlap during a switch.
 * @module
 */
import { pollEvents } from './api.js';
import { CyberHubError } from './errors.js';
import { reconnectDelay, sleep, type BackoffOptions } from './backoff.js';
import { authHeaders, buildUrl, type HttpContext } from './http.js';
import { runSse, type SseOutcome } from './sse.js';
import type { ConnectionStatus, TransportKind, TransportMode, WireEvent } from './types.js';

/** What the loop needs from the client. */
export interface ConnectionDeps {
  /** Where and as whom. */
  http: HttpContext;
  /** `auto`, `sse` or `poll`. */
  mode: TransportMode;
  /** A fresh SSE stream must deliver `ready` within this many ms, or it counts as buffered. */
  readyTimeoutMs: number;
  /** Silence longer than this many heartbeat intervals means the stream is dead. */
  watchdogHeartbeats: number;
  /** The long-poll hold asked of the server. */
  pollTimeoutSecs: number;
  /** First delay before probing SSE again after it was refused or buffered. */
  sseRetryMs: number;
  /** Reconnect backoff. */
  backoff: BackoffOptions;
  /** The resume cursor: the last outbox id received, or `null` when none is known yet. */
  cursor(): number | null;
  /** Fixes the starting cursor (the server's position when the client started). */
  startAt(id: number): void;
  /** One wire event, in order; may be a repeat (the receiver drops ids it has seen). */
  deliver(event: WireEvent): void;
  /** Reports a state change (the receiver ignores repeats). */
  setState(state: ConnectionStatus, transport: TransportKind | null): void;
  /**
   * The server answered 401: the session ended (logout elsewhere, revoked, expired). Returns `true`
   * when the client dropped its token and restarts the stream anonymously (this loop then ends);
   * `false` when there was no token to drop.
   */
  unauthorized(): boolean;
}

/** A running loop. */
export interface Connection {
  /** Resolves once the starting position is fixed: events committed after that reach the hooks. */
  started: Promise<void>;
  /** Stops every request of the loop. */
  stop(): void;
}

/** The longest delay between SSE probes while on long-poll. */
const MAX_PROBE_DELAY_MS = 5 * 60_000;

interface SessionResult {
  outcome: SseOutcome;
  /** The stream delivered `ready`: streaming works on this path. */
  gotReady: boolean;
}

/** Whether a failed request was answered 401 (the session ended). */
function isUnauthorized(error: unknown): boolean {
  return error instanceof CyberHubError && error.status === 401;
}

/** How long a refused stream asks to wait: its `Retry-After` on a 429 or 503, else 0. */
function throttledFor(outcome: SseOutcome): number {
  if (outcome.kind !== 'refused' || (outcome.status !== 429 && outcome.status !== 503)) return 0;
  return outcome.retryAfterMs ?? 0;
}

/** The `Retry-After` of a failed call, in ms (0 without one). */
function retryAfterOf(error: unknown): number {
  return error instanceof CyberHubError && error.retryAfterSecs ? error.retryAfterSecs * 1000 : 0;
}

/** Starts the loop; it runs until `stop()`. */
export function startConnection(deps: ConnectionDeps): Connection {
  const controller = new AbortController();
  const { signal } = controller;
  let retryFloorMs = 0;
  let failures = 0;
  let everConnected = false;
  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  signal.addEventListener('abort', () => resolveStarted(), { once: true });

  /** The next reconnect delay; a server's `Retry-After` (a rate limit, a full server) raises its floor. */
  const nextDelay = (retryAfterMs = 0) => reconnectDelay(failures++, Math.max(retryFloorMs, retryAfterMs), deps.backoff);
  const trying = (): ConnectionStatus => (everConnected ? 'reconnecting' : 'connecting');
  const connected = (transport: TransportKind) => {
    failures = 0;
    everConnected = true;
    deps.setState('connected', transport);
  };

  /**
   * Without a resume point, ask the server where it stands before opening anything: a stream opened
   * without `Last-Event-ID` starts wherever the server is when it answers, so an event committed in
   * between would be lost if that stream then never delivered `ready` and the client fell back.
   */
  async function fixStart(first: TransportKind): Promise<void> {
    while (deps.cursor() === null && !signal.aborted) {
      try {
        const answer = await pollEvents(deps.http, null, 0, signal);
        deps.startAt(answer.next);
      } catch (error) {
        if (signal.aborted) break;
        if (isUnauthorized(error) && deps.unauthorized()) return;
        deps.setState(trying(), first);
        await sleep(nextDelay(), signal);
      }
    }
    resolveStarted();
  }

  /** One SSE session with the ready timeout and the heartbeat watchdog around it. */
  async function sseSession(onReady: () => void): Promise<SessionResult> {
    const session = new AbortController();
    const forward = () => session.abort();
    signal.addEventListener('abort', forward, { once: true });
    let gotReady = false;
    let watchdogMs = 0;
    let timer = setTimeout(forward, deps.readyTimeoutMs);
    const rearm = () => {
      if (!gotReady) return;
      clearTimeout(timer);
      timer = setTimeout(forward, watchdogMs);
    };
    const cursor = deps.cursor();
    const headers = { ...authHeaders(deps.http), ...(cursor === null ? {} : { 'last-event-id': String(cursor) }) };
    const outcome = await runSse({
      url: buildUrl(deps.http.baseUrl, '/v1/events'),
      fetch: deps.http.fetch,
      headers,
      signal: session.signal,
      onActivity: rearm,
      onReady(ready) {
        gotReady = true;
        watchdogMs = Math.max(1, ready.heartbeat_secs) * 1000 * deps.watchdogHeartbeats;
        rearm();
        onReady();
      },
      onEvent: deps.deliver,
      onRetry: (ms) => (retryFloorMs = ms),
    });
    clearTimeout(timer);
    signal.removeEventListener('abort', forward);
    return { outcome, gotReady };
  }

  /**
   * Long-polls until the loop stops or an SSE probe delivers `ready`; returns that probe's running
   * session so the loop adopts it instead of opening another stream.
   */
  async function pollPhase(firstProbeDelayMs: number): Promise<{ session: Promise<SessionResult> } | null> {
    const polling = new AbortController();
    const stopPolling = () => polling.abort();
    signal.addEventListener('abort', stopPolling, { once: true });
    let adopted: Promise<SessionResult> | null = null;
    let probeTimer: ReturnType<typeof setTimeout> | undefined;
    let probing = false;
    let probeFailures = 0;
    let polledOnce = false;

    const scheduleProbe = (ms: number) => {
      if (deps.mode !== 'auto' || probing || probeTimer !== undefined || polling.signal.aborted) return;
      probeTimer = setTimeout(probe, ms);
    };
    const probe = () => {
      probeTimer = undefined;
      probing = true;
      const session: Promise<SessionResult> = sseSession(() => {
        adopted = session;
        connected('sse');
        polling.abort();
      });
      void session.then((result) => {
        probing = false;
        if (adopted === session) return;
        probeFailures += 1;
        const next = Math.min(MAX_PROBE_DELAY_MS, deps.sseRetryMs * 2 ** Math.min(probeFailures - 1, 10));
        scheduleProbe(Math.max(next, throttledFor(result.outcome)));
      });
    };

    // The first poll of a phase, and the first after a failure, asks for an immediate answer: it
    // proves the path works (state `connected` at once rather than after a whole hold) and brings
    // whatever is pending.
    let confirmed = false;
    deps.setState(trying(), 'poll');
    while (!polling.signal.aborted) {
      const request = new AbortController();
      const abortRequest = () => request.abort();
      polling.signal.addEventListener('abort', abortRequest, { once: true });
      const hold = confirmed ? deps.pollTimeoutSecs : 0;
      // A poll that does not answer within its hold plus the ready timeout went into a stalled
      // connection: give up on it rather than wait for TCP to notice.
      const deadline = setTimeout(abortRequest, hold * 1000 + deps.readyTimeoutMs);
      try {
        const answer = await pollEvents(deps.http, deps.cursor(), hold, request.signal);
        confirmed = true;
        if (!polling.signal.aborted) connected('poll');
        for (const event of answer.events) deps.deliver(event);
        if (!polledOnce) {
          polledOnce = true;
          scheduleProbe(firstProbeDelayMs);
        }
      } catch (error) {
        if (polling.signal.aborted) break;
        if (isUnauthorized(error) && deps.unauthorized()) break;
        confirmed = false;
        deps.setState(trying(), 'poll');
        await sleep(nextDelay(retryAfterOf(error)), polling.signal);
      } finally {
        clearTimeout(deadline);
        polling.signal.removeEventListener('abort', abortRequest);
      }
    }
    clearTimeout(probeTimer);
    signal.removeEventListener('abort', stopPolling);
    // Wrapped: an awaited promise of a promise would flatten and wait for the whole SSE session.
    return adopted ? { session: adopted } : null;
  }

  async function run(): Promise<void> {
    let transport: TransportKind = deps.mode === 'poll' ? 'poll' : 'sse';
    deps.setState('connecting', transport);
    await fixStart(transport);
    let adopted: Promise<SessionResult> | null = null;
    let probeDelayMs = 0;
    while (!signal.aborted) {
      if (transport === 'poll') {
        const switched = await pollPhase(probeDelayMs);
        if (!switched) break;
        adopted = switched.session;
        transport = 'sse';
        continue;
      }
      let result: SessionResult;
      if (adopted) {
        result = await adopted;
        adopted = null;
      } else {
        deps.setState(trying(), 'sse');
        result = await sseSession(() => connected('sse'));
      }
      if (signal.aborted) break;
      if (result.outcome.kind === 'refused' && result.outcome.status === 401 && deps.unauthorized()) break;
      // Throttled (429, or 503 with Retry-After): streaming works, the server asks us to wait. Wait,
      // and come back on SSE rather than switch to polls the same limits would meet.
      const throttled = throttledFor(result.outcome);
      if (throttled > 0) {
        deps.setState(trying(), 'sse');
        await sleep(nextDelay(throttled), signal);
        continue;
      }
      if (!result.gotReady && deps.mode === 'auto') {
        // Streaming did not get through. A plain request may: go on over long-poll at once. After a
        // network error (a restart, most likely) probe SSE as soon as a poll gets through; after a
        // refusal or a buffered stream, only after sseRetryMs.
        probeDelayMs = result.outcome.kind === 'network' ? 0 : deps.sseRetryMs;
        transport = 'poll';
        continue;
      }
      deps.setState(trying(), 'sse');
      await sleep(nextDelay(), signal);
    }
  }

  void run();
  return { started, stop: () => controller.abort() };
}
