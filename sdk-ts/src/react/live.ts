/**
 * The shared machinery of the state hooks: load over REST and keep current from events, without a
 * race between the two. Listeners are attached before the load starts; events that arrive while it
 * runs are queued and applied on top of the loaded state, in order. Every update is idempotent
 * (balances are absolute, lists merge by id), so an event the load already reflects does no harm.
 * @module
 */
import { useEffect, useReducer, useState } from 'react';
import type { CyberHubClient } from '../client.js';
import type { Unsubscribe } from '../emitter.js';
import { useCyberHub } from './provider.js';

/** What every state hook returns. */
export interface LiveState<T> {
  /** The current state; `null` until loaded (or when there is nothing to load, e.g. no token). */
  data: T | null;
  /** `true` while the first load (or a reload) runs. */
  loading: boolean;
  /** The last load's error (a `CyberHubError` for a refused call). */
  error: Error | null;
  /** Loads again from REST (events keep applying meanwhile). */
  reload(): void;
}

/** An update of the state; returns the new state (never mutates). */
export type Update<T> = (state: T) => T;

/** How one hook loads and follows its state. */
export interface LiveSpec<T> {
  /** Loads the state over REST; `null` when there is nothing to load (e.g. logged out). */
  load(client: CyberHubClient): Promise<T | null>;
  /** Attaches the event listeners; `apply` queues or applies an update, `reload` starts over. */
  follow(client: CyberHubClient, apply: (update: Update<T>) => void, reload: () => void): Unsubscribe[];
  /** Reload when the token changes (state that belongs to a user). */
  perUser?: boolean;
}

/** Runs a {@link LiveSpec}; `deps` restart it (e.g. a limit). */
export function useLive<T>(spec: LiveSpec<T>, deps: unknown[] = []): LiveState<T> {
  const client = useCyberHub();
  const [generation, reload] = useReducer((n: number) => n + 1, 0);
  const [state, setState] = useState<{ data: T | null; loading: boolean; error: Error | null }>({
    data: null,
    loading: true,
    error: null,
  });

  useEffect(() => {
    let active = true;
    let queued: Update<T>[] | null = [];
    const apply = (update: Update<T>) => {
      if (!active) return;
      if (queued) queued.push(update);
      else setState((s) => (s.data === null ? s : { ...s, data: update(s.data) }));
    };
    const offs = spec.follow(client, apply, reload);
    if (spec.perUser) offs.push(client.onTokenChange(() => reload()));
    setState((s) => ({ ...s, loading: true }));
    spec.load(client).then(
      (loaded) => {
        if (!active) return;
        let data = loaded;
        if (data !== null) for (const update of queued ?? []) data = update(data);
        queued = null;
        setState({ data, loading: false, error: null });
      },
      (error: unknown) => {
        if (!active) return;
        queued = null;
        setState((s) => ({ ...s, loading: false, error: error instanceof Error ? error : new Error(String(error)) }));
      },
    );
    return () => {
      active = false;
      for (const off of offs) off();
    };
    // spec is a fresh object each render; its identity must not restart the subscription.
  }, [client, generation, ...deps]);

  return { ...state, reload };
}

/** Inserts or replaces `item` by `id`, keeping the list sorted by `order` (newest first). */
export function upsertById<T extends { id: number }>(list: T[], item: T, newestFirst = true): T[] {
  const rest = list.filter((x) => x.id !== item.id);
  const next = [...rest, item].sort((a, b) => (newestFirst ? b.id - a.id : a.id - b.id));
  return next;
}
