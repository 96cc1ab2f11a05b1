/**
 * What MQTT subscribers of a channel receive (reference §3 "Subscribe
 * behaviour", "Legacy model"):
 *
 * - `channels/<id>/subscribe`: the `/update.json` entry object;
 *   `channels/<id>/subscribe/fields/field<n>` (also `…/fields/+`): the bare value.
 *   Every subscriber allowed in the channel's tenant gets them (the tenant's topic
 *   ACLs decide), as ThingSpeak's current broker does for an authorised device.
 * - The legacy forms `channels/<id>/subscribe/<json|xml|csv>[/<readKey>]` and
 *   `channels/<id>/subscribe/fields/field<n>[/<readKey>]`: the entry in that
 *   format, or the bare value. The key must be a key of the channel (a public
 *   channel needs none); the last entry (the field's newest value) is sent at
 *   once; a wrong key or channel disconnects the client (0x87), as ThingSpeak's
 *   legacy broker did. A legacy subscription lasts as long as its connection.
 *
 * Legacy topics carry a read key, so updates are published on them only while
 * someone holds such a subscription: a key is never sprayed into topic names
 * nobody asked for. The last entry goes to the subscription's topic, so another
 * connection holding the very same topic gets it again.
 */
import type { Identity } from '../broker/auth.js';
import type { Logger } from '../core/logger.js';
import { entryObject } from './entry-json.js';
import { toCsv, toXml, type ReadOptions } from './http/render.js';
import { UTC } from './http/time.js';
import { FIELD_KEYS, type Channel, type ChannelEntry, type FieldNumber } from './model.js';
import { inTenantOf } from './mqtt.js';
import type { ChannelService } from './service.js';

export type FeedFormat = 'json' | 'xml' | 'csv';

export interface SubscribeTopic {
  channelId: number;
  /** A field topic: the bare value of that field. */
  field?: FieldNumber;
  /** A legacy entry topic: the entry in this format. */
  format?: FeedFormat;
  key?: string;
}

const SUBSCRIBE =
  /^channels\/(\d{1,15})\/subscribe(?:\/(json|xml|csv)|\/fields\/field([1-8]))?(?:\/([0-9A-Za-z]{16}))?$/;

/** A legacy subscribe topic (one with a format or a key level), or undefined. */
export function parseLegacySubscribeTopic(topic: string): SubscribeTopic | undefined {
  const m = SUBSCRIBE.exec(topic);
  if (!m || (m[2] === undefined && m[4] === undefined)) return undefined;
  return {
    channelId: Number(m[1]),
    format: m[2] as FeedFormat | undefined,
    field: m[3] === undefined ? undefined : (Number(m[3]) as FieldNumber),
    key: m[4],
  };
}

const CSV_OPTIONS: ReadOptions = {
  zone: UTC,
  status: true,
  location: true,
  metadata: false,
  fields: FIELD_KEYS,
  entryId: true,
};

/** The message a subscription of this form gets for an entry; undefined when a field topic has no value. */
export function feedPayload(
  t: Pick<SubscribeTopic, 'field' | 'format'>,
  entry: ChannelEntry,
): string | undefined {
  if (t.field !== undefined) return entry.fields[`field${t.field}`] ?? undefined;
  if (t.format === 'xml') return toXml('feed', entryObject(entry));
  if (t.format === 'csv') return toCsv([entry], CSV_OPTIONS);
  return JSON.stringify(entryObject(entry));
}

interface LegacySubscription {
  topic: string;
  form: SubscribeTopic;
  holders: Set<Identity>;
}

export interface ChannelFeedsOptions {
  channels: Pick<ChannelService, 'getChannelById' | 'canRead' | 'lastEntry' | 'lastFieldEntry'>;
  /** A QoS 0, non-retained message into the tenant's namespace. */
  publish: (topic: string, payload: Buffer, tenantId: string) => void;
  /** Ends the connection of this identity (a wrong key or channel in a legacy subscription). */
  disconnect: (identity: Identity, message: string) => void;
  logger: Logger;
}

/**
 * Whether a (mount-relative) filter could match a channel topic: its first
 * level is `channels` or a wildcard. Erring on the side of yes only costs work.
 */
