/**
 * Reads of one channel (reference §1 "Endpoints"): feeds, field feeds, last
 * entries and values, one entry, status updates and the last entry id. No
 * access (or no such channel) is HTTP 400 with body `-1`; an absent entry is
 * 200 `-1`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Channel, ChannelEntry, FieldNumber } from '../model.js';
import type { ChannelService, FieldKey } from '../service.js';
import { aggregate, feedQuery, shapeValues, type FeedQuery } from './feed-query.js';
import { apiKey, requestParams, truthy, type Params } from './params.js';
import {
  enabledFields,
  feedChannel,
  feedEntry,
  toCsv,
  toXml,
  XML_HEAD,
  type JsonObject,
  type ReadOptions,
} from './render.js';
import { send, sendJson, type Format } from './reply.js';
import { isoTime, requestZone } from './time.js';

export interface ReadDeps {
  channels: ChannelService;
  now: () => number;
}

export type ReadTarget =
  | { kind: 'feed'; field?: FieldNumber }
  | { kind: 'last'; field?: FieldNumber }
  | { kind: 'entry'; entryId: number }
  | { kind: 'status' }
  | { kind: 'status-last' }
  | { kind: 'last-entry-id' }
  | { kind: 'age'; field?: FieldNumber };

interface Ctx {
  deps: ReadDeps;
  reply: FastifyReply;
  p: Params;
  channel: Channel;
  format: Format;
}

function noAccess(reply: FastifyReply, format: Format): void {
  send(reply, 400, format === 'json' ? 'json' : format, '-1');
}

function emit(ctx: Ctx, json: () => string, xml: () => string, text: () => string, csv?: () => string): void {
  const { reply, format, p } = ctx;
  if (format === 'json') return sendJson(reply, 200, json(), p.callback);
  if (format === 'xml') return send(reply, 200, 'xml', xml());
  if (format === 'csv' && csv) return send(reply, 200, 'csv', csv());
  send(reply, 200, format, text());
}

export async function handleRead(
  deps: ReadDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  channelId: number,
  target: ReadTarget,
  format: Format,
): Promise<void> {
  const p = requestParams(req);
  const channel = await deps.channels.getChannelById(channelId);
  if (!channel || !(await deps.channels.canRead(channel, apiKey(req, p)))) return noAccess(reply, format);
  const ctx: Ctx = { deps, reply, p, channel, format };
  switch (target.kind) {
    case 'feed':
      return feed(ctx, target.field);
    case 'last':
      return last(ctx, target.field);
    case 'entry':
      return oneEntry(ctx, target.entryId);
    case 'status':
      return statusFeed(ctx);
    case 'status-last':
      return lastStatus(ctx);
    case 'age':
      return lastDataAge(ctx, target.field);
    case 'last-entry-id': {
      const id = String(channel.lastEntryId);
      return emit(
        ctx,
        () => id,
        () => `${XML_HEAD}<xml class="last_entry_id">${id}</xml>`,
        () => id,
        () => id,
      );
    }
  }
}

function readOptions(
  channel: Channel,
  q: Pick<FeedQuery, 'zone' | 'status' | 'location' | 'metadata'>,
  field?: FieldNumber,
): ReadOptions {
  return {
    zone: q.zone,
    status: q.status,
    location: q.location,
    metadata: q.metadata,
    fields: field ? [`field${field}`] : enabledFields(channel),
    entryId: true,
  };
}

async function feed(ctx: Ctx, field?: FieldNumber): Promise<void> {
  const q = feedQuery(ctx.channel.id, ctx.p, ctx.deps.now());
  const opts = readOptions(ctx.channel, q, field);
  let entries = await ctx.deps.channels.entries(q.query);
  if (q.aggregate) {
    entries = aggregate(entries, q.aggregate, q.zone, opts.fields);
    opts.entryId = false;
  }
  entries = shapeValues(entries, q, opts.fields);
  const body = (): JsonObject => ({
    channel: feedChannel(ctx.channel, opts),
    feeds: entries.map((e) => feedEntry(e, opts)),
  });
  emit(
    ctx,
    () => JSON.stringify(body()),
    () => {
      const { channel, feeds } = body();
      const withIds = (feeds as JsonObject[]).map((f) => ({ ...f, id: null }));
      return toXml('channel', { ...(channel as JsonObject), feeds: withIds });
    },
    () => JSON.stringify(body()),
    () => toCsv(entries, opts),
  );
}

function simpleOptions(ctx: Ctx, field?: FieldNumber): ReadOptions {
  const zone = requestZone(ctx.p.timezone, ctx.p.offset);
  const status = truthy(ctx.p.status);
  const location = truthy(ctx.p.location);
  return readOptions(ctx.channel, { zone, status, location, metadata: false }, field);
}

function entryForms(ctx: Ctx, entry: ChannelEntry | undefined, opts: ReadOptions, text: () => string): void {
  if (!entry) return send(ctx.reply, 200, ctx.format === 'json' ? 'json' : ctx.format, '-1');
  const o = feedEntry(entry, opts);
  emit(
    ctx,
    () => JSON.stringify(o),
    () => toXml('feed', { ...o, id: null }),
    text,
    () => toCsv([entry], opts),
  );
}

/** `feeds/last` (.txt is the same JSON, Arduino scans it) and `fields/<n>/last` (text: the bare value). */
async function last(ctx: Ctx, field?: FieldNumber): Promise<void> {
  const opts = simpleOptions(ctx, field);
  const entry = field
    ? await ctx.deps.channels.lastFieldEntry(ctx.channel.id, field)
    : await ctx.deps.channels.lastEntry(ctx.channel.id);
  const text = field
    ? () => `${ctx.p.prepend ?? ''}${entry?.fields[`field${field}`] ?? ''}${ctx.p.append ?? ''}`
    : () => JSON.stringify(feedEntry(entry!, opts));
  entryForms(ctx, entry, opts, text);
}

