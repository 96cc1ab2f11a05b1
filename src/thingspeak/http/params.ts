/**
 * Request parameters as ThingSpeak clients send them: in the query string
 * (even on POST, as the Python library does), in a form or JSON body, and the
 * API key in any of the places the legacy server looked (reference §0).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseQuery } from 'fast-querystring';

export type Params = Record<string, string>;

function flatten(source: unknown, into: Params): void {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return;
  for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
    const first: unknown = Array.isArray(v) ? v[0] : v;
    if (typeof first === 'string') into[k] = first;
    else if (typeof first === 'number' || typeof first === 'boolean') into[k] = String(first);
    else if (first === null) into[k] = '';
  }
}

/** Query and body parameters in one map; the body wins over the query string. */
export function paramsOf(url: string, body: unknown): Params {
  const params: Params = {};
  const q = url.indexOf('?');
  // Fastify's own query parser: `+` is a space, a malformed escape stays as sent, and the
  // first of repeated names wins (flatten takes an array's first value).
  if (q >= 0) flatten(parseQuery(url.slice(q + 1)), params);
  flatten(body, params);
  return params;
}

export function requestParams(req: { url: string; body?: unknown }): Params {
  return paramsOf(req.url, req.body);
}

/** Nothing to decode in it, and no name that is special on a plain object. */
const PLAIN_FORM = /^(?:(?!__proto__)[^%+])*$/;

/**
 * A form body; the last of repeated names wins. What devices send (`api_key=…&field1=21.5`)
 * has nothing to decode and is split here directly: URLSearchParams and an object made from
 * it cost three times as long (about 1 µs of each `/update`).
 */
export function parseForm(text: string): Params {
  if (!PLAIN_FORM.test(text)) return Object.fromEntries(new URLSearchParams(text));
  const params: Params = {};
  for (let at = 0; at <= text.length;) {
    const found = text.indexOf('&', at);
    const end = found < 0 ? text.length : found;
    if (end > at) {
      const eq = text.indexOf('=', at);
      if (eq < 0 || eq > end) params[text.slice(at, end)] = '';
      else params[text.slice(at, eq)] = text.slice(eq + 1, end);
    }
    at = end + 1;
  }
  return params;
}

/** A body of unknown type: JSON when it looks like JSON and parses, else a form. */
export function parseAny(text: string): unknown {
  const t = text.trim();
  if (t === '') return {};
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      // Not JSON after all: read it as a form.
    }
  }
  return parseForm(t);
}

/**
 * The API key: any header whose name contains THINGSPEAKAPIKEY (THINGSPEAKAPIKEY,
 * X-THINGSPEAKAPIKEY…), then the parameters `key`, `api_key`, `apikey`, in the
 * legacy server's order.
 */
export function apiKey(req: { headers: IncomingHttpHeaders }, params: Params): string | undefined {
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.includes('thingspeakapikey')) continue;
    const v = Array.isArray(value) ? value[0] : value;
    if (v) return v.trim();
  }
  for (const name of ['key', 'api_key', 'apikey']) {
    const v = params[name];
    if (v) return v.trim();
  }
  return undefined;
}

export function truthy(v: string | undefined): boolean {
  return v === 'true' || v === '1';
}

/** A finite number, undefined when absent or empty, NaN when malformed. */
export function numberParam(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  return Number(v);
}
