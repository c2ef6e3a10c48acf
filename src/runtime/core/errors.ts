/**
 * HTTP status of a failed API call, whatever shape the error has: client-node 1.x throws
 * `ApiException` with `.code` (0.x had `.response.statusCode`, which silently stops
 * matching after an upgrade), and its watch reports `.statusCode`.
 */
export function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; statusCode?: unknown; body?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  const body = typeof e.body === 'string' ? safeJson(e.body) : e.body;
  const code = (body as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (error: unknown) => statusCode(error) === 404;
/** 409: AlreadyExists on create, Conflict on update with a stale resourceVersion or failed precondition. */
export const isConflict = (error: unknown) => statusCode(error) === 409;
export const isGone = (error: unknown) => statusCode(error) === 410;

/** A short text for logs and events: the API's own message when there is one. */
export function errorMessage(error: unknown): string {
  const e = error as { body?: unknown; message?: unknown };
  const body = typeof e?.body === 'string' ? safeJson(e.body) : e?.body;
  const apiMessage = (body as { message?: unknown } | undefined)?.message;
  if (typeof apiMessage === 'string') return apiMessage;
  return typeof e?.message === 'string' ? e.message : String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
