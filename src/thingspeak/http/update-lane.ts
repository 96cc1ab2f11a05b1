/**
 * `/update` past Fastify's pipeline: what devices send (a GET with a query
 * string, a POST with a form body of ordinary size) takes this fast lane
 * (transport/fast-lanes.ts, lane-front.ts); anything else (JSON, XML or text bodies, chunked or
 * large bodies, preflights, HEAD) is left to the Fastify route. Both answer
 * through the same core (write-routes.ts `updateAnswer`, reply.ts
 * `writeAnswer`), so the answers are the same byte for byte.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { FastLane, LaneAnswer } from '../../transport/fast-lanes.js';
import { apiKey, paramsOf, parseAny, parseForm } from './params.js';
import { answerHeaders, type Format } from './reply.js';
import { updateAnswer, type UpdateAnswer, type WriteDeps } from './write-routes.js';

/** Larger bodies go to the Fastify route, which streams them against the API's body limit. */
export const LANE_BODY_LIMIT = 64 * 1024;

const FORMATS = new Map<string, Format>([
  ['/update', 'txt'],
  ['/update.json', 'json'],
  ['/update.xml', 'xml'],
]);

/** The content types taken as a form here; Fastify judges every other one. */
const FORM_TYPE = /^application\/x-www-form-urlencoded(?:; ?charset=utf-8)?$/i;

export interface LaneRoute {
  format: Format;
  /** How the body reads: none to read, a form, or sniffed (no content type: JSON or a form). */
  body: 'none' | 'form' | 'sniffed';
}

/** How the lane takes this request, or undefined when it is the Fastify route's. */
export function laneRoute(
  method: string | undefined,
  url: string,
  headers: IncomingHttpHeaders,
): LaneRoute | undefined {
  if (method !== 'GET' && method !== 'POST') return undefined;
  const q = url.indexOf('?');
  const format = FORMATS.get(q < 0 ? url : url.slice(0, q));
  if (format === undefined || headers['transfer-encoding'] !== undefined) return undefined;
  const declared = headers['content-length'];
  if (declared !== undefined && !/^\d{1,9}$/.test(declared)) return undefined;
  const length = declared === undefined ? 0 : Number(declared);
  if (length > LANE_BODY_LIMIT) return undefined;
  if (method === 'GET') return length === 0 ? { format, body: 'none' } : undefined;
  const type = headers['content-type'];
  if (type === undefined) return { format, body: length === 0 ? 'none' : 'sniffed' };
  return FORM_TYPE.test(type) ? { format, body: length === 0 ? 'none' : 'form' } : undefined;
}

/** The lane for `GET|POST /update[.json|.xml]`; failures are logged as the Fastify route logs them. */
export function updateLane(deps: WriteDeps, logger: Pick<FastifyBaseLogger, 'error'>): FastLane {
  return (method, url, headers) => {
    const route = laneRoute(method, url, headers);
    if (route === undefined) return undefined;
    /** Never rejects: whatever fails is answered `400 0`, as the Fastify route's error handler does. */
    return async (raw: Buffer): Promise<LaneAnswer> => {
      let a: UpdateAnswer;
      try {
        const text = route.body === 'none' ? '' : raw.toString('utf8');
        const body =
          route.body === 'form' ? parseForm(text) : route.body === 'sniffed' ? parseAny(text) : undefined;
        const p = paramsOf(url, body);
        a = await updateAnswer(deps, p, apiKey({ headers }, p), route.format);
      } catch (err) {
        logger.error({ err }, 'ThingSpeak API request failed');
        a = { status: 400, format: route.format, body: '0' };
      }
      return { status: a.status, headers: answerHeaders(a.format, a.body), body: a.body };
    };
  };
}
