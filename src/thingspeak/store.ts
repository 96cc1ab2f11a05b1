/**
 * Channels, their keys and entries: SQLite (thingspeak.db) by default,
 * PostgreSQL with the rest of the platform. Both pass one suite.
 *
 * - `createChannel` assigns the next id (ids are never reused).
 * - `appendGroup` appends each entry with the next entry id (lastEntryId + 1)
 *   and updates lastEntryId and lastUpdateAt with it; each append fails alone:
 *   a createdAt already used in the channel with HalyardError('CONFLICT', …,
 *   { field: 'created_at' }), a channel that does not exist with NOT_FOUND.
 *   SQLite commits the group in one transaction, PostgreSQL each append in its
 *   own (several connections write at once).
 * - A merging append (`merge`) is an append, except that an entry already at
 *   that createdAt takes the given (non-null) fields, status and location and
 *   keeps its entry id (the telemetry store's rule for a point at the same time).
 * - `clearEntries` deletes the entries and resets lastEntryId (and the mirror
 *   mark) to 0 (entry ids restart at 1, as ThingSpeak's clear does).
 * - The mirror mark of a channel: the entry id up to which its entries'
 *   telemetry mirror is known to be stored (mirror-writer.ts). It only moves
 *   forward and never past lastEntryId; new channels start at 0.
 * - Entries are returned ordered by entryId ascending.
 */
import type { Settled } from './group-commit.js';
import type { Channel, ChannelEntry, ChannelKey, ChannelKeyKind } from './model.js';

/** One append of a group: `at` is the time of the update (the channel's lastUpdateAt). */
export interface GroupAppend {
  entry: Omit<ChannelEntry, 'entryId'>;
  at: number;
  /** Merge into an entry already at the same createdAt instead of failing. */
  merge: boolean;
}

export interface EntryQuery {
  channelId: number;
  /** Inclusive, ms. */
  from?: number;
  /** Inclusive, ms. */
  to?: number;
  /** The newest `limit` entries in the range (returned oldest first). */
  limit: number;
}

export interface ChannelStore {
  readonly dialect: 'sqlite' | 'postgres';

  createChannel(channel: Omit<Channel, 'id'>): Promise<Channel>;
  getChannel(id: number): Promise<Channel | undefined>;
  listChannels(filter: { tenantId?: string; tag?: string; publicOnly?: boolean }): Promise<Channel[]>;
  updateChannel(
    id: number,
    patch: Partial<Omit<Channel, 'id' | 'tenantId' | 'createdAt'>>,
  ): Promise<Channel | undefined>;
  deleteChannel(id: number): Promise<Channel | undefined>;

  addKey(key: ChannelKey): Promise<void>;
  listKeys(channelId: number): Promise<ChannelKey[]>;
  /** The key record with this hash, or undefined. */
  findKey(keyHash: string): Promise<ChannelKey | undefined>;
  removeKey(channelId: number, keyHash: string): Promise<boolean>;

  /** Independent appends, each with its outcome (the stored entry, or why it failed), in order. */
  appendGroup(items: readonly GroupAppend[]): Promise<Settled<ChannelEntry>[]>;
  /** Several entries in one transaction (bulk update); all or nothing. */
  appendEntries(entries: ReadonlyArray<Omit<ChannelEntry, 'entryId'>>, at: number): Promise<ChannelEntry[]>;
  getEntry(channelId: number, entryId: number): Promise<ChannelEntry | undefined>;
  lastEntry(channelId: number): Promise<ChannelEntry | undefined>;
  /** The newest entry whose fieldN is not null (ThingSpeak's fields/N/last). */
  lastFieldEntry(channelId: number, field: number): Promise<ChannelEntry | undefined>;
  entries(q: EntryQuery): Promise<ChannelEntry[]>;
  clearEntries(channelId: number): Promise<void>;
  /**
   * Moves each channel's mirror mark up to the given entry id. Need not be
   * durable at once: a mark lost in a crash only has recovery look again at
   * entries whose mirror is there.
   */
  markMirrored(marks: ReadonlyMap<number, number>): Promise<void>;
  /** Entries after their channel's mirror mark, by channel and entry id; at most `limit`. */
  unmirroredEntries(limit: number): Promise<ChannelEntry[]>;

  close(): Promise<void>;
}

export type { ChannelKeyKind };
