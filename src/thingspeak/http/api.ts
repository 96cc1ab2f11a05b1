/**
 * The ThingSpeak-compatible HTTP API (docs/thingspeak.md), on the root of the
 * HTTP app: `/update`, `/channels/…`. An encapsulated plugin with its own body
 * parsers and error handler, so it answers in ThingSpeak's forms and not the
 * registry API's. Paths under /channels are matched here rather than by
 * Fastify's router: ThingSpeak mixes extensions, singular aliases and
 * `field1`-style numbers that read more clearly as one table.
 */
import fastifyCookie from '@fastify/cookie';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RegistryService } from '../../registry/service.js';
import type { ChannelService } from '../service.js';
import { handleManage, type ManageAction } from './manage-routes.js';
import { fieldNumber, handleRead, type ReadTarget } from './read-routes.js';
import { parseAny, parseForm } from './params.js';
import { formatOf, send, sendError, sendPreflight, type Format } from './reply.js';
import { handlePublicChannels, handleUserChannels } from './public-routes.js';
import { handleBulk, handleUpdate } from './write-routes.js';
import { fastLanesOf, type HttpApp } from '../../transport/http.js';
import { updateLane } from './update-lane.js';

export interface ThingSpeakApiOptions {
  channels: ChannelService;
  registry: RegistryService;
  now?: () => number;
}

/**
 * Bulk updates of 14,400 entries (a paid account's most) fit comfortably. A
 * larger body is refused with 413 from its Content-Length, or as soon as that
 * many bytes have arrived, never buffered whole.
 */
export const BODY_LIMIT = 8 * 1024 * 1024;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Handler = (req: FastifyRequest, reply: FastifyReply, format: Format) => Promise<void>;

function badRequest(message: string): FastifyError {
  return Object.assign(new Error(message), { statusCode: 400, code: 'TS_BAD_BODY', name: 'BadBody' });
}

function parsers(instance: FastifyInstance): void {
  instance.removeAllContentTypeParsers();
  const opts = { parseAs: 'string' as const, bodyLimit: BODY_LIMIT };
  instance.addContentTypeParser('application/x-www-form-urlencoded', opts, (_req, body: string, done) =>
    done(null, parseForm(body)),
  );
  instance.addContentTypeParser('application/json', opts, (_req, body: string, done) => {
    const text = body.trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(badRequest('invalid JSON body'), undefined);
    }
  });
  instance.addContentTypeParser('text/plain', opts, (_req, body: string, done) => done(null, parseAny(body)));
  instance.addContentTypeParser('*', opts, (_req, body: string, done) => done(null, parseAny(body)));
}

/** The path's format: `feeds.json` → ['feeds', 'json']; unknown extensions are undefined. */
function splitExt(path: string): { path: string; format: Format | undefined } {
  const m = /^(.*?)(?:\.([a-z]+))?$/.exec(path)!;
  return { path: m[1], format: formatOf(m[2]) };
}

const CHANNEL_PATHS: Array<{ re: RegExp; read: (m: RegExpExecArray) => ReadTarget | undefined }> = [
  { re: /^(?:feeds|feed)$/, read: () => ({ kind: 'feed' }) },
  { re: /^(?:feeds|feed)\/last$/, read: () => ({ kind: 'last' }) },
  { re: /^(?:feeds|feed)\/(\d+)$/, read: (m) => ({ kind: 'entry', entryId: Number(m[1]) }) },
  {
    re: /^(?:fields|field)\/(\w+)$/,
    read: (m) => {
      const field = fieldNumber(m[1]);
      return field ? { kind: 'feed', field } : undefined;
    },
  },
  {
    re: /^(?:fields|field)\/(\w+)\/last$/,
    read: (m) => {
      const field = fieldNumber(m[1]);
      return field ? { kind: 'last', field } : undefined;
    },
  },
  { re: /^(?:feeds|feed)\/last_data_age$/, read: () => ({ kind: 'age' }) },
  {
    re: /^(?:fields|field)\/(\w+)\/last_data_age$/,
    read: (m) => {
      const field = fieldNumber(m[1]);
      return field ? { kind: 'age', field } : undefined;
    },
  },
  { re: /^status$/, read: () => ({ kind: 'status' }) },
  { re: /^status\/last$/, read: () => ({ kind: 'status-last' }) },
  { re: /^last_entry_id$/, read: () => ({ kind: 'last-entry-id' }) },
];

