/**
 * The one error type of the SDK: every refused or failed call rejects with a {@link CyberHubError}.
 * @module
 */

import type { ErrorCode } from './generated/ErrorCode.js';

/**
 * The SDK's own codes, for calls that got no answer from the server: `network_error` (no answer at
 * all) and `http_<status>` (an answer that was not the server's JSON error, e.g. a proxy's page).
 */
export type ClientErrorCode = 'network_error' | `http_${number}`;

/**
 * A call the server refused (`status` 4xx/5xx, `code` from the server's `{"error":{"code","message"}}`
 * body), or one that never got an answer (`status` 0, `code` `"network_error"`).
 */
export class CyberHubError extends Error {
  /** The HTTP status, or 0 when the request never got an answer. */
  readonly status: number;
  /**
   * The server's stable error code ({@link ErrorCode}: `insufficient_funds`, `not_found`, ...), one
   * of the SDK's own ({@link ClientErrorCode}), or, from a newer server, a code this version does
   * not know, passed through as sent.
   */
  readonly code: ErrorCode | ClientErrorCode | (string & {});
  /** Seconds from a `Retry-After` header (a rate limit, a full server), when the server sent one. */
  readonly retryAfterSecs: number | undefined;
  /** When a refusal that ends by itself ends (a chat mute, a rate limit), Unix ms, when given. */
  readonly until: number | undefined;

  /** Builds an error; the SDK does this for you, apps only read the fields. */
  constructor(status: number, code: ErrorCode | ClientErrorCode | (string & {}), message: string, retryAfterSecs?: number, until?: number) {
    super(message);
    this.name = 'CyberHubError';
    this.status = status;
    this.code = code;
    this.retryAfterSecs = retryAfterSecs;
    this.until = until;
  }
}

/**
 * Turns a non-2xx response into a {@link CyberHubError}, reading the server's JSON error body when
 * there is one (a proxy's HTML error page gets the code `http_<status>`).
 */
export async function errorFromResponse(response: Response): Promise<CyberHubError> {
  let code: CyberHubError['code'] = `http_${response.status}`;
  let message = response.statusText || code;
  let until: number | undefined;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown; until?: unknown } };
    if (body && typeof body.error?.code === 'string') code = body.error.code;
    if (body && typeof body.error?.message === 'string') message = body.error.message;
    if (body && typeof body.error?.until === 'number') until = body.error.until;
  } catch {
    // Not JSON: keep the status-derived code.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterSecs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  return new CyberHubError(response.status, code, message, retryAfterSecs, until);
}

/** Wraps a fetch rejection (connection refused, reset, DNS) as a `network_error`. */
export function networkError(cause: unknown): CyberHubError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new CyberHubError(0, 'network_error', message);
}
