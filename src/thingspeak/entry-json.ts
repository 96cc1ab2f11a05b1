/**
 * The entry object ThingSpeak answers /update.json with, also what MQTT
 * subscribers of channels/<id>/subscribe receive: every field1..8 key, values
 * as strings or null, location as strings, times in UTC seconds with `Z`.
 */
import { FIELD_KEYS, type ChannelEntry } from './model.js';

export function thingSpeakTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const text = (n: number | null) => (n === null ? null : String(n));

export function entryObject(entry: ChannelEntry): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {
    channel_id: entry.channelId,
    created_at: thingSpeakTime(entry.createdAt),
    entry_id: entry.entryId,
  };
  for (const field of FIELD_KEYS) out[field] = entry.fields[field] ?? null;
  out.latitude = text(entry.latitude);
  out.longitude = text(entry.longitude);
  out.elevation = text(entry.elevation);
  out.status = entry.status;
  return out;
}
