/**
 * From wire events to hooks: drops repeats by outbox id, fires the typed hooks and `onEvent` in
 * order, and turns `sync:required` into refetched state fired through the same hooks.
 *
 * Two cursors: `received` is the resume point of the transports (the last id taken off the wire),
 * `delivered` the last id every hook has seen (`client.lastEventId`). They differ only while a
 * resync holds events back, so that live events never overtake the refetched state.
 * @module
 */
import type { Emitter } from './emitter.js';
import type { BalanceUpdated } from './generated/BalanceUpdated.js';
import type { ServerEvent } from './generated/ServerEvent.js';
import type { SyncRequired } from './generated/SyncRequired.js';
import { isHookEvent } from './hooks.js';
import type { EventMeta, HookEventName, PayloadOf, ResyncSnapshot, WireEvent } from './types.js';

/** The listener signatures of the client's emitter, by event name. */
export type HookEvents = { [E in HookEventName]: [PayloadOf<E>, EventMeta] } & {
  event: [ServerEvent, EventMeta];
};

/** Loads the state `sync:required` asks to refetch; parts the client cannot load are left out. */
export type SnapshotLoader = (reason: SyncRequired['reason']) => Promise<ResyncSnapshot>;

/** The dispatcher of one client. */
export interface Dispatcher {
  /** The transports' resume point. */
  readonly received: number | null;
  /** The last id every hook has seen. */
  readonly delivered: number | null;
  /** Sets the starting position (nothing before it is delivered). */
  startAt(id: number): void;
  /** Takes one wire event from any source; repeats and ids at or below `received` are dropped. */
  deliver(event: WireEvent): void;
  /** Forgets events held back by a resync, so the next connection fetches them again. */
  rewind(): void;
}

/** Creates a dispatcher firing into `emitter`. */
export function createDispatcher(
  emitter: Emitter<HookEvents>,
  loadSnapshot: SnapshotLoader,
  initial: number | null,
): Dispatcher {
  let received = initial;
  let delivered = initial;
  let held: WireEvent[] | null = null; // non-null while a resync is loading
  let generation = 0;
  let lastBalance: number | null = null;

  function fire(event: WireEvent): void {
    if (!isHookEvent(event.event)) return; // an event newer than this SDK: skip it, keep the stream
    const meta: EventMeta = { id: event.id };
    if (event.event === 'balance:updated') lastBalance = (event.data as BalanceUpdated).balance;
    delivered = Math.max(delivered ?? 0, event.id);
    emitter.emit(event.event, event.data as never, meta);
    emitter.emit('event', { event: event.event, data: event.data } as ServerEvent, meta);
  }

  function fireSnapshot(id: number, snapshot: ResyncSnapshot): void {
    const meta: EventMeta = { id, resync: snapshot };
    if (snapshot.me) {
      const balance: BalanceUpdated = {
        user_id: snapshot.me.id,
        balance: snapshot.me.balance,
        delta: lastBalance === null ? 0 : snapshot.me.balance - lastBalance,
        // The protocol's reason for a refetched balance; meta.resync carries the snapshot.
        reason: 'sync',
      };
      lastBalance = snapshot.me.balance;
      emitter.emit('balance:updated', balance, meta);
    }
    for (const item of [...(snapshot.inventory ?? [])].reverse()) {
      emitter.emit('inventory:updated', { user_id: snapshot.me?.id ?? 0, action: 'added', item }, meta);
    }
    for (const c of snapshot.cases ?? []) emitter.emit('cases:updated', { case_id: c.id, action: 'updated' }, meta);
    for (const message of [...(snapshot.chat ?? [])].reverse()) emitter.emit('chat:message', message, meta);
  }

  async function resync(event: WireEvent, data: SyncRequired): Promise<void> {
    const mine = ++generation;
    held ??= [];
    const snapshot = await loadSnapshot(data.reason);
    if (mine !== generation) return; // a newer sync:required superseded this one
    fireSnapshot(event.id, snapshot);
    // Release what arrived meanwhile; hooks may receive more while we do, so drain until empty.
    while (held && held.length > 0) {
      const next = held.shift()!;
      fire(next);
    }
    held = null;
  }

  return {
    get received() {
      return received;
    },
    get delivered() {
      return delivered;
    },
    startAt(id) {
      if (received === null) received = delivered = id;
    },
    deliver(event) {
      if (event.event === 'ready') return;
      if (event.event === 'sync:required') {
        // The server cannot resume our cursor: it goes on from its own position, which may be lower
        // than ours (a replaced database), so the cursor moves there unconditionally.
        const data = event.data as SyncRequired;
        // The same notice again (two sources overlapping during a switch, or a relay) changes nothing.
        if (received === data.last_event_id) return;
        received = delivered = data.last_event_id;
        emitter.emit('sync:required', data, { id: event.id });
        emitter.emit('event', { event: 'sync:required', data }, { id: event.id });
        void resync(event, data);
        return;
      }
      if (received !== null && event.id <= received) return;
      received = event.id;
      if (held) held.push(event);
      else fire(event);
    },
    rewind() {
      if (held) {
        held = null;
        generation++;
        received = delivered;
      }
    },
  };
}
