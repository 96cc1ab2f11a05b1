/**
 * ThingSpeak's MQTT publish topics, as a broker publish hook:
 *
 * - `channels/<id>/publish` with a form-encoded payload (`field1=…&status=…&lat=…
 *   &long=…&elevation=…&created_at=…`; a leading `&`, as MathWorks' sketches send, is fine);
 * - `channels/<id>/publish/fields/field<n>` with a bare value;
 * - the legacy forms with the write key as the last level
 *   (`channels/<id>/publish/<key>`, `channels/<id>/publish/fields/field<n>/<key>`).
 *
 * Who may write without a key in the topic: ThingSpeak checks the MQTT password,
 * but the broker's identity does not carry it, so the connection's identity
 * decides instead: a device bound to the channel (channel.deviceId), or a user of
 * the channel's tenant with role operator or admin. A legacy topic's key must be
 * the channel's write key.
 *
 * Nothing published to a channel's topics is ever routed to subscribers:
 * legacy topics carry the write key, and `channels/<id>/subscribe…` is the
 * platform's to publish. ThingSpeak takes channel publishes at QoS 0 only, so
 * QoS 1/2 ones are refused (0x83) rather than stored; any other topic under
 * `channels/<id>/publish` is refused as not a channel topic (0x90), and a
 * client's publish to `channels/<id>/subscribe…` as not allowed (0x87).
 *
 * What can be decided at once is refused at once: a payload that does not parse
 * (0x99), a malformed key or an identity that can never write (0x87). The
 * channel lookup is asynchronous, so a wrong key, a foreign channel, the minimum
 * update interval or a duplicate created_at drop the message (logged, counted)
 * rather than refuse it: the hook has to answer before the lookup, and a failed
 * `durable` would make the broker close a 3.1.1 connection.
 */
import type { Identity } from '../broker/auth.js';
import type { PublishHook } from '../broker/publish-hook.js';
import { RC } from '../broker/reason-codes.js';
import type { Logger } from '../core/logger.js';
import { DeviceIdentity, UserIdentity } from '../devices/identities.js';
import { tenantMountPoint } from '../devices/namespaces.js';
import type { Channels } from './channels.js';
import { CHANNEL_KEY_LENGTH } from './keys.js';
import type { Channel, FieldNumber } from './model.js';
import type { EntryInput } from './service.js';

const TOPIC = /^channels\/(\d{1,15})\/publish(?:\/fields\/field([1-8]))?(?:\/([^/]+))?$/;
/** Every topic of ThingSpeak's channel tree that only the platform's channel logic may handle. */
const CHANNEL_TREE = /^channels\/[^/]*\/(publish|subscribe)(\/|$)/;
const KEY = new RegExp(`^[0-9A-Za-z]{${CHANNEL_KEY_LENGTH}}$`);

export interface ThingSpeakHookStats {
  updates: number;
  dropped: number;
  refused: number;
}

export interface ParsedTopic {
  channelId: number;
  field?: FieldNumber;
  key?: string;
}

export function parseChannelTopic(topic: string): ParsedTopic | undefined {
  const m = TOPIC.exec(topic);
  if (!m) return undefined;
  return {
    channelId: Number(m[1]),
    field: m[2] === undefined ? undefined : (Number(m[2]) as FieldNumber),
    key: m[3],
  };
}

/** `YYYY-MM-DD HH:MM:SS` (UTC unless an offset is given), ISO 8601, or epoch seconds. */
export function parseCreatedAt(text: string): number | undefined {
  const t = text.trim();
  if (/^\d{9,11}$/.test(t)) return Number(t) * 1000;
  let iso = t.replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso)) iso += 'Z';
  // An offset without minutes ("-05", as Arduino sketches write) needs them for Date.
  iso = iso.replace(/([+-]\d{2})$/, '$1:00');
  if (!/^\d{4}-\d{2}-\d{2}/.test(iso)) return undefined;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The form-encoded feed payload as an update, or why it is not one. */
