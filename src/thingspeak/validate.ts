/**
 * ThingSpeak's limits on values and settings: fields and status at most 255
 * bytes (its string(255) columns), latitude ±90, longitude ±180.
 */
import { HalyardError } from '../core/errors.js';
import { FIELD_KEYS, type ChannelEntry } from './model.js';
import type { ChannelSettings, EntryInput } from './service.js';

export const MAX_VALUE_BYTES = 255;
export const MAX_FIELD_NAME_LENGTH = 128;

const finite = (v: number | undefined) => v === undefined || Number.isFinite(v);

/** The entry to store, or why the input is not one. Empty strings count as absent. */
export function entryFromInput(
  channelId: number,
  input: EntryInput,
  now: number,
): { ok: true; entry: Omit<ChannelEntry, 'entryId'> } | { ok: false; message: string } {
  const fields: ChannelEntry['fields'] = {};
  let any = false;
  for (const key of FIELD_KEYS) {
    const v = input.fields[key];
    if (v === undefined || v === '') continue;
    if (longerThanMaxValue(v)) return bad(`${key} is longer than 255 bytes`);
    fields[key] = v;
    any = true;
  }
  const status = input.status === '' ? undefined : input.status;
  if (status !== undefined && longerThanMaxValue(status)) {
    return bad('status is longer than 255 bytes');
  }
  const { latitude, longitude, elevation, createdAt } = input;
  if (!finite(latitude) || (latitude !== undefined && Math.abs(latitude) > 90)) {
    return bad('lat must be within ±90');
  }
  if (!finite(longitude) || (longitude !== undefined && Math.abs(longitude) > 180)) {
    return bad('long must be within ±180');
  }
  if (!finite(elevation)) return bad('elevation must be a number');
  if (createdAt !== undefined && !Number.isSafeInteger(createdAt))
    return bad('created_at is not a valid time');
  const located = latitude !== undefined || longitude !== undefined || elevation !== undefined;
  if (!any && status === undefined && !located) return bad('the update has no field, status or location');
  return {
    ok: true,
    entry: {
      channelId,
      createdAt: createdAt ?? now,
      fields,
      status: status ?? null,
      latitude: latitude ?? null,
      longitude: longitude ?? null,
      elevation: elevation ?? null,
    },
  };
}

const bad = (message: string) => ({ ok: false as const, message });

/** Over MAX_VALUE_BYTES in UTF-8; a UTF-16 unit takes at most 3 bytes, so short strings need no count. */
const longerThanMaxValue = (v: string) =>
  v.length * 3 > MAX_VALUE_BYTES && Buffer.byteLength(v, 'utf8') > MAX_VALUE_BYTES;

function invalid(field: string, message: string): HalyardError {
  return new HalyardError('INVALID_INPUT', message, { field });
}

function text(field: string, v: string | null | undefined, max: number): void {
  if (v !== undefined && v !== null && v.length > max) throw invalid(field, `${field} is longer than ${max}`);
}

/** Throws INVALID_INPUT naming the first bad setting. */
export function checkSettings(s: ChannelSettings): void {
  if (s.name !== undefined && s.name.trim() === '') throw invalid('name', 'name must not be empty');
  text('name', s.name, 255);
  text('description', s.description, 4096);
  text('metadata', s.metadata, 65_536);
  text('url', s.url, 2048);
  for (const [k, v] of Object.entries(s.fields ?? {})) {
    if (!(FIELD_KEYS as readonly string[]).includes(k)) throw invalid(k, `${k} is not a field`);
    if (v !== null && v.trim() === '') throw invalid(k, `${k} needs a name (null disables it)`);
    text(k, v, MAX_FIELD_NAME_LENGTH);
  }
  for (const t of s.tags ?? []) text('tags', t, 255);
  if (s.latitude != null && !(Math.abs(s.latitude) <= 90))
    throw invalid('latitude', 'latitude must be within ±90');
  if (s.longitude != null && !(Math.abs(s.longitude) <= 180)) {
    throw invalid('longitude', 'longitude must be within ±180');
  }
  if (s.elevation != null && !Number.isFinite(s.elevation))
    throw invalid('elevation', 'elevation must be a number');
  const min = s.minUpdateIntervalSeconds;
  if (min !== undefined && !(Number.isInteger(min) && min >= 0 && min <= 86_400)) {
    throw invalid('minUpdateIntervalSeconds', 'minUpdateIntervalSeconds must be an integer in 0..86400');
  }
}
