/**
 * ThingSpeak's JSON objects and their XML (Rails `to_xml`) and CSV forms. Key
 * presence follows the legacy `select_options` (reference §1 "Which keys
 * appear"); values are strings or null, timestamps ISO with `Z` or an offset.
 */
import { entryObject } from '../entry-json.js';
import { FIELD_KEYS, type Channel, type ChannelEntry } from '../model.js';
import type { ChannelWithKeys, FieldKey } from '../service.js';
import { csvTime, isoTime, type Zone } from './time.js';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Decimals as Rails prints them: `40.0`, `-80.22`. */
export function decimal(n: number | null): string | null {
  if (n === null) return null;
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

export interface ReadOptions {
  zone: Zone;
  status: boolean;
  location: boolean;
  metadata: boolean;
  /** Fields to show: the enabled ones, or the one of a field feed. */
  fields: FieldKey[];
  /** False for aggregated feeds (timescale, sum, average, median). */
  entryId: boolean;
}

export function enabledFields(channel: Channel): FieldKey[] {
  return FIELD_KEYS.filter((k) => channel.fields[k] !== null);
}

/** The channel object of a feed: optional keys only when set. */
export function feedChannel(channel: Channel, opts: ReadOptions): JsonObject {
  const o: JsonObject = { id: channel.id, name: channel.name };
  if (channel.description) o.description = channel.description;
  if (channel.latitude !== null) o.latitude = decimal(channel.latitude);
  if (channel.longitude !== null) o.longitude = decimal(channel.longitude);
  for (const k of opts.fields) {
    const name = channel.fields[k];
    if (name !== null) o[k] = name;
  }
  o.created_at = isoTime(channel.createdAt, opts.zone);
  o.updated_at = isoTime(channel.updatedAt, opts.zone);
  if (channel.elevation !== null) o.elevation = decimal(channel.elevation);
  if (opts.metadata && channel.metadata) o.metadata = channel.metadata;
  o.last_entry_id = channel.lastEntryId;
  return o;
}

/** A feed entry: created_at, entry_id, the fields, then location and status on request. */
export function feedEntry(entry: ChannelEntry, opts: ReadOptions): JsonObject {
  const o: JsonObject = { created_at: isoTime(entry.createdAt, opts.zone) };
  if (opts.entryId) o.entry_id = entry.entryId;
  for (const k of opts.fields) o[k] = entry.fields[k] ?? null;
  if (opts.location) {
    o.latitude = decimal(entry.latitude);
    o.longitude = decimal(entry.longitude);
    o.elevation = decimal(entry.elevation);
  }
  if (opts.status) o.status = entry.status;
  return o;
}

/** The `/update.json` answer: every field, location and status, nulls included (also the MQTT subscribe payload). */
export function updateEntry(entry: ChannelEntry): JsonObject {
  return entryObject(entry);
}

/** A channel as the management endpoints show it to its owner, keys included. */
export function managedChannel({ channel, writeKey, readKeys }: ChannelWithKeys): JsonObject {
  const o: JsonObject = {
    id: channel.id,
    name: channel.name,
    description: channel.description,
    latitude: decimal(channel.latitude),
    longitude: decimal(channel.longitude),
    created_at: isoTime(channel.createdAt),
    elevation: decimal(channel.elevation),
    last_entry_id: channel.lastEntryId,
    public_flag: channel.publicFlag,
    url: channel.url,
    ranking: ranking(channel),
    metadata: channel.metadata,
    license_id: 0,
  };
  for (const k of FIELD_KEYS) if (channel.fields[k] !== null) o[k] = channel.fields[k];
  o.tags = channel.tags.map((name, i) => ({ id: i + 1, name }));
  o.api_keys = [
    // None for a viewer: a viewer may read the channel, not write to it.
    ...(writeKey === '' ? [] : [{ api_key: writeKey, write_flag: true }]),
    ...readKeys.map((api_key) => ({ api_key, write_flag: false })),
  ];
  return o;
}

/**
 * A channel in the public listings (the legacy `public_options`): no keys, no
 * metadata; `username` is the owning tenant (a ThingSpeak user is a Halyard tenant).
 */
export function listedChannel(c: Channel): JsonObject {
  return {
    id: c.id,
    name: c.name,
    description: c.description,
    latitude: decimal(c.latitude),
    longitude: decimal(c.longitude),
    created_at: isoTime(c.createdAt),
    elevation: c.elevation === null ? '' : String(c.elevation),
    last_entry_id: c.lastEntryId,
    ranking: ranking(c),
    username: c.tenantId,
    tags: c.tags.map((name, i) => ({ id: i + 1, name })),
  };
}

/** ThingSpeak's "channel completeness" percentage: a rough count of the settings filled in. */
export function ranking(c: Channel): number {
  let r = 15;
  if (c.description) r += 20;
  if (c.latitude !== null && c.longitude !== null) r += 15;
  if (c.tags.length > 0) r += 15;
  if (c.url) r += 15;
  if (c.metadata) r += 20;
  return r;
}

// ---- XML ----

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const INTEGER_KEYS = new Set([
  'id',
  'entry_id',
  'channel_id',
  'last_entry_id',
  'ranking',
  'license_id',
  'current_page',
  'per_page',
  'total_entries',
]);
const DATE_KEYS = new Set(['created_at', 'updated_at']);
const DECIMAL_KEYS = new Set(['latitude', 'longitude']);

function singular(key: string): string {
  if (key === 'feeds') return 'feed';
  return key.endsWith('s') ? key.slice(0, -1) : key;
}

function typeAttr(key: string, value: Json): string {
  if (Array.isArray(value)) return ' type="array"';
  if (typeof value === 'boolean') return ' type="boolean"';
  if (INTEGER_KEYS.has(key)) return ' type="integer"';
  if (DATE_KEYS.has(key)) return ' type="dateTime"';
  if (DECIMAL_KEYS.has(key)) return ' type="decimal"';
  return '';
}

function element(key: string, value: Json): string {
  const tag = key.replace(/_/g, '-');
  const type = typeAttr(key, value);
  if (value === null) return `<${tag}${type} nil="true"/>`;
  if (Array.isArray(value))
    return `<${tag}${type}>${value.map((v) => element(singular(key), v)).join('')}</${tag}>`;
  if (typeof value === 'object') {
    const inner = Object.entries(value)
      .map(([k, v]) => element(k, v))
      .join('');
    return `<${tag}${type}>${inner}</${tag}>`;
  }
  return `<${tag}${type}>${esc(String(value))}</${tag}>`;
}

export const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** `to_xml` of a Rails record or array: `<feed>…</feed>`, `<channels type="array">…`. */
export function toXml(root: string, value: Json): string {
  return XML_HEAD + element(root, value);
}

// ---- CSV ----

function csvCell(v: Json): string {
  if (v === null || typeof v === 'object') return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `created_at,entry_id,field1,…` with times as `2014-02-26 21:27:21 UTC`. */
export function toCsv(entries: ChannelEntry[], opts: ReadOptions): string {
  const objects = entries.map((e) => feedEntry(e, opts));
  const header = ['created_at'];
  if (opts.entryId) header.push('entry_id');
  header.push(...opts.fields);
  if (opts.location) header.push('latitude', 'longitude', 'elevation');
  if (opts.status) header.push('status');
  const rows = objects.map((o, i) =>
    header
      .map((h) => (h === 'created_at' ? csvTime(entries[i].createdAt, opts.zone) : csvCell(o[h] ?? null)))
      .join(','),
  );
  return [header.join(','), ...rows].join('\n') + '\n';
}
