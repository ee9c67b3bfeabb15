/**
 * The state hooks: each loads its state over REST and keeps it current from the stream's events
 * (see `live.ts` for why that is race-free). After `sync:required` they replace their state with the
 * refetched snapshot the SDK passes in `meta.resync`.
 * @module
 */
import { useSyncExternalStore, useState, useEffect } from 'react';
import { CyberHubError } from '../errors.js';
import type { Case } from '../generated/Case.js';
import type { ChatMessage } from '../generated/ChatMessage.js';
import type { ChatMuteStatus } from '../generated/ChatMuteStatus.js';
import type { InventoryItem } from '../generated/InventoryItem.js';
import type { RecentDrop } from '../generated/RecentDrop.js';
import type { User } from '../generated/User.js';
import type { ConnectionState } from '../types.js';
import { upsertById, useLive, type LiveState } from './live.js';
import { useCyberHub } from './provider.js';

/** The live {@link ConnectionState} (for the green/amber/red indicator). */
export function useConnectionState(): ConnectionState {
  const client = useCyberHub();
  return useSyncExternalStore(
    (notify) => client.onConnectionChange(notify),
    () => client.connectionState,
    () => client.connectionState,
  );
}

/** The logged-in user with the live balance; `data` is `null` without a token. */
export function useMe(): LiveState<User> {
  return useLive<User>({
    perUser: true,
    load: (client) => (client.token ? client.me() : Promise.resolve(null)),
    follow: (client, apply) => [
      client.onBalanceUpdated((e, meta) => {
        const fresh = meta.resync?.me;
        apply((me) => (fresh ? fresh : me.id === e.user_id ? { ...me, balance: e.balance } : me));
      }),
    ],
  });
}

/** Every case, kept current: a created or updated case is refetched, a deleted one removed. */
export function useCases(): LiveState<Case[]> {
  return useLive<Case[]>({
    load: (client) => client.cases(),
    follow(client, apply) {
      // The newest event per case: a refetch answer older than it is dropped, so a slow
      // `getCase` after "updated" cannot bring back a case a later "deleted" removed.
      const latest = new Map<number, number>();
      return [
        client.onCasesUpdated((e, meta) => {
          const snapshot = meta.resync?.cases;
          if (snapshot) return apply(() => snapshot);
          latest.set(e.case_id, meta.id);
          if (e.action === 'deleted') return apply((cases) => cases.filter((c) => c.id !== e.case_id));
          client.getCase(e.case_id).then(
            (fresh) => {
              if (latest.get(e.case_id) === meta.id) apply((cases) => upsertById(cases, fresh, false));
            },
            (error: unknown) => {
              if (error instanceof CyberHubError && error.status === 404 && latest.get(e.case_id) === meta.id) {
                apply((cases) => cases.filter((c) => c.id !== e.case_id));
              }
            },
          );
        }),
      ];
    },
  });
}

/** The user's inventory, newest first, merged by item id. */
export function useInventory(): LiveState<InventoryItem[]> {
  return useLive<InventoryItem[]>({
    perUser: true,
    load: (client) => (client.token ? client.inventory() : Promise.resolve(null)),
    follow: (client, apply) => [
      client.onInventoryUpdated((e, meta) => {
        const snapshot = meta.resync?.inventory;
        if (snapshot) return apply(() => snapshot);
        apply((items) => (e.action === 'added' ? upsertById(items, e.item) : items.filter((i) => i.id !== e.item.id)));
      }),
    ],
  });
}

/** The live drop feed: the newest `limit` drops (at most 100), merged by drop id, newest first. */
export function useDrops(limit = 20): LiveState<RecentDrop[]> {
  return useLive<RecentDrop[]>(
    {
      load: (client) => client.drops(limit),
      follow: (client, apply, reload) => [
        client.onDrop((e, meta) => apply((drops) => upsertById(drops, { id: meta.id, at: Date.now(), ...e }).slice(0, limit))),
        // Drops are not part of the SDK's resync snapshot: after a gap, load the feed again.
        client.onSyncRequired(() => reload()),
      ],
    },
    [limit],
  );
}

/** An announcement as {@link useAnnouncements} keeps it. */
export interface ReceivedAnnouncement {
  /** The event id. */
  id: number;
  /** The text. */
  text: string;
  /** When it arrived (client clock, ms). */
  at: number;
}

/** Announcements received since the page opened (the server keeps no list of them), newest first. */
export function useAnnouncements(max = 10): ReceivedAnnouncement[] {
  const client = useCyberHub();
  const [list, setList] = useState<ReceivedAnnouncement[]>([]);
  useEffect(
    () =>
      client.onAnnouncement((e, meta) =>
        setList((l) => upsertById(l, { id: meta.id, text: e.text, at: Date.now() }).slice(0, max)),
      ),
    [client, max],
  );
  return list;
}

/** What {@link useChat} returns. */
export interface ChatState extends LiveState<ChatMessage[]> {
  /** Sends a message (rejects with `CyberHubError`: `chat_muted`, 429, `duplicate_message`). */
  send(text: string): Promise<ChatMessage>;
  /**
   * When this user's mute ends (Unix ms), loaded with the page and kept current by `chat:muted`;
   * `null` when not muted. A mute that ran out keeps its time here: compare it with the clock.
   */
  mutedUntil: number | null;
  /** The moderator's reason for that mute. */
  muteReason: string | null;
}

/** The club chat: the newest `limit` messages (newest first), kept current, plus send and mute state. */
export function useChat(limit = 50): ChatState {
  const client = useCyberHub();
  const mute = useLive<ChatMuteStatus>({
    perUser: true,
    load: (c) => (c.token ? c.chatMute() : Promise.resolve(null)),
    follow: (c, apply, reload) => [
      c.onChatMuted((e) => apply(() => ({ muted_until: e.muted_until, reason: e.muted_until === null ? null : e.reason }))),
      // A `chat:muted` may be among the events a resync skipped.
      c.onSyncRequired(() => reload()),
    ],
  });
  const live = useLive<ChatMessage[]>(
    {
      load: (c) => c.chatHistory({ limit }),
      follow: (c, apply) => [
        c.onChatMessage((m, meta) => {
          const snapshot = meta.resync?.chat;
          if (snapshot) return apply(() => snapshot);
          apply((list) => upsertById(list, m).slice(0, limit));
        }),
        c.onChatDeleted((e) => apply((list) => list.filter((m) => m.id !== e.id))),
      ],
    },
    [limit],
  );
  const send = (text: string) =>
    client.sendChatMessage(text).catch((error: unknown) => {
      // Refused for a mute this page had not heard of: show it.
      if (error instanceof CyberHubError && error.code === 'chat_muted') mute.reload();
      throw error;
    });
  return { ...live, send, mutedUntil: mute.data?.muted_until ?? null, muteReason: mute.data?.reason ?? null };
}
