/**
 * Rows of the ThingSpeak tables, shared by the SQLite and PostgreSQL stores
 * (same column names in both): fields and tags are JSON text, booleans are
 * 0/1 in SQLite and BOOLEAN in PostgreSQL.
 */
import {
  FIELD_KEYS,
  FIELD_NUMBERS,
  type Channel,
  type ChannelEntry,
  type ChannelKey,
  type FieldNumber,
} from '../model.js';

export interface ChannelRow {
  id: number;
  tenant_id: string;
  device_id: string | null;
  name: string;
  description: string | null;
  fields: string;
  metadata: string | null;
  tags: string;
  url: string | null;
  latitude: number | null;
  longitude: number | null;
  elevation: number | null;
  public_flag: number | boolean;
  min_update_interval: number;
  created_at: number;
  updated_at: number;
  last_entry_id: number;
  last_update_at: number | null;
}

export type EntryRow = {
  channel_id: number;
  entry_id: number;
  created_at: number;
  status: string | null;
  latitude: number | null;
  longitude: number | null;
  elevation: number | null;
} & Record<`field${FieldNumber}`, string | null>;

export interface KeyRow {
  channel_id: number;
  kind: 'write' | 'read';
  key_hash: string;
  sealed: string;
  created_at: number;
}

/** Entry columns in insert order. */
export const ENTRY_COLUMNS = [
  'channel_id',
  'entry_id',
  'created_at',
  ...FIELD_KEYS,
  'status',
  'latitude',
  'longitude',
  'elevation',
] as const;

export function channelFromRow(r: ChannelRow): Channel {
  return {
    id: Number(r.id),
    tenantId: r.tenant_id,
    deviceId: r.device_id,
    name: r.name,
    description: r.description,
    fields: JSON.parse(r.fields) as Channel['fields'],
    metadata: r.metadata,
    tags: JSON.parse(r.tags) as string[],
    url: r.url,
    latitude: r.latitude,
    longitude: r.longitude,
    elevation: r.elevation,
    publicFlag: Boolean(r.public_flag),
    minUpdateIntervalSeconds: r.min_update_interval,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastEntryId: r.last_entry_id,
    lastUpdateAt: r.last_update_at,
  };
}

/** Channel properties → columns (without id), values encoded for either database. */
export function channelColumns(
  c: Partial<Omit<Channel, 'id'>>,
  bool: (b: boolean) => number | boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (col: string, v: unknown) => {
    if (v !== undefined) out[col] = v;
  };
  set('tenant_id', c.tenantId);
  set('device_id', c.deviceId);
  set('name', c.name);
  set('description', c.description);
  set('fields', c.fields && JSON.stringify(c.fields));
  set('metadata', c.metadata);
  set('tags', c.tags && JSON.stringify(c.tags));
  set('url', c.url);
  set('latitude', c.latitude);
  set('longitude', c.longitude);
  set('elevation', c.elevation);
  set('public_flag', c.publicFlag === undefined ? undefined : bool(c.publicFlag));
  set('min_update_interval', c.minUpdateIntervalSeconds);
  set('created_at', c.createdAt);
  set('updated_at', c.updatedAt);
  set('last_entry_id', c.lastEntryId);
  set('last_update_at', c.lastUpdateAt);
  return out;
}

export function entryFromRow(r: EntryRow): ChannelEntry {
  const fields: ChannelEntry['fields'] = {};
  for (const f of FIELD_KEYS) fields[f] = r[f];
  return {
    channelId: Number(r.channel_id),
    entryId: r.entry_id,
    createdAt: r.created_at,
    fields,
    status: r.status,
    latitude: r.latitude,
    longitude: r.longitude,
    elevation: r.elevation,
  };
}

/** An entry's values in ENTRY_COLUMNS order. */
export function entryValues(e: Omit<ChannelEntry, 'entryId'>, entryId: number): unknown[] {
  return [
    e.channelId,
    entryId,
    e.createdAt,
    ...FIELD_KEYS.map((f) => e.fields[f] ?? null),
    e.status,
    e.latitude,
    e.longitude,
    e.elevation,
  ];
}

/**
 * An upsert on (channel_id, created_at) whose conflict keeps the entry id and
 * takes the new non-null values; RETURNING tells a merge (an older entry id)
 * from an insert. `placeholders` are the dialect's, in ENTRY_COLUMNS order.
 */
export function mergeEntrySql(placeholders: readonly string[]): string {
  const merged = [...FIELD_KEYS, 'status', 'latitude', 'longitude', 'elevation'].map(
    (c) => `${c} = COALESCE(excluded.${c}, thingspeak_entries.${c})`,
  );
  return `INSERT INTO thingspeak_entries (${ENTRY_COLUMNS.join(', ')}) VALUES (${placeholders.join(', ')})
    ON CONFLICT (channel_id, created_at) DO UPDATE SET ${merged.join(', ')}
    RETURNING *`;
}

export function keyFromRow(r: KeyRow): ChannelKey {
  return {
    channelId: Number(r.channel_id),
    kind: r.kind,
    keyHash: r.key_hash,
    sealed: r.sealed,
    createdAt: r.created_at,
  };
}

export function hasTag(c: Channel, tag: string | undefined): boolean {
  return tag === undefined || c.tags.some((t) => t.toLowerCase() === tag.toLowerCase());
}

/** Validated field number (it goes into SQL text as a column name). */
export function fieldColumn(field: number): `field${FieldNumber}` {
  if (!(FIELD_NUMBERS as readonly number[]).includes(field)) throw new RangeError(`no field ${field}`);
  return `field${field as FieldNumber}`;
}

export const duplicateCreatedAt = (createdAt: number) => ({ field: 'created_at', createdAt });

/** Both dialects: entries after their channel's mirror mark, oldest first; the dialect appends its limit parameter. */
export const UNMIRRORED_ENTRIES = `SELECT e.* FROM thingspeak_channels AS c
    JOIN thingspeak_entries AS e ON e.channel_id = c.id AND e.entry_id > c.mirrored_entry_id
   ORDER BY e.channel_id, e.entry_id LIMIT`;

/** All eight fields, null where absent: the shape the stores read back. */
export function normalFields(fields: ChannelEntry['fields']): ChannelEntry['fields'] {
  const out: ChannelEntry['fields'] = {};
  for (const f of FIELD_KEYS) out[f] = fields[f] ?? null;
  return out;
}
