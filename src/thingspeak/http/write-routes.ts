/**
 * Writes: `/update[.json|.xml]` (reference §1) and
 * `/channels/<id>/bulk_update.{json,csv}` (reference §2).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChannelService, EntryInput, UpdateOutcome } from '../service.js';
import { entryInput, InputError } from './entry-input.js';
import { apiKey, requestParams, type Params } from './params.js';
import { toXml, updateEntry } from './render.js';
import { send, sendError, type Format } from './reply.js';
import { parseTime, requestZone, UTC, type Zone } from './time.js';

export interface WriteDeps {
  channels: ChannelService;
  now: () => number;
}

/** A whole `/update` answer, for the Fastify route and the fast lane (update-lane.ts) alike. */
export interface UpdateAnswer {
  status: number;
  format: Format;
  body: string;
}

const REFUSED = (status: number, format: Format): UpdateAnswer => ({ status, format, body: '0' });

/**
 * Success: the entry id (text), the entry (JSON/XML). Throttled: 200 `0`; bad
 * key or input: 400 `0`. A store failure rejects (the callers answer 400 `0`).
 */
export async function updateAnswer(
  deps: WriteDeps,
  p: Params,
  key: string | undefined,
  format: Format,
): Promise<UpdateAnswer> {
  let input: EntryInput;
  try {
    input = entryInput(p, requestZone(p.timezone, p.offset));
  } catch (err) {
    if (err instanceof InputError) return REFUSED(400, format);
    throw err;
  }
  const outcome = await deps.channels.update(key, input, 'rest');
  if (!outcome.ok) return REFUSED(outcome.reason === 'rate-limited' ? 200 : 400, format);
  if (format === 'json') return { status: 200, format, body: JSON.stringify(updateEntry(outcome.entry)) };
  if (format === 'xml') return { status: 200, format, body: toXml('feed', updateEntry(outcome.entry)) };
  return { status: 200, format, body: String(outcome.entry.entryId) };
}

export async function handleUpdate(
  deps: WriteDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  format: Format,
): Promise<void> {
  const p = requestParams(req);
  const answer = await updateAnswer(deps, p, apiKey(req, p), format);
  send(reply, answer.status, answer.format, answer.body);
}

interface Timed {
  input: EntryInput;
  /** Seconds since the previous entry, for relative times. */
  delta?: number;
}

/**
 * Resolves relative times (delta_t, or CSV `time_format=relative`): each delta
 * is the seconds since the previous entry. Relative entries after an absolute
 * one count from it; those before the first absolute one count back from it;
 * with no absolute time at all the last entry is now.
 */
export function resolveTimes(items: Timed[], now: number): EntryInput[] {
  const times: (number | undefined)[] = items.map((i) => i.input.createdAt);
  for (let i = 1; i < items.length; i++) {
    const prev = times[i - 1];
    if (times[i] === undefined && prev !== undefined) times[i] = prev + (items[i].delta ?? 0) * 1000;
  }
  if (times[items.length - 1] === undefined) times[items.length - 1] = now;
  for (let i = items.length - 2; i >= 0; i--) {
    const next = times[i + 1]!;
    if (times[i] === undefined) times[i] = next - (items[i + 1].delta ?? 0) * 1000;
  }
  return items.map((item, i) => ({ ...item.input, createdAt: times[i] }));
}

function stringParams(o: unknown): Params {
  const p: Params = {};
  if (o && typeof o === 'object')
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      if (typeof v === 'string') p[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') p[k] = String(v);
    }
  return p;
}

function jsonUpdates(body: Params & { updates?: unknown }, zone: Zone): Timed[] {
  if (!Array.isArray(body.updates)) throw new InputError('updates must be an array');
  return body.updates.map((u: unknown) => {
    const p = stringParams(u);
    const delta = p.delta_t === undefined ? undefined : Number(p.delta_t);
    if (delta !== undefined && !Number.isFinite(delta)) throw new InputError('delta_t is not a number');
    if (p.created_at === undefined && delta === undefined)
      throw new InputError('created_at or delta_t required');
    return { input: entryInput(p, zone, true), delta };
  });
}

const CSV_COLUMNS = [
  'created_at',
  'field1',
  'field2',
  'field3',
  'field4',
  'field5',
  'field6',
  'field7',
  'field8',
  'latitude',
  'longitude',
  'elevation',
];

/** `TS,F1,…,F8,LAT,LONG,ELEV,STATUS|…`; the status may itself hold commas. */
function csvUpdates(updates: string, relative: boolean, zone: Zone): Timed[] {
  return updates
    .split('|')
    .filter((row) => row.trim() !== '')
    .map((row) => {
      const cells = row.split(',');
      const p: Params = {};
      CSV_COLUMNS.forEach((col, i) => {
        const v = cells[i];
        if (v !== undefined && v !== '') p[col] = v;
      });
      if (cells.length > CSV_COLUMNS.length) {
        const status = cells.slice(CSV_COLUMNS.length).join(',');
        if (status !== '') p.status = status;
      }
      const ts = p.created_at ?? '';
      delete p.created_at;
      const input = entryInput(p, zone);
      if (relative) {
        const delta = Number(ts || '0');
        if (!Number.isFinite(delta)) throw new InputError('relative time is not a number');
        return { input, delta };
      }
      const at = parseTime(ts, zone, true);
      if (at === undefined) throw new InputError('timestamp is not a time');
      input.createdAt = at;
      return { input };
    });
}

const BULK_OK = JSON.stringify({ success: true });
/** A paid ThingSpeak account's most messages per bulk request (reference §2 "Limits"). */
export const MAX_BULK_UPDATES = 14_400;

function failureStatus(outcomes: UpdateOutcome[]): number | undefined {
  const failed = outcomes.find((o) => !o.ok);
  if (!failed || failed.ok) return undefined;
  if (failed.reason === 'rate-limited') return 429;
  if (failed.reason === 'bad-key') return 401;
  return 400;
}

/** 202 `{"success":true}`; 401 for a bad key, 400 for bad updates, 413 for too many, 429 when throttled. */
export async function handleBulk(
  deps: WriteDeps,
  req: FastifyRequest,
  reply: FastifyReply,
  channelId: number,
  kind: 'json' | 'csv',
): Promise<void> {
  const p = requestParams(req);
  const key = p.write_api_key || apiKey(req, p);
  const zone = p.timezone ? requestZone(p.timezone, undefined) : UTC;
  let inputs: EntryInput[];
  try {
    const items =
      kind === 'json'
        ? jsonUpdates(req.body as Params, zone)
        : csvUpdates(p.updates ?? '', p.time_format === 'relative', zone);
    if (items.length === 0) throw new InputError('no updates');
    if (items.length > MAX_BULK_UPDATES)
      return sendError(reply, 413, 'json', `at most ${MAX_BULK_UPDATES} updates per request`);
    inputs = resolveTimes(items, deps.now());
  } catch (err) {
    if (err instanceof InputError) return sendError(reply, 400, 'json', err.message);
    throw err;
  }
  const result = await deps.channels.bulkUpdate(channelId, key, inputs);
  if (result === 'bad-key')
    return sendError(reply, 401, 'json', 'Please provide proper authentication details.');
  const status = failureStatus(result);
  if (status === 401) return sendError(reply, 401, 'json', 'Please provide proper authentication details.');
  if (status !== undefined) {
    const failed = result.find((o) => !o.ok);
    return sendError(reply, status, 'json', failed && !failed.ok ? failed.message : undefined);
  }
  send(reply, 202, 'json', BULK_OK);
}
