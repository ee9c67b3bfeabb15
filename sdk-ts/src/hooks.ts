/**
 * The table that ties every protocol event to its hook. Typed as a record over the generated
 * `ServerEvent` names, so adding an event to `protocol/` fails the build here until it has a hook.
 * @module
 */
import type { HookEventName } from './types.js';

/** The hook method of each event that reaches hooks (`ready` shows as `onConnectionChange`). */
export const HOOK_OF_EVENT = {
  'cases:updated': 'onCasesUpdated',
  'balance:updated': 'onBalanceUpdated',
  'inventory:updated': 'onInventoryUpdated',
  'drop:new': 'onDrop',
  announcement: 'onAnnouncement',
  'sync:required': 'onSyncRequired',
  'chat:message': 'onChatMessage',
  'chat:deleted': 'onChatDeleted',
  'chat:muted': 'onChatMuted',
} as const satisfies Record<HookEventName, `on${string}`>;

/** The name of a per-event hook method (`onBalanceUpdated`, ...). */
export type EventHookName = (typeof HOOK_OF_EVENT)[HookEventName];

/** Whether a wire event name is one of the protocol's hook events. */
export function isHookEvent(name: string): name is HookEventName {
  return Object.prototype.hasOwnProperty.call(HOOK_OF_EVENT, name);
}
