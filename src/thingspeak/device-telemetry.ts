/**
 * Native telemetry of a device bound to a channel, readable through the
 * channel (docs/thingspeak.md "Channels bound to devices"): the device paths'
 * ingest (MQTT `devices/me/telemetry`, HTTP `POST /api/v1/telemetry`) goes
 * through `withDeviceChannels`, which, for a bound device only, turns the
 * message's points into channel entries once they are stored.
 *
 * Mapping: a key equal to a field's name goes to that field, else a key
 * `field1`..`field8` to that field, and `status` to the status; other keys stay
 * telemetry only. Points of one time make one entry; an entry already at that
 * time (the same time sent twice, or a channel update's mirror) takes the new
 * values, as the telemetry store replaces a point at the same time.
 *
 * A channel update's own mirror into telemetry is written straight to the
 * ingest, not through here, so it never comes back as a second entry.
 */
import type { Logger } from '../core/logger.js';
import type { DataPoint } from '../telemetry/model.js';
import type { Channel, FieldNumber } from './model.js';
import type { EntryInput, FieldKey } from './service.js';
import { MAX_VALUE_BYTES } from './validate.js';

export interface TelemetryAcceptor {
  accept(points: readonly DataPoint[]): Promise<void>;
}

export interface DeviceChannelSink {
  /** The channels bound to this device (a cached, synchronous lookup). */
  channelsOfDevice(deviceId: string): readonly Channel[] | undefined;
  /** Stores the entries (merging with an entry at the same time) and tells subscribers. */
  appendDeviceEntries(channel: Channel, inputs: readonly EntryInput[]): Promise<void>;
}

/** The field a telemetry key fills in this channel, 'status', or undefined. */
export function channelSlot(channel: Channel, key: string): FieldKey | 'status' | undefined {
  for (const [field, name] of Object.entries(channel.fields)) if (name === key) return field as FieldKey;
  const m = /^field([1-8])$/.exec(key);
  if (m) return `field${Number(m[1]) as FieldNumber}`;
  return key === 'status' ? 'status' : undefined;
}

/** One entry per distinct time, oldest first; values as ThingSpeak's strings (at most 255 bytes). */
export function entriesFromPoints(channel: Channel, points: readonly DataPoint[]): EntryInput[] {
  const byTime = new Map<number, EntryInput>();
  for (const p of points) {
    const slot = channelSlot(channel, p.key);
    const value = String(p.value);
    if (slot === undefined || Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) continue;
    let input = byTime.get(p.ts);
    if (!input) byTime.set(p.ts, (input = { fields: {}, createdAt: p.ts }));
    if (slot === 'status') input.status = value;
    else input.fields[slot] = value;
  }
  return [...byTime.values()].sort((a, b) => a.createdAt! - b.createdAt!);
}

/**
 * The ingest as the device paths see it: an unbound device's points cost one
 * map lookup per message; a bound device's are acknowledged only once they are
 * both stored as telemetry and appended to the channel.
 */
export function withDeviceChannels(
  ingest: TelemetryAcceptor,
  sink: DeviceChannelSink,
  logger: Logger,
): TelemetryAcceptor {
  return {
    accept(points) {
      const stored = ingest.accept(points);
      const bound = boundSeries(points, sink);
      if (bound.length === 0) return stored;
      return stored.then(async () => {
        for (const { channels, points: own } of bound) {
          for (const channel of channels) {
            const inputs = entriesFromPoints(channel, own);
            if (inputs.length === 0) continue;
            await sink.appendDeviceEntries(channel, inputs).catch((err: unknown) => {
              logger.error(
                { err, channelId: channel.id },
                'could not append device telemetry to its channel',
              );
              throw err;
            });
          }
        }
      });
    },
  };
}

function boundSeries(
  points: readonly DataPoint[],
  sink: DeviceChannelSink,
): Array<{ channels: readonly Channel[]; points: DataPoint[] }> {
  const out: Array<{ channels: readonly Channel[]; points: DataPoint[] }> = [];
  let series: string | undefined;
  let current: { channels: readonly Channel[]; points: DataPoint[] } | undefined;
  for (const p of points) {
    if (p.seriesId !== series) {
      series = p.seriesId;
      const channels = sink.channelsOfDevice(series);
      current = channels && out.find((b) => b.channels === channels);
      if (channels && !current) out.push((current = { channels, points: [] }));
    }
    current?.points.push(p);
  }
  return out;
}
