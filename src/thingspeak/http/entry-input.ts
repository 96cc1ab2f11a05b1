/**
 * Turns /update and bulk-update parameters into an EntryInput: fields 1..8
 * (also `1`..`8`), lat/long (also latitude/longitude), elevation, status,
 * created_at in the request's time zone. `headers`, `twitter`, `tweet` and
 * `talkback_key` are accepted and ignored.
 */
import { FIELD_KEYS, FIELD_NUMBERS } from '../model.js';
import type { EntryInput } from '../service.js';
import type { Params } from './params.js';
import { parseTime, type Zone } from './time.js';

export class InputError extends Error {}

/** `1`..`8`, the short field names some clients send. */
const FIELD_NUMBER_NAMES = FIELD_NUMBERS.map(String);

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InputError(`${name} is not a number`);
  return n;
}

/** Throws InputError for a malformed number or time. */
export function entryInput(p: Params, zone: Zone, epochTimes = false): EntryInput {
  const input: EntryInput = { fields: {} };
  FIELD_KEYS.forEach((key, i) => {
    const v = p[key] ?? p[FIELD_NUMBER_NAMES[i]];
    if (v !== undefined && v !== '') input.fields[key] = v;
  });
  const latitude = num(p.lat ?? p.latitude, 'latitude');
  const longitude = num(p.long ?? p.longitude, 'longitude');
  const elevation = num(p.elevation, 'elevation');
  if (latitude !== undefined) input.latitude = latitude;
  if (longitude !== undefined) input.longitude = longitude;
  if (elevation !== undefined) input.elevation = elevation;
  if (p.status !== undefined && p.status !== '') input.status = p.status;
  if (p.created_at !== undefined && p.created_at !== '') {
    const at = parseTime(p.created_at, zone, epochTimes);
    if (at === undefined) throw new InputError('created_at is not a time');
    input.createdAt = at;
  }
  return input;
}
