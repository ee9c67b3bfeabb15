/**
 * `createClient`: the typed REST calls, the hooks, and the stream that feeds them, put together.
 * State is private to the factory's closure; the returned object is the whole public surface.
 * @module
 */
import {
  createAdminApi,
  createMemberApi,
  loginRequest,
  logoutRequest,
  type AdminApi,
  type MemberApi,
} from './api.js';
import { DEFAULT_BACKOFF, sleep } from './backoff.js';
import { startConnection, type Connection } from './connection.js';
import { createDispatcher, type HookEvents } from './dispatcher.js';
import { createEmitter, type Unsubscribe } from './emitter.js';
import { isOffline, watchOnline } from './environment.js';
import { CyberHubError } from './errors.js';
import type { LoginResponse } from './generated/LoginResponse.js';
import type { ServerEvent } from './generated/ServerEvent.js';
import type { HttpContext } from './http.js';
import { canShareTabs, groupKey, joinTabGroup, type TabGroup, type TabMessage } from './tabs.js';
import type {
  ClientOptions,
  ConnectionState,
  ConnectionStatus,
  EventHandler,
  EventMeta,
  ResyncSnapshot,
  TransportKind,
  WireEvent,
} from './types.js';

/** The client: typed REST calls, one hook per protocol event, and the stream behind them. */
export interface CyberHubClient extends MemberApi {
  /** The admin calls (they need an admin's token). */
  readonly admin: AdminApi;
  /** `POST /v1/auth/login`; keeps the token for every later call and the stream. */
  login(username: string, password: string): Promise<LoginResponse>;
  /** `POST /v1/auth/logout`: revokes the token on the server, then forgets it. */
  logout(): Promise<void>;
  /** Sets or clears the bearer token; a running stream reconnects as the new user from the same cursor. */
  setToken(token: string | null): void;
  /** The current bearer token. */
  readonly token: string | null;
  /**
   * Starts the stream (hooks may be added before or after). The promise resolves once the starting
   * position is fixed: every event committed after that reaches the hooks. Calling it while running
   * does nothing; after `close()` it resumes from `lastEventId`.
   */
  connect(): Promise<void>;
  /** Stops the stream; state `closed`. */
  close(): void;
  /** Where the connection stands and on which transport. */
  readonly connectionState: ConnectionState;
  /** The last outbox id every hook has seen (`null` before the start position is known). */
  readonly lastEventId: number | null;
  /** Whether this client holds the stream itself (false for a tab that follows another tab's stream). */
  readonly isLeader: boolean;

  /** `cases:updated`: a case was created, updated or deleted. */
  onCasesUpdated(handler: EventHandler<'cases:updated'>): Unsubscribe;
  /** `balance:updated`: the user's new balance (absolute) and the change. */
  onBalanceUpdated(handler: EventHandler<'balance:updated'>): Unsubscribe;
  /** `inventory:updated`: one item added (won) or removed (sold). */
  onInventoryUpdated(handler: EventHandler<'inventory:updated'>): Unsubscribe;
  /** `drop:new`: one line of the live drop feed (`meta.id` is the drop's id in `drops()`). */
  onDrop(handler: EventHandler<'drop:new'>): Unsubscribe;
  /** `announcement`: an admin's broadcast. */
  onAnnouncement(handler: EventHandler<'announcement'>): Unsubscribe;
  /** `sync:required`: fired first; the refetched state then follows through the other hooks. */
  onSyncRequired(handler: EventHandler<'sync:required'>): Unsubscribe;
  /** `chat:message`: a new message in the club chat. */
  onChatMessage(handler: EventHandler<'chat:message'>): Unsubscribe;
  /** `chat:deleted`: a moderator removed a message. */
  onChatDeleted(handler: EventHandler<'chat:deleted'>): Unsubscribe;
  /** `chat:muted`: this user was muted (`muted_until`) or unmuted (`null`). */
  onChatMuted(handler: EventHandler<'chat:muted'>): Unsubscribe;
  /** Every wire event the other hooks receive, as the generated `ServerEvent` union (not resync calls). */
  onEvent(handler: (event: ServerEvent, meta: EventMeta) => void): Unsubscribe;
  /** Every change of {@link ConnectionState}. */
  onConnectionChange(handler: (state: ConnectionState) => void): Unsubscribe;
  /** Every change of the token (login, logout, `setToken`); the React hooks reload on it. */
  onTokenChange(handler: (token: string | null) => void): Unsubscribe;
}

type ClientEvents = HookEvents & { connection: [ConnectionState]; token: [string | null] };

/** How long a tab that follows another tab's stream waits for the leader's `welcome` in `connect()`. */
const WELCOME_WAIT_MS = 3000;

