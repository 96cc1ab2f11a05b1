/**
 * Channel management with the user API key (reference §5): a Halyard API
 * token (or session) of a user, resolved by the registry to an Actor. Without
 * a key, the session cookie of the dashboard, under the REST API's CSRF rule.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cookieActor, sessionCookie } from '../../api/authenticate.js';
import { isHalyardError, type ErrorCode } from '../../core/errors.js';
import type { RegistryService } from '../../registry/service.js';
import type { Actor } from '../../registry/service.js';
import type { ChannelService, ChannelSettings } from '../service.js';
import { apiKey, requestParams, type Params } from './params.js';
import { FIELD_KEYS } from '../model.js';
import { managedChannel, toXml, type Json } from './render.js';
import { send, sendError, XML_NIL_ARRAY, type Format } from './reply.js';

export interface ManageDeps {
  channels: ChannelService;
  registry: RegistryService;
}

export type ManageAction =
  | { kind: 'create' }
  | { kind: 'list' }
  | { kind: 'get'; id: number }
  | { kind: 'update'; id: number }
  | { kind: 'clear'; id: number }
  | { kind: 'delete'; id: number };

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  UNAUTHENTICATED: 401,
  BAD_CREDENTIALS: 401,
  NOT_AUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  QUOTA_EXCEEDED: 429,
};

function optionalNumber(v: string | undefined, name: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new SettingsError(`${name} is not a number`);
  return n;
}

class SettingsError extends Error {}

/** Create/update parameters: only those present are set; an empty string clears a setting. */
export function channelSettings(p: Params): ChannelSettings {
  const s: ChannelSettings = {};
  const text = (v: string | undefined) => (v === undefined ? undefined : v === '' ? null : v);
  if (p.name !== undefined) s.name = p.name;
  if (p.description !== undefined) s.description = text(p.description);
  if (p.metadata !== undefined) s.metadata = text(p.metadata);
  if (p.url !== undefined) s.url = text(p.url);
  const fields: ChannelSettings['fields'] = {};
  let anyField = false;
  for (const k of FIELD_KEYS)
    if (p[k] !== undefined) {
      fields[k] = text(p[k]) ?? null;
      anyField = true;
    }
  if (anyField) s.fields = fields;
  if (p.tags !== undefined)
    s.tags = p.tags
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
  const lat = optionalNumber(p.latitude, 'latitude');
  const lon = optionalNumber(p.longitude, 'longitude');
  const elev = optionalNumber(p.elevation, 'elevation');
  if (lat !== undefined) s.latitude = lat;
  if (lon !== undefined) s.longitude = lon;
  if (elev !== undefined) s.elevation = elev;
  if (p.public_flag !== undefined) s.publicFlag = p.public_flag === 'true' || p.public_flag === '1';
  // Halyard's own parameters (ThingSpeak has no tenants or devices): the tenant a platform admin
  // creates the channel in, the device it is bound to, and the minimum update interval.
  if (p.tenant !== undefined) s.tenantId = p.tenant;
  if (p.device_id !== undefined) s.deviceId = text(p.device_id);
  const interval = optionalNumber(p.min_update_interval, 'min_update_interval');
  if (interval !== undefined) s.minUpdateIntervalSeconds = interval ?? 0;
  return s;
}

/** A 200 answer in JSON, or XML under `root`. */
export function reply200(reply: FastifyReply, format: Format, root: string, value: Json): void {
  if (format === 'xml') return send(reply, 200, 'xml', toXml(root, value));
  send(reply, 200, 'json', JSON.stringify(value));
}

/**
 * The caller: the user API key when one is given (a wrong one is a 401 whatever else
 * the request carries, as ThingSpeak answers), else the session cookie.
 */
async function manager(
  deps: ManageDeps,
  req: FastifyRequest,
  p: Params,
): Promise<Actor | { status: 401 | 403; details?: string }> {
  const key = apiKey(req, p);
  if (key) return (await deps.registry.resolveBearer(key, req.ip)) ?? { status: 401 };
  const cookie = sessionCookie(req);
  if (cookie === undefined) return { status: 401 };
  try {
    return await cookieActor(deps.registry, req, cookie);
  } catch (err) {
    // A session, but a write without the CSRF header or from another origin: refused, not unknown.
    if (isHalyardError(err, 'NOT_AUTHORIZED')) return { status: 403, details: err.message };
    if (isHalyardError(err, 'UNAUTHENTICATED')) return { status: 401 };
    throw err;
  }
}

export async function handleManage(
  deps: ManageDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  action: ManageAction,
  format: Format,
): Promise<void> {
  const p = requestParams(req);
  const actor = await manager(deps, req, p);
  if ('status' in actor) return sendError(reply, actor.status, format, actor.details);
  try {
    switch (action.kind) {
      case 'create':
        return reply200(
          reply,
          format,
          'channel',
          managedChannel(await deps.channels.createChannel(actor, channelSettings(p))),
        );
      case 'list': {
        const list = await deps.channels.listChannels(actor, p.tag ? { tag: p.tag } : undefined);
        return reply200(reply, format, 'channels', list.map(managedChannel));
      }
      case 'get':
        return reply200(
          reply,
          format,
          'channel',
          managedChannel(await deps.channels.getChannel(actor, action.id)),
        );
      case 'update':
        return reply200(
          reply,
          format,
          'channel',
          managedChannel(await deps.channels.updateChannel(actor, action.id, channelSettings(p))),
        );
      case 'clear':
        await deps.channels.clearChannel(actor, action.id);
        return format === 'xml' ? send(reply, 200, 'xml', XML_NIL_ARRAY) : send(reply, 200, 'json', '[]');
      case 'delete':
        return reply200(
          reply,
          format,
          'channel',
          managedChannel(await deps.channels.deleteChannel(actor, action.id)),
        );
    }
  } catch (err) {
    if (err instanceof SettingsError) return sendError(reply, 400, format, err.message);
    if (isHalyardError(err)) return sendError(reply, STATUS_OF[err.code] ?? 500, format, err.message);
    throw err;
  }
}
