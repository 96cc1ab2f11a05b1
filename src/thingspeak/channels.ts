/**
 * ChannelService (service.ts) over a ChannelStore: keys, the per-channel
 * minimum update interval, validation, the telemetry mirror and the MQTT
 * subscriber notices. Management rights: the tenant's admins and operators
 * change channels, its viewers read them; platform admins act on any tenant.
 * Another tenant's channel is NOT_FOUND, never NOT_AUTHORIZED.
 */
import { HalyardError, isHalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Actor, RegistryService } from '../registry/service.js';
import type { DataPoint } from '../telemetry/model.js';
import type { TelemetryStore } from '../telemetry/store.js';
import { ChannelCache } from './channel-cache.js';
import { GroupCommit, type Settled } from './group-commit.js';
import { MirrorWriter } from './mirror-writer.js';
import { newChannelKey, openChannelKey } from './keys.js';
import { FIELD_KEYS, type Channel, type ChannelEntry, type FieldNumber } from './model.js';
import type {
  ChannelService,
  ChannelSettings,
  ChannelWithKeys,
  EntryInput,
  UpdateOutcome,
} from './service.js';
import type { DeviceChannelSink } from './device-telemetry.js';
import type { ChannelStore, EntryQuery, GroupAppend } from './store.js';
import { checkSettings, entryFromInput } from './validate.js';

