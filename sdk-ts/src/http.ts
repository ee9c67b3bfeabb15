/**
 * One JSON request to the REST API: the bearer token, the JSON body, and the error mapping that
 * every typed call shares.
 * @module
 */
import { CyberHubError, errorFromResponse, networkError } from './errors.js';

/** What a request needs from the client: where, how, and as whom. */
export interface HttpContext {
  /** The server's origin (no trailing slash). */
  baseUrl: string;
  /** The injectable `fetch`. */
  fetch: typeof fetch;
  /** The current bearer token, read at each request. */
  token(): string | null;
}

/** Options of one {@link request}. */
export interface RequestOptions {
  /** A JSON body. */
  body?: unknown;
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | number | undefined>;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Extra headers (e.g. `Accept`). */
  headers?: Record<string, string>;
}

/** Builds an absolute URL from the base, a path and optional query parameters. */
export function buildUrl(baseUrl: string, path: string, query?: RequestOptions['query']): string {
  let url = baseUrl + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  return url;
}

/** The headers of an authenticated request (nothing when there is no token). */
export function authHeaders(ctx: HttpContext): Record<string, string> {
  const token = ctx.token();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/**
 * Sends one request and returns the parsed JSON answer (`undefined` for 204). Rejects with a
 * {@link CyberHubError} for any non-2xx answer or a request that got no answer.
 */
export async function request<T>(ctx: HttpContext, method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(ctx), ...options.headers };
  const init: RequestInit = { method, headers, signal: options.signal ?? null };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await ctx.fetch(buildUrl(ctx.baseUrl, path, options.query), init);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw networkError(error);
  }
  if (!response.ok) throw await errorFromResponse(response);
  if (response.status === 204) return undefined as T;
  try {
    return (await response.json()) as T;
  } catch (error) {
    throw new CyberHubError(response.status, 'invalid_response', `not a JSON answer: ${String(error)}`);
  }
}