async function oneEntry(ctx: Ctx, entryId: number): Promise<void> {
  const opts = simpleOptions(ctx);
  const entry = await ctx.deps.channels.entry(ctx.channel.id, entryId);
  entryForms(ctx, entry, opts, () => JSON.stringify(feedEntry(entry!, opts)));
}

function statusChannel(channel: Channel): JsonObject {
  const o: JsonObject = { name: channel.name };
  if (channel.latitude !== null) o.latitude = String(channel.latitude);
  if (channel.longitude !== null) o.longitude = String(channel.longitude);
  return o;
}

function hasStatus(e: ChannelEntry): boolean {
  return e.status !== null && e.status !== '';
}

/** Entries with a status in the window (results, days; default the last day). */
async function statusFeed(ctx: Ctx): Promise<void> {
  const q = feedQuery(ctx.channel.id, ctx.p, ctx.deps.now());
  const entries = (await ctx.deps.channels.entries(q.query)).filter(hasStatus);
  const feeds = entries.map((e) => ({
    created_at: isoTime(e.createdAt, q.zone),
    entry_id: e.entryId,
    status: e.status,
  }));
  const body = { channel: statusChannel(ctx.channel), feeds };
  const opts: ReadOptions = { ...readOptions(ctx.channel, { ...q, status: true }), fields: [] };
  emit(
    ctx,
    () => JSON.stringify(body),
    () => toXml('channel', { ...body.channel, feeds: feeds.map((f) => ({ ...f, id: null })) }),
    () => JSON.stringify(body),
    () => toCsv(entries, opts),
  );
}

async function lastStatus(ctx: Ctx): Promise<void> {
  const zone = requestZone(ctx.p.timezone, ctx.p.offset);
  const recent = await ctx.deps.channels.entries({ channelId: ctx.channel.id, limit: 8000 });
  const entry = recent.filter(hasStatus).at(-1);
  if (!entry) return send(ctx.reply, 200, ctx.format === 'json' ? 'json' : ctx.format, '-1');
  const o = { created_at: isoTime(entry.createdAt, zone), entry_id: entry.entryId, status: entry.status };
  const opts: ReadOptions = {
    ...readOptions(ctx.channel, { zone, status: true, location: false, metadata: false }),
    fields: [],
  };
  emit(
    ctx,
    () => JSON.stringify(o),
    () => toXml('feed', o),
    () => entry.status ?? '',
    () => toCsv([entry], opts),
  );
}

/**
 * Seconds since the newest entry (of the field: its newest non-null value).
 * JSON `{"last_data_age":"174","last_data_age_units":"s"}` and the bare number
 * as text are what clients parse; XML and CSV carry the same two values.
 */
async function lastDataAge(ctx: Ctx, field?: FieldNumber): Promise<void> {
  const entry = field
    ? await ctx.deps.channels.lastFieldEntry(ctx.channel.id, field)
    : await ctx.deps.channels.lastEntry(ctx.channel.id);
  if (!entry) return send(ctx.reply, 200, ctx.format, '-1');
  const age = {
    last_data_age: String(Math.max(0, Math.floor((ctx.deps.now() - entry.createdAt) / 1000))),
    last_data_age_units: 's',
  };
  emit(
    ctx,
    () => JSON.stringify(age),
    () => toXml('feed', age),
    () => age.last_data_age,
    () => `last_data_age,last_data_age_units\n${age.last_data_age},s\n`,
  );
}

export function fieldNumber(s: string): FieldNumber | undefined {
  const m = /^(?:field)?([1-8])$/.exec(s);
  return m ? (Number(m[1]) as FieldNumber) : undefined;
}

export type { FieldKey };
