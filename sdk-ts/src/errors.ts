/**
 * The one error type of the SDK: every refused or failed call rejects with a {@link CyberHubError}.
 * @module
 */

/**
 * A call the server refused (`status` 4xx/5xx, `code` from the server's `{"error":{"code","message"}}`
 * body), or one that never got an answer (`status` 0, `code` `"network_error"`).
 */
export class CyberHubError extends Error {
  /** The HTTP status, or 0 when the request never got an answer. */
  readonly status: number;
  /** The server's stable snake_case error code (`insufficient_funds`, `not_found`, ...). */
  readonly code: string;
  /** Seconds from a `Retry-After` header (the chat rate limit), when the server sent one. */
  readonly retryAfterSecs: number | undefined;

  /** Builds an error; the SDK does this for you, apps only read the fields. */
  constructor(status: number, code: string, message: string, retryAfterSecs?: number) {
    super(message);
    this.name = 'CyberHubError';
    this.status = status;
    this.code = code;
    this.retryAfterSecs = retryAfterSecs;
  }
}

/**
 * Turns a non-2xx response into a {@link CyberHubError}, reading the server's JSON error body when
 * there is one (a proxy's HTML error page gets the code `http_<status>`).
 */
export async function errorFromResponse(response: Response): Promise<CyberHubError> {
  let code = `http_${response.status}`;
  let message = response.statusText || code;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (body && typeof body.error?.code === 'string') code = body.error.code;
    if (body && typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not JSON: keep the status-derived code.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new CyberHubError(response.status, code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
}

/** Wraps a fetch rejection (connection refused, reset, DNS) as a `network_error`. */
export function networkError(cause: unknown): CyberHubError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new CyberHubError(0, 'network_error', message);
}
