/**
 * The browser's online/offline signal. Offline pauses the stream at once instead of letting it time
 * out; online resumes it at once instead of waiting out a backoff. Page visibility is deliberately
 * not watched: a hidden tab keeps its stream, so a member's balance is current when they come back.
 * @module
 */

/** Whether the browser says it is offline now (always `false` outside a browser). */
export function isOffline(): boolean {
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  return typeof window !== 'undefined' && nav?.onLine === false;
}

/** Calls `onChange(offline)` on the browser's `offline`/`online` events; returns the remover. */
export function watchOnline(onChange: (offline: boolean) => void): () => void {
  if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') return () => undefined;
  const offline = () => onChange(true);
  const online = () => onChange(false);
  window.addEventListener('offline', offline);
  window.addEventListener('online', online);
  return () => {
    window.removeEventListener('offline', offline);
    window.removeEventListener('online', online);
  };
}
