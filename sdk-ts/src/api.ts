/**
 * Typed calls for every REST endpoint of the server. Each returns the answer's payload (lists
 * unwrapped to arrays) and rejects with a `CyberHubError` when the server refuses.
 * @module
 */
import type { AnnouncementResponse } from './generated/AnnouncementResponse.js';
import type { BalanceAdjustResponse } from './generated/BalanceAdjustResponse.js';
import type { Case } from './generated/Case.js';
import type { CaseInput } from './generated/CaseInput.js';
import type { CaseList } from './generated/CaseList.js';
import type { ChatHistory } from './generated/ChatHistory.js';
import type { ChatMessage } from './generated/ChatMessage.js';
import type { ChatMessageResponse } from './generated/ChatMessageResponse.js';
import type { ChatMuteStatus } from './generated/ChatMuteStatus.js';
import type { CreateUserRequest } from './generated/CreateUserRequest.js';
import type { DropList } from './generated/DropList.js';
import type { Fairness } from './generated/Fairness.js';
import type { Inventory } from './generated/Inventory.js';
import type { InventoryItem } from './generated/InventoryItem.js';
import type { LoginResponse } from './generated/LoginResponse.js';
import type { MuteResponse } from './generated/MuteResponse.js';
import type { OpenCaseResponse } from './generated/OpenCaseResponse.js';
import type { Opening } from './generated/Opening.js';
import type { OpeningList } from './generated/OpeningList.js';
import type { PollResponse } from './generated/PollResponse.js';
import type { RecentDrop } from './generated/RecentDrop.js';
import type { SeedRotation } from './generated/SeedRotation.js';
import type { SellResponse } from './generated/SellResponse.js';
import type { User } from './generated/User.js';
import { request, type HttpContext } from './http.js';

/** Paging of `chatHistory`: messages older than `before` (a message id), at most `limit` (50, max 200). */
export interface ChatHistoryQuery {
  /** Only messages with an id below this one (page back through history). */
  before?: number;
  /** How many, newest first (server default 50, at most 200). */
  limit?: number;
}

/** The member's calls (`client.me()`, `client.openCase(1)`, ...). */
export interface MemberApi {
  /** `GET /v1/me`: the logged-in user with the current balance. */
  me(): Promise<User>;
  /** `GET /v1/cases`: every case with its items and weights. */
  cases(): Promise<Case[]>;
  /** `GET /v1/cases/{id}`. */
  getCase(id: number): Promise<Case>;
  /** `POST /v1/cases/{id}/open`: the item won and the balance after paying (409 `insufficient_funds`). */
  openCase(id: number): Promise<OpenCaseResponse>;
  /** `GET /v1/me/inventory`, newest first. */
  inventory(): Promise<InventoryItem[]>;
  /** `POST /v1/me/inventory/{id}/sell`: sells one's own item for its value. */
  sell(itemId: number): Promise<SellResponse>;
  /** `POST /v1/chat/messages`: sends to the club chat (403 `chat_muted`, 429 over the rate limit, 409 `duplicate_message`). */
  sendChatMessage(text: string): Promise<ChatMessage>;
  /** `GET /v1/chat/messages`: newest first, deleted messages left out. */
  chatHistory(query?: ChatHistoryQuery): Promise<ChatMessage[]>;
  /** `GET /v1/chat/mute`: the caller's mute in force (`muted_until`, `reason`), or nulls. */
  chatMute(): Promise<ChatMuteStatus>;
  /** `GET /v1/drops?limit=N`: the newest drops of the live feed, newest first (N at most 100). */
  drops(limit?: number): Promise<RecentDrop[]>;
  /** `GET /v1/me/fairness`: the current seed pair (server seed hash, client seed, next nonce). */
  fairness(): Promise<Fairness>;
  /** `PUT /v1/me/fairness/client-seed`: a new pair with this client seed (1–64 printable ASCII); the old server seed revealed. */
  setClientSeed(clientSeed: string): Promise<SeedRotation>;
  /** `POST /v1/me/fairness/rotate`: a new pair; the old server seed revealed. */
  rotateSeeds(): Promise<SeedRotation>;
  /** `GET /v1/me/openings`: one's openings, newest first, with what each was drawn under and from; check one with `verifyOpening`. */
  openings(query?: { before?: number; limit?: number }): Promise<Opening[]>;
}

