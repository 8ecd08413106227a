/**
 * The message of an Error or of a Grafana fetch error
 * (`{status, data: {message}}`, `{statusText}`), with the HTTP status when known.
 */
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as {
      data?: { message?: unknown; error?: unknown };
      message?: unknown;
      statusText?: unknown;
      status?: unknown;
    };
    const msg = e.data?.message ?? e.data?.error ?? e.message ?? e.statusText;
    if (typeof msg === 'string' && msg !== '') {
      return typeof e.status === 'number' ? `${msg} (${e.status})` : msg;
    }
    if (typeof e.status === 'number') {
      return `request failed (${e.status})`;
    }
  }
  return typeof err === 'string' && err !== '' ? err : 'request failed';
}