export function parseFeedPayload(
  payload: string,
): { ok: true; input: EntryInput } | { ok: false; message: string } {
  const params = new URLSearchParams(payload.replace(/^&+/, ''));
  const input: EntryInput = { fields: {} };
  const num = (name: string, v: string): number | string => {
    const n = Number(v);
    return v.trim() !== '' && Number.isFinite(n) ? n : `${name} is not a number`;
  };
  for (const [k, v] of params) {
    const field = /^field([1-8])$/.exec(k);
    if (field) input.fields[`field${Number(field[1]) as FieldNumber}`] = v;
    else if (k === 'status') input.status = v;
    else if (k === 'lat' || k === 'long' || k === 'elevation') {
      const n = num(k, v);
      if (typeof n === 'string') return { ok: false, message: n };
      if (k === 'lat') input.latitude = n;
      else if (k === 'long') input.longitude = n;
      else input.elevation = n;
    } else if (k === 'created_at') {
      const ms = parseCreatedAt(v);
      if (ms === undefined) return { ok: false, message: 'created_at is not a valid time' };
      input.createdAt = ms;
    }
    // Other keys (twitter, tweet, headers) are ignored, as ThingSpeak ignores unknown parameters.
  }
  return { ok: true, input };
}

/** Whether the identity may write to the channel without a key in the topic. */
export function mayWrite(identity: Identity, channel: Channel): boolean {
  if (identity instanceof DeviceIdentity) {
    return channel.deviceId === identity.deviceId && channel.tenantId === identity.tenantId;
  }
  if (identity instanceof UserIdentity) {
    return identity.tenantId === channel.tenantId && identity.role !== 'viewer';
  }
  return false;
}

/** Whether the identity lives in the channel's tenant (its topics are the tenant's). */
export function inTenantOf(identity: Identity, channel: Channel): boolean {
  return identity.mountPoint === tenantMountPoint(channel.tenantId);
}

const canEverWrite = (identity: Identity) =>
  identity instanceof DeviceIdentity || (identity instanceof UserIdentity && identity.role !== 'viewer');

export function thingSpeakPublishHook(opts: {
  channels: Channels;
  logger: Logger;
}): PublishHook & { stats: ThingSpeakHookStats } {
  const stats: ThingSpeakHookStats = { updates: 0, dropped: 0, refused: 0 };
  const refuse = (reason: number, message: string) => {
    stats.refused++;
    return { refuse: { reason, message } };
  };
  return {
    stats,
    onPublish(identity, topic, payload, qos) {
      const tree = CHANNEL_TREE.exec(topic);
      if (!tree) return undefined;
      if (tree[1] === 'subscribe') {
        return refuse(RC.NOT_AUTHORIZED, 'channel subscribe topics are published by the platform only');
      }
      const parsed = parseChannelTopic(topic);
      if (!parsed) return refuse(RC.TOPIC_NAME_INVALID, 'not a ThingSpeak channel publish topic');
      if (qos !== 0) {
        return refuse(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'ThingSpeak channel topics take QoS 0 only');
      }
      const text = payload.toString('utf8');
      let input: EntryInput;
      if (parsed.field !== undefined) {
        input = { fields: { [`field${parsed.field}`]: text } };
      } else {
        const feed = parseFeedPayload(text);
        if (!feed.ok) return refuse(RC.PAYLOAD_FORMAT_INVALID, feed.message);
        input = feed.input;
      }
      if (parsed.key !== undefined && !KEY.test(parsed.key)) {
        return refuse(RC.NOT_AUTHORIZED, 'the last topic level is not a channel write key');
      }
      if (parsed.key === undefined && !canEverWrite(identity)) {
        return refuse(
          RC.NOT_AUTHORIZED,
          'only the bound device or a tenant operator may publish to a channel',
        );
      }
      const durable = (async () => {
        const channel = await access(opts.channels, identity, parsed);
        if (!channel) {
          stats.dropped++;
          opts.logger.debug(
            { topic, identity: identity.name },
            'channel publish without write access dropped',
          );
          return;
        }
        const out = await opts.channels.updateChannelEntry(channel, input, 'mqtt');
        if (out.ok) stats.updates++;
        else {
          stats.dropped++;
          opts.logger.debug(
            { channelId: channel.id, reason: out.reason, why: out.message },
            'channel publish dropped',
          );
        }
      })();
      // Never routed: legacy topics carry the write key (QoS 1/2, which would be routed, is refused above).
      return { durable, private: true };
    },
  };
}

async function access(channels: Channels, identity: Identity, t: ParsedTopic): Promise<Channel | undefined> {
  if (t.key !== undefined) {
    const resolved = await channels.resolveKey(t.key);
    const { channel } = resolved ?? {};
    const ours = channel && resolved?.kind === 'write' && channel.id === t.channelId;
    return ours && inTenantOf(identity, channel) ? channel : undefined;
  }
  const channel = await channels.getChannelById(t.channelId);
  return channel && mayWrite(identity, channel) ? channel : undefined;
}