export function mayMatchChannelTopics(filter: string): boolean {
  const own = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  const first = own.split('/', 1)[0];
  return first === 'channels' || first === '+' || first === '#';
}

export class ChannelFeeds {
  /**
   * Connections holding a subscription that may match a channel topic. With
   * none (the usual case under load), an entry reaches nobody and its messages
   * are not built. Unsubscribing does not remove a connection: that only costs work.
   */
  private readonly watchers = new Set<Identity>();
  /** Live legacy subscriptions: channel id → topic → who holds it. */
  private readonly legacy = new Map<number, Map<string, LegacySubscription>>();
  private readonly heldBy = new Map<Identity, Array<{ channelId: number; topic: string }>>();
  private readonly ended = new WeakSet<Identity>();

  constructor(private readonly opts: ChannelFeedsOptions) {}

  /** A REST or MQTT update (not a bulk one, as ThingSpeak): tells every subscriber of the channel. */
  entryAdded(channel: Channel, entry: ChannelEntry): void {
    if (this.watchers.size === 0) return;
    const base = `channels/${channel.id}/subscribe`;
    this.send(base, JSON.stringify(entryObject(entry)), channel.tenantId);
    for (const field of FIELD_KEYS) {
      const v = entry.fields[field];
      if (v !== undefined && v !== null) this.send(`${base}/fields/${field}`, v, channel.tenantId);
    }
    for (const sub of this.legacy.get(channel.id)?.values() ?? []) {
      const payload = feedPayload(sub.form, entry);
      if (payload !== undefined) this.send(sub.topic, payload, channel.tenantId);
    }
  }

  /**
   * A subscription the broker granted: a legacy one is checked (key, tenant),
   * kept while its connection lives, and answered with the last entry.
   */
  subscribed(identity: Identity, filter: string): void {
    if (mayMatchChannelTopics(filter) && !this.ended.has(identity)) this.watchers.add(identity);
    const form = parseLegacySubscribeTopic(filter);
    if (!form) return;
    this.admit(identity, filter, form).catch((err: unknown) =>
      this.opts.logger.warn({ err, topic: filter }, 'could not set up a channel subscription'),
    );
  }

  /** The connection of this identity ended: its legacy subscriptions go. */
  connectionEnded(identity: Identity): void {
    this.ended.add(identity);
    this.watchers.delete(identity);
    for (const { channelId, topic } of this.heldBy.get(identity) ?? []) {
      const topics = this.legacy.get(channelId);
      const sub = topics?.get(topic);
      sub?.holders.delete(identity);
      if (sub?.holders.size === 0) topics!.delete(topic);
      if (topics?.size === 0) this.legacy.delete(channelId);
    }
    this.heldBy.delete(identity);
  }

  private async admit(identity: Identity, topic: string, form: SubscribeTopic): Promise<void> {
    const { channels } = this.opts;
    const channel = await channels.getChannelById(form.channelId);
    const allowed =
      channel !== undefined && inTenantOf(identity, channel) && (await channels.canRead(channel, form.key));
    if (this.ended.has(identity)) return;
    if (!channel || !allowed) {
      this.opts.disconnect(identity, 'not a channel of this tenant, or not a key of the channel');
      return;
    }
    let topics = this.legacy.get(channel.id);
    if (!topics) this.legacy.set(channel.id, (topics = new Map<string, LegacySubscription>()));
    let sub = topics.get(topic);
    if (!sub) topics.set(topic, (sub = { topic, form, holders: new Set() }));
    sub.holders.add(identity);
    const held = this.heldBy.get(identity) ?? [];
    held.push({ channelId: channel.id, topic });
    this.heldBy.set(identity, held);

    const last =
      form.field !== undefined
        ? await channels.lastFieldEntry(channel.id, form.field)
        : await channels.lastEntry(channel.id);
    const payload = last && feedPayload(form, last);
    if (payload !== undefined && !this.ended.has(identity)) this.send(topic, payload, channel.tenantId);
  }

  private send(topic: string, payload: string, tenantId: string): void {
    try {
      this.opts.publish(topic, Buffer.from(payload), tenantId);
    } catch (err) {
      this.opts.logger.warn({ err, topic }, 'could not notify channel subscribers');
    }
  }
}