/** The admin's calls, `client.admin.*`. */
export interface AdminApi {
  /** `POST /v1/admin/cases`: creates a case; everyone gets `cases:updated` `created`. */
  createCase(input: CaseInput): Promise<Case>;
  /** `PUT /v1/admin/cases/{id}`: replaces a case. */
  updateCase(id: number, input: CaseInput): Promise<Case>;
  /** `DELETE /v1/admin/cases/{id}`. */
  deleteCase(id: number): Promise<void>;
  /** `POST /v1/admin/users`: creates an account. */
  createUser(input: CreateUserRequest): Promise<User>;
  /** `POST /v1/admin/users/{id}/balance`: a signed adjustment that never takes the balance below zero. */
  adjustBalance(userId: number, delta: number, reason: string): Promise<BalanceAdjustResponse>;
  /** `POST /v1/admin/announcements`: broadcasts an `announcement`. */
  announce(text: string): Promise<AnnouncementResponse>;
  /** `DELETE /v1/admin/chat/messages/{id}`: hides a chat message (204 again when already deleted). */
  deleteChatMessage(id: number): Promise<void>;
  /** `POST /v1/admin/users/{id}/mute`: mutes for 1 to 43,200 minutes; 0 lifts the mute. */
  muteUser(userId: number, minutes: number, reason: string): Promise<MuteResponse>;
}

/** Creates the member calls over an {@link HttpContext}. */
export function createMemberApi(ctx: HttpContext): MemberApi {
  return {
    me: () => request<User>(ctx, 'GET', '/v1/me'),
    cases: async () => (await request<CaseList>(ctx, 'GET', '/v1/cases')).cases,
    getCase: (id) => request<Case>(ctx, 'GET', `/v1/cases/${id}`),
    openCase: (id) => request<OpenCaseResponse>(ctx, 'POST', `/v1/cases/${id}/open`),
    inventory: async () => (await request<Inventory>(ctx, 'GET', '/v1/me/inventory')).items,
    sell: (itemId) => request<SellResponse>(ctx, 'POST', `/v1/me/inventory/${itemId}/sell`),
    sendChatMessage: async (text) =>
      (await request<ChatMessageResponse>(ctx, 'POST', '/v1/chat/messages', { body: { text } })).message,
    chatHistory: async (query = {}) =>
      (await request<ChatHistory>(ctx, 'GET', '/v1/chat/messages', { query: { before: query.before, limit: query.limit } }))
        .messages,
    chatMute: () => request<ChatMuteStatus>(ctx, 'GET', '/v1/chat/mute'),
    drops: async (limit) => (await request<DropList>(ctx, 'GET', '/v1/drops', { query: { limit } })).drops,
    fairness: () => request<Fairness>(ctx, 'GET', '/v1/me/fairness'),
    setClientSeed: (clientSeed) => request<SeedRotation>(ctx, 'PUT', '/v1/me/fairness/client-seed', { body: { client_seed: clientSeed } }),
    rotateSeeds: () => request<SeedRotation>(ctx, 'POST', '/v1/me/fairness/rotate'),
    openings: async (query = {}) =>
      (await request<OpeningList>(ctx, 'GET', '/v1/me/openings', { query: { before: query.before, limit: query.limit } })).openings,
  };
}

/** Creates the admin calls over an {@link HttpContext}. */
export function createAdminApi(ctx: HttpContext): AdminApi {
  return {
    createCase: (input) => request<Case>(ctx, 'POST', '/v1/admin/cases', { body: input }),
    updateCase: (id, input) => request<Case>(ctx, 'PUT', `/v1/admin/cases/${id}`, { body: input }),
    deleteCase: (id) => request<void>(ctx, 'DELETE', `/v1/admin/cases/${id}`),
    createUser: (input) => request<User>(ctx, 'POST', '/v1/admin/users', { body: input }),
    adjustBalance: (userId, delta, reason) =>
      request<BalanceAdjustResponse>(ctx, 'POST', `/v1/admin/users/${userId}/balance`, { body: { delta, reason } }),
    announce: (text) => request<AnnouncementResponse>(ctx, 'POST', '/v1/admin/announcements', { body: { text } }),
    deleteChatMessage: (id) => request<void>(ctx, 'DELETE', `/v1/admin/chat/messages/${id}`),
    muteUser: (userId, minutes, reason) =>
      request<MuteResponse>(ctx, 'POST', `/v1/admin/users/${userId}/mute`, { body: { minutes, reason } }),
  };
}

/** `POST /v1/auth/login` (no token needed). */
export function loginRequest(ctx: HttpContext, username: string, password: string): Promise<LoginResponse> {
  return request<LoginResponse>(ctx, 'POST', '/v1/auth/login', { body: { username, password } });
}

/** `POST /v1/auth/logout`: revokes the current token. */
export function logoutRequest(ctx: HttpContext): Promise<void> {
  return request<void>(ctx, 'POST', '/v1/auth/logout');
}

/**
 * `GET /v1/events/poll`: one long-poll. Without `after` the server answers at once with no events and
 * its current position in `next`, which is how a client fixes its starting point.
 */
export function pollEvents(
  ctx: HttpContext,
  after: number | null,
  timeoutSecs: number,
  signal: AbortSignal,
): Promise<PollResponse> {
  const query = after === null ? {} : { after, timeout: timeoutSecs };
  return request<PollResponse>(ctx, 'GET', '/v1/events/poll', { query, signal });
}
