/**
 * One stream for all tabs of a site. Browsers allow six HTTP/1.1 connections per origin, so one
 * stream per tab hangs a member's seventh tab. Tabs of the same site and token elect a leader with
 * the Web Locks API; the leader holds the stream and relays what it receives over a
 * BroadcastChannel. When the leader's tab closes, its lock is released and the next tab in line
 * takes it and resumes from the last id it saw.
 * @module
 */
import type { ConnectionState, WireEvent } from './types.js';

/** What tabs tell each other. */
export type TabMessage =
  /** The leader relays one wire event. */
  | { type: 'event'; event: WireEvent }
  /** The leader's connection state changed. */
  | { type: 'state'; state: ConnectionState }
  /** A new tab asks the leader where things stand. */
  | { type: 'hello' }
  /** The leader's answer to `hello`: its state and its resume cursor. */
  | { type: 'welcome'; state: ConnectionState; cursor: number | null };

/** A tab's membership in a group. */
export interface TabGroup {
  /** Posts to every other tab of the group. */
  post(message: TabMessage): void;
  /** Leaves the group: releases the lock (or stops waiting for it) and closes the channel. */
  leave(): void;
}

/** Whether this environment can share a stream between tabs (a browser with both APIs). */
export function canShareTabs(): boolean {
  const nav = (globalThis as { navigator?: { locks?: unknown } }).navigator;
  return typeof window !== 'undefined' && typeof BroadcastChannel === 'function' && !!nav?.locks;
}

/**
 * A short, stable, non-reversible key for a token, so tabs logged in as the same user share a group
 * without the token itself appearing in lock or channel names.
 */
export function groupKey(baseUrl: string, token: string | null): string {
  let hash = 0x811c9dc5; // FNV-1a, 32 bits: a name, not a secret
  for (const ch of token ?? '') {
    hash ^= ch.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `cyberhub:${baseUrl}:${token ? hash.toString(36) : 'anonymous'}`;
}

/**
 * Joins the group `name`: `onMessage` gets what other tabs post; `onLead` is called once this tab
 * holds the lock, and it keeps the lock until `leave()` or until the tab goes away.
 */
export function joinTabGroup(
  name: string,
  handlers: { onLead(): void; onMessage(message: TabMessage): void },
): TabGroup {
  const channel = new BroadcastChannel(name);
  const waiting = new AbortController();
  let release: (() => void) | null = null;
  let left = false;
  channel.onmessage = (message: MessageEvent<TabMessage>) => {
    if (!left) handlers.onMessage(message.data);
  };
  const locks = (navigator as Navigator & { locks: LockManager }).locks;
  locks
    .request(name, { signal: waiting.signal }, () => {
      if (left) return undefined;
      handlers.onLead();
      return new Promise<void>((resolve) => (release = resolve));
    })
    .catch(() => undefined); // AbortError when we leave while still waiting
  return {
    post(message) {
      if (!left) channel.postMessage(message);
    },
    leave() {
      left = true;
      waiting.abort();
      release?.();
      channel.close();
    },
  };
}