export interface ChannelsOptions {
  store: ChannelStore;
  registry: RegistryService;
  telemetry: TelemetryStore;
  /** How mirrored points are written (mirror-writer.ts); default `telemetry.write`. */
  writePoints?: (points: DataPoint[]) => Promise<void>;
  /** How long mirrored points gather before they are written (mirror-writer.ts); default 50 ms. */
  mirrorDelayMs?: number;
  secretKey: Buffer;
  /** Told of each REST or MQTT update (not bulk ones): the MQTT fan-out (mqtt-feeds.ts). */
  notify?: (channel: Channel, entry: ChannelEntry) => void;
  now?: () => number;
  logger: Logger;
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export class Channels implements ChannelService, DeviceChannelSink {
  private readonly now: () => number;
  /** Channels bound to each device, for its native telemetry; kept current by create/update/delete. */
  private readonly bound = new Map<string, Channel[]>();
  /** Updates accepted but maybe not yet stored, per channel: the interval check must see them too. */
  private readonly pending = new Map<number, number>();
  /** The last server-assigned created_at per channel (entries of one channel need distinct times). */
  private readonly serverTimes = new Map<number, number>();
  /** Keys and channels for the write path (channel-cache.ts). */
  private readonly cache: ChannelCache;
  /** Single updates and device entries, written a group at a time. */
  private readonly groups: GroupCommit<GroupItem, ChannelEntry>;
  /** The telemetry mirror of the entries, written behind them. */
  private readonly mirror: MirrorWriter;

  constructor(private readonly opts: ChannelsOptions) {
    this.now = opts.now ?? Date.now;
    this.cache = new ChannelCache(opts.store, this.now);
    this.groups = new GroupCommit((items) => this.commitGroup(items));
    this.mirror = new MirrorWriter({
      store: opts.store,
      telemetry: opts.telemetry,
      writePoints: opts.writePoints ?? ((points) => opts.telemetry.write(points)),
      logger: opts.logger,
      delayMs: opts.mirrorDelayMs,
    });
  }

  /**
   * Writes the updates still waiting for their group, and the mirror of every
   * entry; call after the listeners and before the stores close.
   */
  async close(): Promise<void> {
    await this.groups.drain();
    await this.mirror.close();
  }

  /** Resolves once the telemetry mirror of every entry stored so far is written. */
  mirrored(): Promise<void> {
    return this.mirror.flush();
  }

  /**
   * Mirrors what a crash left unmirrored (mirror-writer.ts); call once at
   * start, before updates flow. Returns how many points it wrote.
   */
  async recoverMirror(): Promise<number> {
    const channels = new Map<number, Channel | undefined>();
    const written = await this.mirror.recover(async (entry) => {
      if (!channels.has(entry.channelId))
        channels.set(entry.channelId, await this.opts.store.getChannel(entry.channelId));
      const channel = channels.get(entry.channelId);
      return channel ? mirrorPoints(channel, entry) : [];
    });
    if (written > 0)
      this.opts.logger.info({ points: written }, 'mirrored channel entries a crash had left unmirrored');
    return written;
  }

  /** Loads the device bindings; call once before native telemetry flows. */
  async loadBindings(): Promise<void> {
    this.bound.clear();
    for (const c of await this.opts.store.listChannels({})) this.rebind(c.id, c);
  }

  channelsOfDevice(deviceId: string): readonly Channel[] | undefined {
    return this.bound.get(deviceId);
  }

  /**
   * Native telemetry of the bound device as entries: not rate-limited (the
   * telemetry is accepted already) and not mirrored back (it is telemetry);
   * an entry at the same time takes the new values.
   */
  async appendDeviceEntries(channel: Channel, inputs: readonly EntryInput[]): Promise<void> {
    const now = this.now();
    for (const input of inputs) {
      const checked = entryFromInput(channel.id, input, now);
      if (!checked.ok) continue; // nothing of this channel's in it (the sink keeps only valid values)
      const entry = await this.groups.add({ entry: checked.entry, at: now, merge: true });
      this.cache.noteEntry(channel.id, entry.entryId, now);
      this.notify(channel, entry);
    }
  }

  async resolveKey(
    key: string | undefined,
  ): Promise<{ channel: Channel; kind: 'write' | 'read' } | undefined> {
    if (!key) return undefined;
    const record = await this.cache.key(key);
    if (!record) return undefined;
    const channel = await this.cache.channel(record.channelId);
    return channel && { channel, kind: record.kind };
  }

  async canRead(channel: Channel, key: string | undefined): Promise<boolean> {
    if (channel.publicFlag) return true;
    return (await this.resolveKey(key))?.channel.id === channel.id;
  }

  async update(
    writeKey: string | undefined,
    input: EntryInput,
    via: 'rest' | 'mqtt',
  ): Promise<UpdateOutcome> {
    const resolved = await this.resolveKey(writeKey);
    if (!resolved || resolved.kind !== 'write')
      return { ok: false, reason: 'bad-key', message: 'not a write key' };
    return this.updateChannelEntry(resolved.channel, input, via);
  }

  /** One update of a channel whose write access is already established (the MQTT hook's device rule). */
  async updateChannelEntry(
    channel: Channel,
    input: EntryInput,
    via: 'rest' | 'mqtt',
  ): Promise<UpdateOutcome> {
    const now = this.now();
    // created_at must be unique in a channel; updates arriving in the same millisecond (a busy
    // channel, a group commit) get the next free one instead of a conflict.
    let createdAt = input.createdAt;
    if (createdAt === undefined) {
      createdAt = Math.max(now, (this.serverTimes.get(channel.id) ?? 0) + 1);
      this.serverTimes.set(channel.id, createdAt);
    }
    // The server's time stands in for a created_at the input does not give.
    const checked = entryFromInput(channel.id, input, createdAt);
    if (!checked.ok) return { ok: false, reason: 'invalid', message: checked.message };
    const minMs = channel.minUpdateIntervalSeconds * 1000;
    const last = Math.max(channel.lastUpdateAt ?? -Infinity, this.pending.get(channel.id) ?? -Infinity);
    if (minMs > 0 && now - last < minMs) {
      return { ok: false, reason: 'rate-limited', message: 'updates come faster than the channel allows' };
    }
    // Reserved before the first await, so two concurrent updates cannot both pass the check.
    this.pending.set(channel.id, now);
    let entry: ChannelEntry;
    try {
      entry = await this.groups.add({ entry: checked.entry, at: now, merge: false, mirrorOf: channel });
    } catch (err) {
      if (this.pending.get(channel.id) === now) this.pending.delete(channel.id);
      if (isHalyardError(err, 'CONFLICT')) return { ok: false, reason: 'invalid', message: err.message };
      if (isHalyardError(err, 'NOT_FOUND')) return { ok: false, reason: 'bad-key', message: err.message };
      throw err;
    }
    if (this.pending.get(channel.id) === now) this.pending.delete(channel.id);
    this.cache.noteEntry(channel.id, entry.entryId, now);
    this.notify(channel, entry);
    if (this.opts.logger.isLevelEnabled('debug'))
      this.opts.logger.debug({ channelId: channel.id, entryId: entry.entryId, via }, 'channel updated');
    return { ok: true, entry };
  }

  async bulkUpdate(
    channelId: number,
    writeKey: string | undefined,
    inputs: EntryInput[],
  ): Promise<UpdateOutcome[] | 'bad-key'> {
    const resolved = await this.resolveKey(writeKey);
    if (!resolved || resolved.kind !== 'write' || resolved.channel.id !== channelId) return 'bad-key';
    const { channel } = resolved;
    const now = this.now();
    const checked = inputs.map((input) => entryFromInput(channel.id, input, now));
    if (checked.some((c) => !c.ok)) {
      return checked.map((c) =>
        c.ok
          ? { ok: false, reason: 'invalid', message: 'another update of the batch is invalid' }
          : { ok: false, reason: 'invalid', message: c.message },
      );
    }
    const entries = checked.flatMap((c) => (c.ok ? [c.entry] : []));
    let stored: ChannelEntry[];
    try {
      stored = await this.opts.store.appendEntries(entries, now);
    } catch (err) {
      if (!isHalyardError(err, 'CONFLICT')) throw err;
      return entries.map(() => ({ ok: false, reason: 'invalid', message: err.message }));
    }
    const last = stored.at(-1);
    if (last) this.cache.noteEntry(channel.id, last.entryId, now);
    for (const entry of stored) this.addMirror(channel, entry);
    await this.mirror.room();
    // Bulk writes are not delivered to MQTT subscribers (ThingSpeak's rule).
    return stored.map((entry) => ({ ok: true, entry }));
  }

  async createChannel(actor: Actor, settings: ChannelSettings): Promise<ChannelWithKeys> {
    checkSettings(settings);
    const tenantId = await this.tenantFor(actor, settings.tenantId);
    this.mustManage(actor, tenantId);
    if (settings.deviceId) await this.checkDevice(tenantId, settings.deviceId);
    const now = this.now();
    const fields: Channel['fields'] = {
      field1: 'Field Label 1',
      field2: null,
      field3: null,
      field4: null,
      field5: null,
      field6: null,
      field7: null,
      field8: null,
      ...settings.fields,
    };
    const channel = await this.opts.store.createChannel({
      tenantId,
      deviceId: settings.deviceId ?? null,
      name: settings.name?.trim() || 'My Channel',
      description: settings.description ?? null,
      fields,
      metadata: settings.metadata ?? null,
      tags: cleanTags(settings.tags),
      url: settings.url ?? null,
      latitude: settings.latitude ?? null,
      longitude: settings.longitude ?? null,
      elevation: settings.elevation ?? null,
      publicFlag: settings.publicFlag ?? false,
      minUpdateIntervalSeconds: settings.minUpdateIntervalSeconds ?? 0,
      createdAt: now,
      updatedAt: now,
      lastEntryId: 0,
      lastUpdateAt: null,
    });
    const write = newChannelKey(this.opts.secretKey, channel.id, 'write', now);
    const read = newChannelKey(this.opts.secretKey, channel.id, 'read', now);
    await this.opts.store.addKey(write.record);
    await this.opts.store.addKey(read.record);
    this.rebind(channel.id, channel);
    await this.audit(actor, channel, 'channel.create');
    return { channel, writeKey: write.key, readKeys: [read.key] };
  }

  async listChannels(actor: Actor, filter: { tag?: string } = {}): Promise<ChannelWithKeys[]> {
    const channels = await this.opts.store.listChannels({
      tenantId: actor.tenantId ?? undefined,
      tag: filter.tag,
    });
    return Promise.all(channels.map((c) => this.withKeys(c, actor)));
  }

  listedChannels(filter: { tenantId?: string; tag?: string }, actor?: Actor): Promise<Channel[]> {
    const { tenantId, tag } = filter;
    const own = actor !== undefined && tenantId !== undefined && (actor.tenantId ?? tenantId) === tenantId;
    return this.opts.store.listChannels({ tenantId, tag, publicOnly: !own });
  }

  async getChannel(actor: Actor, id: number): Promise<ChannelWithKeys> {
    return this.withKeys(await this.visible(actor, id), actor);
  }

  async updateChannel(actor: Actor, id: number, settings: ChannelSettings): Promise<ChannelWithKeys> {
    checkSettings(settings);
    const channel = await this.visible(actor, id);
    this.mustManage(actor, channel.tenantId);
    if (settings.tenantId !== undefined && settings.tenantId !== channel.tenantId) {
      throw new HalyardError('INVALID_INPUT', 'a channel cannot move to another tenant', {
        field: 'tenantId',
      });
    }
    if (settings.deviceId) await this.checkDevice(channel.tenantId, settings.deviceId);
    const updated = await this.opts.store.updateChannel(id, {
      name: settings.name?.trim(),
      description: settings.description,
      fields: settings.fields && { ...channel.fields, ...settings.fields },
      metadata: settings.metadata,
      tags: settings.tags && cleanTags(settings.tags),
      url: settings.url,
      latitude: settings.latitude,
      longitude: settings.longitude,
      elevation: settings.elevation,
      publicFlag: settings.publicFlag,
      minUpdateIntervalSeconds: settings.minUpdateIntervalSeconds,
      deviceId: settings.deviceId,
      updatedAt: this.now(),
    });
    if (!updated) throw notFound(id);
    this.cache.put(updated);
    this.rebind(id, updated);
    await this.audit(actor, updated, 'channel.update');
    return this.withKeys(updated);
  }

  async clearChannel(actor: Actor, id: number): Promise<void> {
    const channel = await this.visible(actor, id);
    this.mustManage(actor, channel.tenantId);
    // Copies still on their way carry mirror marks of the old entry ids, which must not land on the new ones.
    await this.mirror.flush();
    // The copies in a bound device's telemetry stay: they are the device's data too.
    await this.opts.store.clearEntries(id);
    this.cache.forget(id);
    await this.audit(actor, channel, 'channel.clear');
  }

  async deleteChannel(actor: Actor, id: number): Promise<ChannelWithKeys> {
    const channel = await this.visible(actor, id);
    this.mustManage(actor, channel.tenantId);
    const shown = await this.withKeys(channel);
    const deleted = await this.opts.store.deleteChannel(id);
    if (!deleted) throw notFound(id);
    this.cache.forget(id);
    this.rebind(id, undefined);
    await this.audit(actor, channel, 'channel.delete');
    return { ...shown, channel: deleted };
  }

  getChannelById(id: number): Promise<Channel | undefined> {
    return this.opts.store.getChannel(id);
  }

  entries(q: EntryQuery): Promise<ChannelEntry[]> {
    return this.opts.store.entries(q);
  }

  entry(channelId: number, entryId: number): Promise<ChannelEntry | undefined> {
    return this.opts.store.getEntry(channelId, entryId);
  }

  lastEntry(channelId: number): Promise<ChannelEntry | undefined> {
    return this.opts.store.lastEntry(channelId);
  }

  lastFieldEntry(channelId: number, field: FieldNumber): Promise<ChannelEntry | undefined> {
    return this.opts.store.lastFieldEntry(channelId, field);
  }

  /**
   * One group: its entries in one store commit, answered once durable; their
   * telemetry mirror follows (mirror-writer.ts says how, and why a crash loses
   * none of it).
   */
  private async commitGroup(items: readonly GroupItem[]): Promise<Settled<ChannelEntry>[]> {
    const outcomes = await this.opts.store.appendGroup(items);
    items.forEach((item, i) => {
      const outcome = outcomes[i];
      if (item.mirrorOf && 'value' in outcome) this.addMirror(item.mirrorOf, outcome.value);
    });
    await this.mirror.room();
    return outcomes;
  }

  private addMirror(channel: Channel, entry: ChannelEntry): void {
    this.mirror.add(channel.id, entry.entryId, mirrorPoints(channel, entry));
  }

  /** Puts the channel under its device (or nowhere) in the bindings. */
  private rebind(id: number, channel: Channel | undefined): void {
    for (const [deviceId, list] of this.bound) {
      const rest = list.filter((c) => c.id !== id);
      if (rest.length === 0) this.bound.delete(deviceId);
      else if (rest.length !== list.length) this.bound.set(deviceId, rest);
    }
    if (channel?.deviceId)
      this.bound.set(channel.deviceId, [...(this.bound.get(channel.deviceId) ?? []), channel]);
  }

  private notify(channel: Channel, entry: ChannelEntry): void {
    try {
      this.opts.notify?.(channel, entry);
    } catch (err) {
      this.opts.logger.warn({ err, channelId: channel.id }, 'could not notify channel subscribers');
    }
  }

  /** The channel and its keys in clear; a viewer (who may read but not write) gets no write key. */
  private async withKeys(channel: Channel, actor?: Actor): Promise<ChannelWithKeys> {
    const keys = await this.opts.store.listKeys(channel.id);
    let writeKey = '';
    const readKeys: string[] = [];
    for (const k of keys) {
      if (k.kind === 'write' && actor?.role === 'viewer') continue;
      const clear = openChannelKey(this.opts.secretKey, k);
      if (clear === undefined) continue;
      if (k.kind === 'write') writeKey = clear;
      else readKeys.push(clear);
    }
    return { channel, writeKey, readKeys };
  }

  /** The channel if the actor's tenant owns it (platform actors see all), else NOT_FOUND. */
  private async visible(actor: Actor, id: number): Promise<Channel> {
    const channel = await this.opts.store.getChannel(id);
    if (!channel || (actor.tenantId !== null && actor.tenantId !== channel.tenantId)) throw notFound(id);
    return channel;
  }

  private mustManage(actor: Actor, tenantId: string): void {
    const own = actor.tenantId === null || actor.tenantId === tenantId;
    const role = actor.tenantId === null ? actor.role === 'admin' : actor.role !== 'viewer';
    if (!own || !role) throw new HalyardError('NOT_AUTHORIZED', 'only admins and operators manage channels');
  }

  private async tenantFor(actor: Actor, requested: string | undefined): Promise<string> {
    if (actor.tenantId !== null) {
      if (requested !== undefined && requested !== actor.tenantId) {
        throw new HalyardError('NOT_FOUND', `tenant ${requested} does not exist`, { tenantId: requested });
      }
      return actor.tenantId;
    }
    if (requested === undefined) {
      throw new HalyardError('INVALID_INPUT', 'a platform admin must name the tenant', { field: 'tenantId' });
    }
    if (!(await this.opts.registry.tenantById(requested))) {
      throw new HalyardError('NOT_FOUND', `tenant ${requested} does not exist`, { tenantId: requested });
    }
    return requested;
  }

  private async checkDevice(tenantId: string, deviceId: string): Promise<void> {
    const device = await this.opts.registry.deviceById(deviceId);
    if (!device || device.tenantId !== tenantId) {
      throw new HalyardError('NOT_FOUND', `device ${deviceId} does not exist`, { deviceId });
    }
  }

  private async audit(actor: Actor, channel: Channel, action: string): Promise<void> {
    await this.opts.registry.audit({
      tenantId: channel.tenantId,
      actorType: actor.type,
      actor: actor.name,
      action,
      target: `channel:${channel.id}`,
      address: actor.address ?? null,
      outcome: 'success',
      details: {},
    });
  }
}

/** An entry to append, and the channel whose telemetry mirrors it (none for device entries). */
interface GroupItem extends GroupAppend {
  mirrorOf?: Channel;
}

/**
 * An entry's copy in its channel's device telemetry: the field's name as the
 * key (`field<n>` when unnamed), numeric strings as numbers. A channel without
 * a device has none: no API reads telemetry but a device's, and the copy was
 * about a quarter of an update's cost (BENCHMARKS.md, "ThingSpeak /update").
 */
function mirrorPoints(channel: Channel, e: ChannelEntry): DataPoint[] {
  const into: DataPoint[] = [];
  const { tenantId, deviceId: seriesId } = channel;
  if (seriesId === null) return into;
  const ts = e.createdAt;
  for (const field of FIELD_KEYS) {
    const v = e.fields[field];
    if (v === undefined || v === null) continue;
    const key = channel.fields[field] ?? field;
    const trimmed = v.trim();
    const num = NUMERIC.test(trimmed) ? Number(trimmed) : NaN;
    into.push({ tenantId, seriesId, key, ts, value: Number.isFinite(num) ? num : v });
  }
  if (e.status !== null) into.push({ tenantId, seriesId, key: 'status', ts, value: e.status });
  return into;
}

function cleanTags(tags: string[] | undefined): string[] {
  return [...new Set((tags ?? []).map((t) => t.trim()).filter((t) => t !== ''))];
}

function notFound(id: number): HalyardError {
  return new HalyardError('NOT_FOUND', `channel ${id} does not exist`, { channelId: id });
}
