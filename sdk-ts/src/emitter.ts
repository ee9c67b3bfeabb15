/**
 * A typed, synchronous listener registry: `on` returns the unsubscribe function, and a throwing
 * listener neither stops the others nor breaks the stream.
 * @module
 */

/** Removes the listener it was returned for; calling it twice is harmless. */
export type Unsubscribe = () => void;

/** A registry of listeners keyed by the names of `Events`, each taking that name's arguments. */
export interface Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  /** Adds a listener; returns its unsubscribe function. */
  on<K extends keyof Events>(name: K, listener: (...args: Events[K]) => void): Unsubscribe;
  /** Calls every listener of `name` in the order they were added. */
  emit<K extends keyof Events>(name: K, ...args: Events[K]): void;
  /** Whether `name` has at least one listener. */
  has(name: keyof Events): boolean;
}

/** Creates an empty {@link Emitter}. */
export function createEmitter<Events extends { [K in keyof Events]: unknown[] }>(): Emitter<Events> {
  type Listener = (...args: unknown[]) => void;
  const listeners = new Map<keyof Events, Set<Listener>>();
  return {
    on(name, listener) {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      // Wrap so the same function added twice gets two independent subscriptions.
      const entry: Listener = (...args) => (listener as unknown as Listener)(...args);
      set.add(entry);
      return () => void set.delete(entry);
    },
    emit(name, ...args) {
      const set = listeners.get(name);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          listener(...args);
        } catch (error) {
          reportListenerError(error);
        }
      }
    },
    has(name) {
      return (listeners.get(name)?.size ?? 0) > 0;
    },
  };
}

/** An app's listener threw: surface it like an uncaught error without unwinding the SDK's loop. */
function reportListenerError(error: unknown): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
  if (typeof report === 'function') report(error);
  else setTimeout(() => { throw error; });
}
