/**
 * `@cyberhub/sdk`: the CyberHub realtime client. Typed REST calls for every endpoint and one hook per
 * protocol event, fed by an SSE stream (over `fetch`) with a long-poll fallback, exactly once across
 * reconnects, restarts and transport switches, shared between the tabs of a site.
 *
 * ```ts
 * const client = createClient({ baseUrl: 'https://club.example' });
 * await client.login('alice', 'secret');
 * client.onBalanceUpdated((e) => render(e.balance));
 * client.connect();
 * ```
 * @module
 */
export { createClient, type CyberHubClient } from './client.js';
export { CyberHubError, type ClientErrorCode } from './errors.js';
export { verifyOpening, seedHash, roll, pick } from './fairness.js';
export { reconnectDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { HOOK_OF_EVENT, type EventHookName } from './hooks.js';
export type { Unsubscribe } from './emitter.js';
export type { AdminApi, MemberApi, ChatHistoryQuery } from './api.js';
export type {
  ClientOptions,
  ConnectionState,
  ConnectionStatus,
  EventHandler,
  EventMeta,
  HookEventName,
  PayloadOf,
  ResyncSnapshot,
  ServerEventName,
  TransportKind,
  TransportMode,
  WireEvent,
} from './types.js';
export type * from './wire.js';