/** Creates a client. Nothing is sent until a call, `login()` or `connect()`. */
export function createClient(options: ClientOptions): CyberHubClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  let token: string | null = options.token ?? null;
  const http: HttpContext = { baseUrl, fetch: fetchImpl, token: () => token };
  const member = createMemberApi(http);
  const admin = createAdminApi(http);
  const emitter = createEmitter<ClientEvents>();
  const dispatcher = createDispatcher(emitter, loadSnapshot, options.lastEventId ?? null);
  const shareTabs = options.shareAcrossTabs !== false && canShareTabs();

  let state: ConnectionState = { state: 'closed', transport: null };
  let running = false;
  let offline = false;
  let connection: Connection | null = null;
  let group: TabGroup | null = null;
  let leader = false;
  let unwatchOnline: (() => void) | null = null;

  function setState(next: ConnectionStatus, transport: TransportKind | null): void {
    if (state.state === next && state.transport === transport) return;
    state = { state: next, transport };
    if (leader) group?.post({ type: 'state', state });
    emitter.emit('connection', state);
  }

  function deliver(event: WireEvent): void {
    if (leader) group?.post({ type: 'event', event });
    dispatcher.deliver(event);
  }

  function startStream(): Connection {
    return startConnection({
      http,
      mode: options.transport ?? 'auto',
      readyTimeoutMs: options.readyTimeoutMs ?? 3000,
      watchdogHeartbeats: options.watchdogHeartbeats ?? 2,
      pollTimeoutSecs: options.pollTimeoutSecs ?? 25,
      sseRetryMs: options.sseRetryMs ?? 30_000,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      cursor: () => dispatcher.received,
      startAt: (id) => dispatcher.startAt(id),
      deliver,
      setState,
      unauthorized() {
        // The session ended elsewhere (logout on another device, an operator's revoke, expiry): the
        // member's private events stop, the global ones go on, and the app learns it through
        // onTokenChange(null) and shows a sign-in.
        if (token === null) return false;
        setToken(null);
        return true;
      },
    });
  }

  function start(): Promise<void> {
    if (offline) {
      setState('offline', null);
      return Promise.resolve();
    }
    if (!shareTabs) {
      leader = true;
      connection = startStream();
      return connection.started;
    }
    setState('connecting', null);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, WELCOME_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const onMessage = (message: TabMessage) => {
        if (leader) {
          if (message.type === 'hello') group?.post({ type: 'welcome', state, cursor: dispatcher.received });
          return;
        }
        if (message.type === 'event') dispatcher.deliver(message.event);
        else if (message.type === 'state') setState(message.state.state, message.state.transport);
        else if (message.type === 'welcome') {
          if (message.cursor !== null) dispatcher.startAt(message.cursor);
          setState(message.state.state, message.state.transport);
          done();
        }
      };
      group = joinTabGroup(groupKey(baseUrl, token), {
        onLead() {
          leader = true;
          connection = startStream();
          void connection.started.then(done);
        },
        onMessage,
      });
      group.post({ type: 'hello' });
    });
  }

  function stop(): void {
    connection?.stop();
    connection = null;
    group?.leave();
    group = null;
    leader = false;
    dispatcher.rewind();
  }

  async function loadSnapshot(reason: ResyncSnapshot['reason']): Promise<ResyncSnapshot> {
    const snapshot: ResyncSnapshot = { reason };
    const parts: Promise<unknown>[] = [
      retrying(member.cases).then((cases) => (snapshot.cases = cases)),
      retrying(() => member.chatHistory()).then((chat) => (snapshot.chat = chat)),
    ];
    if (token) {
      parts.push(retrying(member.me).then((me) => (snapshot.me = me)));
      parts.push(retrying(member.inventory).then((items) => (snapshot.inventory = items)));
    }
    await Promise.allSettled(parts);
    return snapshot;
  }

  function setToken(next: string | null): void {
    if (next === token) return;
    token = next;
    emitter.emit('token', token);
    if (running && !offline) {
      stop();
      void start();
    }
  }

  const on =
    <K extends keyof ClientEvents>(name: K) =>
    (handler: (...args: ClientEvents[K]) => void): Unsubscribe =>
      emitter.on(name, handler);

  return {
    ...member,
    admin,
    async login(username, password) {
      const answer = await loginRequest(http, username, password);
      setToken(answer.token);
      return answer;
    },
    async logout() {
      if (token) await logoutRequest(http);
      setToken(null);
    },
    setToken,
    get token() {
      return token;
    },
    connect() {
      if (running) return Promise.resolve();
      running = true;
      offline = isOffline();
      unwatchOnline = watchOnline((nowOffline) => {
        if (!running || nowOffline === offline) return;
        offline = nowOffline;
        stop();
        void start();
      });
      return start();
    },
    close() {
      if (!running) return;
      running = false;
      unwatchOnline?.();
      unwatchOnline = null;
      stop();
      setState('closed', null);
    },
    get connectionState() {
      return state;
    },
    get lastEventId() {
      return dispatcher.delivered;
    },
    get isLeader() {
      return leader;
    },
    onCasesUpdated: on('cases:updated'),
    onBalanceUpdated: on('balance:updated'),
    onInventoryUpdated: on('inventory:updated'),
    onDrop: on('drop:new'),
    onAnnouncement: on('announcement'),
    onSyncRequired: on('sync:required'),
    onChatMessage: on('chat:message'),
    onChatDeleted: on('chat:deleted'),
    onChatMuted: on('chat:muted'),
    onEvent: on('event'),
    onConnectionChange: on('connection'),
    onTokenChange: on('token'),
  };
}

/**
 * Retries a refetch a few times on failures that may pass (no answer, 5xx, 429); a refusal (4xx)
 * is final, e.g. a server without the chat answers 404 and the snapshot goes without chat.
 */
async function retrying<T>(load: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await load();
    } catch (error) {
      const transient = !(error instanceof CyberHubError) || error.status === 0 || error.status >= 500 || error.status === 429;
      if (!transient || attempt >= 4) throw error;
      await sleep(250 * 2 ** attempt);
    }
  }
}
