/**
 * One SSE session over `fetch` (so the `Authorization` and `Last-Event-ID` headers work, which the
 * browser's `EventSource` cannot send), parsed with eventsource-parser. It only reports what it sees;
 * the connection loop decides what a failure means (reconnect, or fall back to long-poll).
 * @module
 */
import { createParser } from 'eventsource-parser';
import type { Ready } from './generated/Ready.js';
import type { WireEvent } from './types.js';

/** How a session ended. */
export type SseOutcome =
  /**
   * Answered, but not with a `200 text/event-stream` (a proxy's error page, a 401, a 429).
   * `retryAfterMs` is the server's `Retry-After`, when it sent one (a rate limit, a full server).
   */
  | { kind: 'refused'; status: number; retryAfterMs?: number }
  /** The request failed or the body broke off before the server ended it. */
  | { kind: 'network'; error: unknown }
  /** The server ended the stream (e.g. on shutdown). */
  | { kind: 'ended' }
  /** `signal` aborted it (watchdog, ready timeout, switch, close). */
  | { kind: 'aborted' };

/** Inputs of {@link runSse}. */
export interface SseSessionOptions {
  /** `GET /v1/events` as an absolute URL. */
  url: string;
  /** The injectable `fetch`. */
  fetch: typeof fetch;
  /** Authorization and resume headers. */
  headers: Record<string, string>;
  /** Ends the session. */
  signal: AbortSignal;
  /** Any byte arrived (heartbeats included): feeds the watchdog. */
  onActivity(): void;
  /** The `ready` frame: the stream is live and stands at `ready.last_event_id`. */
  onReady(ready: Ready): void;
  /** Every other event, in stream order. */
  onEvent(event: WireEvent): void;
  /** The server's `retry:` advice, in ms. */
  onRetry(ms: number): void;
}

/** Runs one SSE request until it ends, and reports how (never rejects). */
export async function runSse(options: SseSessionOptions): Promise<SseOutcome> {
  const { signal } = options;
  let response: Response;
  try {
    response = await options.fetch(options.url, {
      headers: { accept: 'text/event-stream', ...options.headers },
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    return signal.aborted ? { kind: 'aborted' } : { kind: 'network', error };
  }
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || !type.toLowerCase().startsWith('text/event-stream') || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    const retryAfter = Number(response.headers.get('retry-after'));
    return Number.isFinite(retryAfter) && retryAfter > 0
      ? { kind: 'refused', status: response.status, retryAfterMs: retryAfter * 1000 }
      : { kind: 'refused', status: response.status };
  }

  const parser = createParser({
    onRetry: (ms) => options.onRetry(ms),
    onEvent(message) {
      const id = Number(message.id);
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        return; // Not one of ours: a frame we cannot read is skipped, not fatal.
      }
      if (message.event === 'ready') options.onReady(data as Ready);
      else if (message.event && Number.isFinite(id)) options.onEvent({ id, event: message.event, data });
    },
  });

  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return signal.aborted ? { kind: 'aborted' } : { kind: 'ended' };
      options.onActivity();
      parser.feed(decoder.decode(value, { stream: true }));
      if (signal.aborted) return { kind: 'aborted' };
    }
  } catch (error) {
    return signal.aborted ? { kind: 'aborted' } : { kind: 'network', error };
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