export async function registerThingSpeakApi(app: HttpApp, opts: ThingSpeakApiOptions): Promise<void> {
  const now = opts.now ?? Date.now;
  const deps = { channels: opts.channels, registry: opts.registry, now };
  // What devices send to /update skips Fastify's pipeline (update-lane.ts); the route below takes the rest.
  fastLanesOf(app)?.add(updateLane(deps, app.log));

  /** The handler of one `/channels/<rest>` request, or undefined (404). */
  function channelRoute(method: Method, rest: string): { handler: Handler; format: Format } | undefined {
    const { path, format } = splitExt(rest);
    if (!format) return undefined;
    const m = /^(\d+)(?:\/(.*))?$/.exec(path);
    if (!m) return undefined;
    const id = Number(m[1]);
    const sub = m[2];
    const manage =
      (action: ManageAction): Handler =>
      (req, reply, f) =>
        handleManage(deps, req, reply, action, f);
    if (sub === undefined) {
      if (format !== 'json' && format !== 'xml') return undefined;
      if (method === 'GET') return { handler: manage({ kind: 'get', id }), format };
      if (method === 'PUT') return { handler: manage({ kind: 'update', id }), format };
      if (method === 'DELETE') return { handler: manage({ kind: 'delete', id }), format };
      return undefined;
    }
    if (sub === 'bulk_update' && method === 'POST' && (format === 'json' || format === 'csv'))
      return { handler: (req, reply) => handleBulk(deps, req, reply, id, format), format: 'json' };
    if (sub === 'feeds' && method === 'DELETE' && (format === 'json' || format === 'xml'))
      return { handler: manage({ kind: 'clear', id }), format };
    if (method !== 'GET') return undefined;
    for (const route of CHANNEL_PATHS) {
      const hit = route.re.exec(sub);
      const target = hit && route.read(hit);
      if (target) return { handler: (req, reply, f) => handleRead(deps, req, reply, id, target, f), format };
    }
    return undefined;
  }

  await app.register(async (instance) => {
    parsers(instance);
    // Channel management also takes the dashboard's session cookie (manage-routes.ts).
    await instance.register(fastifyCookie);
    instance.setErrorHandler((err: FastifyError, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
      if (status === 500) req.log.error({ err }, 'ThingSpeak API request failed');
      const path = req.url.split('?')[0];
      const { format } = splitExt(path);
      if (path.startsWith('/update')) return send(reply, 400, format ?? 'txt', '0');
      // Bulk updates answer in JSON whatever their extension, as handleBulk does.
      sendError(reply, status, /\/bulk_update\.\w+$/.test(path) ? 'json' : (format ?? 'txt'));
    });

    for (const ext of ['', '.json', '.xml']) {
      const format = formatOf(ext.slice(1))!;
      instance.route({
        method: ['GET', 'POST'],
        url: `/update${ext}`,
        handler: (req, reply) => handleUpdate(deps, req, reply, format),
      });
      instance.options(`/update${ext}`, (_req, reply) => sendPreflight(reply));
    }
    for (const format of ['json', 'xml'] as const) {
      instance.get(`/channels/public.${format}`, (req, reply) =>
        handlePublicChannels(deps, req, reply, format),
      );
      instance.get(`/users/:username/channels.${format}`, (req, reply) =>
        handleUserChannels(deps, req, reply, (req.params as { username: string }).username, format),
      );
      instance.get(`/channels.${format}`, (req, reply) =>
        handleManage(deps, req, reply, { kind: 'list' }, format),
      );
      instance.post(`/channels.${format}`, (req, reply) =>
        handleManage(deps, req, reply, { kind: 'create' }, format),
      );
      instance.options(`/channels.${format}`, (_req, reply) => sendPreflight(reply));
    }
    instance.route({
      method: ['GET', 'POST', 'PUT', 'DELETE'],
      url: '/channels/*',
      handler: async (req, reply) => {
        const rest = (req.params as { '*': string })['*'];
        const route = channelRoute(req.method as Method, rest);
        if (!route) return sendError(reply, 404, splitExt(rest).format ?? 'txt');
        await route.handler(req, reply, route.format);
      },
    });
    instance.options('/channels/*', (_req, reply) => sendPreflight(reply));
  });
}
