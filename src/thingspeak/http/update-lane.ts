/**
 * `/update` past Fastify's pipeline: what devices send (a GET with a query
 * string, a POST with a form body of ordinary size) takes this fast lane
 * (transport/http.ts); anything else (JSON, XML or text bodies, chunked or
 * large bodies, preflights, HEAD) is left to the Fastify route. Both answer
 * through the same core (write-routes.ts `updateAnswer`, reply.ts
 * `writeAnswer`), so the answers are the same byte for byte.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { FastLane } from '../../transport/http.js';
import { apiKey, paramsOf, parseAny, parseForm } from './params.js';
import { writeAnswer, type Format } from './reply.js';
import { updateAnswer, type WriteDeps } from './write-routes.js';

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
  /** Never throws: whatever fails is answered `400 0`, as the Fastify route's error handler does. */
  const answer = async (
    req: IncomingMessage,
    res: ServerResponse,
    format: Format,
    body: unknown,
  ): Promise<void> => {
    try {
      const p = paramsOf(req.url!, body);
      const a = await updateAnswer(deps, p, apiKey(req, p), format);
      writeAnswer(res, a.status, a.format, a.body);
    } catch (err) {
      logger.error({ err }, 'ThingSpeak API request failed');
      if (!res.headersSent) writeAnswer(res, 400, format, '0');
    }
  };
  return (req, res) => {
    const route = laneRoute(req.method, req.url!, req.headers);
    if (route === undefined) return false;
    if (route.body === 'none') {
      void answer(req, res, route.format, undefined);
      return true;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
      void answer(req, res, route.format, route.body === 'form' ? parseForm(text) : parseAny(text));
    });
    // A body cut short (the client went away): nobody is left to answer.
    req.on('error', () => undefined);
    return true;
  };
}
