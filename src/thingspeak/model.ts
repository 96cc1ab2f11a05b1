/**
 * ThingSpeak channels and their entries (docs/thingspeak.md). A channel is
 * owned by a tenant and optionally bound to a device; its write key and read
 * keys are 16 characters of [0-9A-Z], kept sealed (to show them to their
 * owners) and hashed (to find the channel by key).
 */

export const FIELD_NUMBERS = [1, 2, 3, 4, 5, 6, 7, 8] as const;
export type FieldNumber = (typeof FIELD_NUMBERS)[number];
/** `field1`..`field8`, in order: the names made once, not on every update. */
export const FIELD_KEYS = FIELD_NUMBERS.map((n) => `field${n}` as const);

export interface Channel {
  /** Automatic and immutable, increasing from 1, like ThingSpeak's. */
  id: number;
  tenantId: string;
  /** When set, fields are this device's telemetry keys (field names), so both APIs read the same data. */
  deviceId: string | null;
  name: string;
  description: string | null;
  /** Names of field1..field8; null = the field is disabled. */
  fields: Record<`field${FieldNumber}`, string | null>;
  metadata: string | null;
  tags: string[];
  url: string | null;
  latitude: number | null;
  longitude: number | null;
  elevation: number | null;
  publicFlag: boolean;
  /** Minimum seconds between updates (REST and MQTT together); 0 = off. */
  minUpdateIntervalSeconds: number;
  createdAt: number;
  updatedAt: number;
  lastEntryId: number;
  /** ms of the last accepted update, for the minimum interval. */
  lastUpdateAt: number | null;
}

export type ChannelKeyKind = 'write' | 'read';

export interface ChannelKey {
  channelId: number;
  kind: ChannelKeyKind;
  /** SHA-256 hex of the key: how a request's key finds its channel. */
  keyHash: string;
  /** The key sealed with the server key (AES-256-GCM), to show it to the channel's owners. */
  sealed: string;
  createdAt: number;
}

export interface ChannelEntry {
  channelId: number;
  entryId: number;
  /** ms; unique within the channel. */
  createdAt: number;
  /** field1..field8 as ThingSpeak keeps them: strings (at most 255 bytes) or null. */
  fields: Partial<Record<`field${FieldNumber}`, string | null>>;
  status: string | null;
  latitude: number | null;
  longitude: number | null;
  elevation: number | null;
}
