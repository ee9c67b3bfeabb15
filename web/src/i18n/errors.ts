// A refused call in the page's language. The SDK's CyberHubError carries the server's stable code;
// the server's message is English and for developers, so it is shown only for a code we have no
// text for (a newer server, a proxy's `http_502`), which beats showing nothing.
import type { Dictionary, ErrorDetails } from './en';
import type { Formatters } from './format';

interface Coded {
  code: string;
  message: string;
  retryAfterSecs?: number;
  until?: number;
}

// By shape rather than `instanceof`: the page and the SDK's tests may hold different copies of the class.
function isCoded(error: unknown): error is Coded {
  return error instanceof Error && typeof (error as Partial<Coded>).code === 'string';
}

export function errorText(t: Dictionary, fmt: Formatters, error: unknown): string {
  if (isCoded(error) && Object.hasOwn(t.errors, error.code)) {
    const text = t.errors[error.code as keyof Dictionary['errors']];
    if (typeof text === 'string') return text;
    const details: ErrorDetails = {};
    const seconds = error.retryAfterSecs ?? (error.until ? Math.ceil((error.until - Date.now()) / 1000) : undefined);
    if (seconds !== undefined && seconds > 0) details.seconds = seconds;
    if (error.until !== undefined) details.until = fmt.moment(error.until);
    return text(details);
  }
  if (error instanceof Error) return error.message || (isCoded(error) ? error.code : error.name);
  return String(error);
}
