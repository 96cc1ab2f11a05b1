import type { PublishHook } from '../broker/publish-hook.js';
import { RC } from '../broker/reason-codes.js';
import { DeviceIdentity } from '../devices/identities.js';
import type { TelemetryIngest } from './ingest.js';
import { parseTelemetry } from './payload.js';

/**
 * Devices publish telemetry on `devices/me/telemetry` (or ThingsBoard's
 * `v1/devices/me/telemetry`) inside their tenant; "me" is the authenticated
 * device, so a device can only ever write its own series. The message is
 * routed to subscribers as usual (a dashboard sees it live) and stored; its
 * QoS 1/2 acknowledgement waits for the store. A payload that does not parse
 * is refused with PUBACK 0x99 and the reason (3.1.1: acknowledged and dropped,
 * as for any refused message), and counted.
 */

export const TELEMETRY_TOPICS: ReadonlySet<string> = new Set([
  'devices/me/telemetry',
  'v1/devices/me/telemetry',
]);

export interface TelemetryHookStats {
  messagesStored: number;
  messagesRejected: number;
}

export function telemetryPublishHook(opts: {
  ingest: Pick<TelemetryIngest, 'accept'>;
  maxSkewMs: number;
  now?: () => number;
}): PublishHook & { stats: TelemetryHookStats } {
  const now = opts.now ?? Date.now;
  const stats: TelemetryHookStats = { messagesStored: 0, messagesRejected: 0 };
  return {
    stats,
    onPublish(identity, topic, payload) {
      if (!TELEMETRY_TOPICS.has(topic) || !(identity instanceof DeviceIdentity)) return undefined;
      const parsed = parseTelemetry(payload, {
        tenantId: identity.tenantId,
        seriesId: identity.deviceId,
        now: now(),
        maxSkewMs: opts.maxSkewMs,
      });
      if (!parsed.ok) {
        stats.messagesRejected++;
        const where = parsed.field === undefined ? '' : ` (${parsed.field})`;
        return { refuse: { reason: RC.PAYLOAD_FORMAT_INVALID, message: `${parsed.reason}${where}` } };
      }
      const durable = opts.ingest.accept(parsed.points);
      void durable.then(
        () => stats.messagesStored++,
        () => undefined,
      );
      return { durable };
    },
  };
}
