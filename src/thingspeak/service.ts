/**
 * What the ThingSpeak HTTP routes and the MQTT hook ask of channels. The
 * implementation (channels.ts) checks keys, the per-channel minimum update
 * interval (REST and MQTT together), validates values as ThingSpeak does,
 * appends entries, copies those of a channel bound to a device into the
 * device's telemetry (so the native API reads the same data) and tells MQTT subscribers of
 * channels/<id>/subscribe… about each REST or MQTT update (not bulk ones).
 */
import type { Actor } from '../registry/service.js';
import type { Channel, ChannelEntry, FieldNumber } from './model.js';
import type { EntryQuery } from './store.js';

export type FieldKey = `field${FieldNumber}`;

export interface EntryInput {
  fields: Partial<Record<FieldKey, string>>;
  status?: string;
  latitude?: number;
  longitude?: number;
  elevation?: number;
  /** ms; server time when absent. */
  createdAt?: number;
}

export type UpdateOutcome =
  | { ok: true; entry: ChannelEntry }
  /** ThingSpeak answers these with body 0: HTTP 200 for rate-limited, 400 for a bad key. */
  | { ok: false; reason: 'rate-limited' | 'bad-key' | 'invalid'; message: string };

export interface ChannelSettings {
  name?: string;
  description?: string | null;
  fields?: Partial<Record<FieldKey, string | null>>;
  metadata?: string | null;
  tags?: string[];
  url?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  elevation?: number | null;
  publicFlag?: boolean;
  minUpdateIntervalSeconds?: number;
  deviceId?: string | null;
  /** Platform admins must name the tenant; others get their own. */
  tenantId?: string;
}

export interface ChannelWithKeys {
  channel: Channel;
  writeKey: string;
  readKeys: string[];
}

export interface ChannelService {
  /** The channel a write or read key belongs to. */
  resolveKey(key: string | undefined): Promise<{ channel: Channel; kind: 'write' | 'read' } | undefined>;
  /** Whether this key (or none, for a public channel) may read the channel. The write key may read too. */
  canRead(channel: Channel, key: string | undefined): Promise<boolean>;

  /** One update by write key (REST /update, MQTT publish). */
  update(writeKey: string | undefined, input: EntryInput, via: 'rest' | 'mqtt'): Promise<UpdateOutcome>;
  /** Bulk update of one channel by its write key; all or nothing. */
  bulkUpdate(
    channelId: number,
    writeKey: string | undefined,
    inputs: EntryInput[],
  ): Promise<UpdateOutcome[] | 'bad-key'>;

  /** Management with a user API key (a Halyard API token of a user: the Actor). */
  createChannel(actor: Actor, settings: ChannelSettings): Promise<ChannelWithKeys>;
  listChannels(actor: Actor, filter?: { tag?: string }): Promise<ChannelWithKeys[]>;
  getChannel(actor: Actor, id: number): Promise<ChannelWithKeys>;
  updateChannel(actor: Actor, id: number, settings: ChannelSettings): Promise<ChannelWithKeys>;
  clearChannel(actor: Actor, id: number): Promise<void>;
  deleteChannel(actor: Actor, id: number): Promise<ChannelWithKeys>;

  /**
   * The channels a listing shows (`/channels/public`, `/users/<u>/channels`): the
   * public ones, of one tenant when named; all of that tenant's when the actor
   * (a user API key) belongs to it or is a platform admin.
   */
  listedChannels(filter: { tenantId?: string; tag?: string }, actor?: Actor): Promise<Channel[]>;

  /** Reads (access already checked by the caller with canRead). */
  getChannelById(id: number): Promise<Channel | undefined>;
  entries(q: EntryQuery): Promise<ChannelEntry[]>;
  entry(channelId: number, entryId: number): Promise<ChannelEntry | undefined>;
  lastEntry(channelId: number): Promise<ChannelEntry | undefined>;
  lastFieldEntry(channelId: number, field: FieldNumber): Promise<ChannelEntry | undefined>;
}
