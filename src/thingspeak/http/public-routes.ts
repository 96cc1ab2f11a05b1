/**
 * The public listings (reference §5 "Public and user lists", the legacy
 * server's docs): `/channels/public.{json,xml}` with `page` (15 a page),
 * `tag`, `username`, and `latitude`/`longitude`/`distance` (km); and
 * `/users/<username>/channels.{json,xml}`. A ThingSpeak user is a Halyard
 * tenant: `username` is the tenant id, and a user API key of that tenant (or a
 * platform admin's) also lists its private channels.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RegistryService } from '../../registry/service.js';
import type { Channel } from '../model.js';
import type { ChannelService } from '../service.js';
import { apiKey, numberParam, requestParams } from './params.js';
import { reply200 } from './manage-routes.js';
import { listedChannel, ranking } from './render.js';
import { sendError, type Format } from './reply.js';

export interface PublicDeps {
  channels: ChannelService;
  registry: RegistryService;
}

export const PER_PAGE = 15;
const EARTH_RADIUS_KM = 6371;

/** Great-circle distance in km. */
export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** The legacy order: most complete first, then most recently updated. */
const byRanking = (a: Channel, b: Channel) => ranking(b) - ranking(a) || b.updatedAt - a.updatedAt;

export async function handlePublicChannels(
  deps: PublicDeps,
  req: FastifyRequest,
  res: FastifyReply,
  format: Format,
): Promise<void> {
  const p = requestParams(req);
  const page = p.page === undefined ? 1 : Number(p.page);
  if (!Number.isInteger(page) || page < 1) return sendError(res, 404, format);
  let channels = await deps.channels.listedChannels({
    tenantId: p.username || undefined,
    tag: p.tag || undefined,
  });
  const lat = numberParam(p.latitude);
  const lon = numberParam(p.longitude);
  const distance = numberParam(p.distance);
  if (lat !== undefined && lon !== undefined && distance !== undefined) {
    if (![lat, lon, distance].every(Number.isFinite)) return sendError(res, 400, format);
    channels = channels.filter(
      (c) =>
        c.latitude !== null &&
        c.longitude !== null &&
        distanceKm(lat, lon, c.latitude, c.longitude) <= distance,
    );
  }
  channels.sort(byRanking);
  reply200(res, format, 'response', {
    pagination: { current_page: page, per_page: PER_PAGE, total_entries: channels.length },
    channels: channels.slice((page - 1) * PER_PAGE, page * PER_PAGE).map(listedChannel),
  });
}

export async function handleUserChannels(
  deps: PublicDeps,
  req: FastifyRequest,
  res: FastifyReply,
  username: string,
  format: Format,
): Promise<void> {
  const p = requestParams(req);
  const key = apiKey(req, p);
  const actor = key ? await deps.registry.resolveBearer(key, req.ip) : undefined;
  const channels = await deps.channels.listedChannels({ tenantId: username }, actor);
  reply200(res, format, 'response', { channels: channels.sort(byRanking).map(listedChannel) });
}
