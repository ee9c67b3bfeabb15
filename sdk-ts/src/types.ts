/**
 * The public types of the client that are not wire types: options, connection state, hook metadata,
 * and the typed event map that ties every protocol event to its hook.
 * @module
 */
import type { Case } from './generated/Case.js';
import type { ChatMessage } from './generated/ChatMessage.js';
import type { InventoryItem } from './generated/InventoryItem.js';
import type { ServerEvent } from './generated/ServerEvent.js';
import type { SyncReason } from './generated/SyncReason.js';
import type { User } from './generated/User.js';
import type { BackoffOptions } from './backoff.js';

/** How the client receives events: `auto` starts on SSE and falls back to long-poll when it must. */
export type TransportMode = 'auto' | 'sse' | 'poll';

/** The transport actually in use (or being attempted). */
export type TransportKind = 'sse' | 'poll';

/** Where the connection stands. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

/** `client.connectionState`: the status and the transport it is on (`null` when none is). */
export interface ConnectionState {
  /** `connecting` until the first stream or poll answers, `reconnecting` after a failure. */
  state: ConnectionStatus;
  /** The transport in use or being attempted; `null` before `connect()`, when offline or closed. */
  transport: TransportKind | null;
}

/** Every event name the server sends on a stream. */
export type ServerEventName = ServerEvent['event'];

/**
 * The events that reach hooks. `ready` does not: it is the transport's handshake, seen by apps as
 * `onConnectionChange` turning `connected`.
 */
export type HookEventName = Exclude<ServerEventName, 'ready'>;

/** The payload type of one event name, taken from the generated `ServerEvent` union. */
export type PayloadOf<E extends ServerEventName> = Extract<ServerEvent, { event: E }>['data'];

/** A wire event with its outbox id, as SSE frames and long-poll answers carry it. */
export interface WireEvent {
  /** The outbox id: the resume point, and the key of exactly-once delivery. */
  id: number;
  /** The event's wire name. */
  event: string;
  /** The parsed JSON payload. */
  data: unknown;
}

/**
 * The state the client refetched after `sync:required`. Hooks fired from a resync carry it in
 * {@link EventMeta.resync}: a list kept by id should be replaced by it, because removals that happened
 * while the client was out of retention have no event left to say so.
 */
export interface ResyncSnapshot {
  /** Why the server could not resume the cursor. */
  reason: SyncReason;
  /** `GET /v1/me`, when the client has a token. */
  me?: User;
  /** `GET /v1/me/inventory` (newest first), when the client has a token. */
  inventory?: InventoryItem[];
  /** `GET /v1/cases`. */
  cases?: Case[];
  /** `GET /v1/chat/messages` (the newest page, newest first). */
  chat?: ChatMessage[];
}

/** The second argument of every event hook. */
export interface EventMeta {
  /**
   * The outbox id of the event. For calls made from a resync it is the id of the `sync:required`
   * that caused it.
   */
  id: number;
  /** Set only on calls made from refetched state after `sync:required`; see {@link ResyncSnapshot}. */
  resync?: ResyncSnapshot;
}

/** A hook for one event: the typed payload and its {@link EventMeta}. */
export type EventHandler<E extends HookEventName> = (data: PayloadOf<E>, meta: EventMeta) => void;

/** Options of {@link createClient}. Only `baseUrl` is required. */
export interface ClientOptions {
  /** The server's origin, e.g. `https://club.example` (a path prefix is kept). */
  baseUrl: string;
  /** A bearer token from an earlier login; or call `client.login()`. */
  token?: string | null;
  /** `auto` (default), `sse` only, or `poll` only. */
  transport?: TransportMode;
  /** Resume after this outbox id instead of starting at the current position. */
  lastEventId?: number | null;
  /** The `fetch` to use (default `globalThis.fetch`), e.g. for tests or a custom agent. */
  fetch?: typeof fetch;
  /**
   * Share one stream between the tabs of a site (Web Locks leader + BroadcastChannel). Default `true`
   * in browsers that have both APIs; always off in Node.
   */
  shareAcrossTabs?: boolean;
  /** How long a fresh SSE stream may take to deliver its `ready` frame before `auto` falls back (3000). */
  readyTimeoutMs?: number;
  /** Reconnect when no byte arrives for this many heartbeat intervals (2). */
  watchdogHeartbeats?: number;
  /** Long-poll hold asked of the server, in seconds (25). */
  pollTimeoutSecs?: number;
  /** Delay before `auto` tries SSE again after streaming was refused or buffered (30000, doubling). */
  sseRetryMs?: number;
  /** Reconnect backoff (base 1000 ms, cap 30000 ms); the server's `retry:` is added as a floor. */
  backoff?: Partial<BackoffOptions>;
}
