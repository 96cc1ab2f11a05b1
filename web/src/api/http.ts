/**
 * The REST API (and the ThingSpeak channel API, which takes the same cookie) as the
 * dashboard calls it: same origin, the HttpOnly session cookie rides along, and every
 * write carries the CSRF header the API demands of cookie sessions (docs/api.md,
 * "CSRF rule").
 */

/** An API answer that was not 2xx, with the API's stable error code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

let onUnauthenticated: () => void = () => undefined;

/** Called when a request finds the session gone (expired, signed out elsewhere). */
export function setUnauthenticatedHandler(handler: () => void): void {
  onUnauthenticated = handler;
}

export interface RequestOptions {
  /** Extra headers (the ThingSpeak API takes a channel's key in one). */
  headers?: Record<string, string>;
  /** Do not treat a 401 as "signed out" (sign-in itself answers 401 for a wrong password). */
  expect401?: boolean;
}

export async function request<T>(
  method: Method,
  path: string,
  body?: unknown,
  opts: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (method !== 'GET') headers['x-halyard-csrf'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const parsed = parseJson(text);
  if (!res.ok) {
    const err = errorOf(res.status, parsed, text);
    if (res.status === 401 && !opts.expect401) onUnauthenticated();
    throw err;
  }
  return parsed as T;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function errorOf(status: number, body: unknown, text: string): ApiError {
  if (body !== null && typeof body === 'object' && 'error' in body) {
    const b = body as { error: unknown; message?: unknown; field?: unknown };
    if (typeof b.error === 'string') {
      const message = typeof b.message === 'string' ? b.message : b.error;
      return new ApiError(status, b.error, message, typeof b.field === 'string' ? b.field : undefined);
    }
    // ThingSpeak's form: {"status":"401","error":{"error_code":…,"message":…,"details":…}}.
    const ts = b.error as { error_code?: unknown; details?: unknown } | null;
    if (typeof ts?.error_code === 'string' && typeof ts.details === 'string') {
      return new ApiError(status, ts.error_code, ts.details);
    }
  }
  return new ApiError(status, `HTTP_${status}`, text.trim() || `request failed (${status})`);
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, undefined, opts),
  post: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('POST', path, body, opts),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>('DELETE', path, body, opts),
};

/** A query string from the defined, non-empty entries. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
