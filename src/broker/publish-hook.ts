import type { Identity } from './auth.js';
import type { QoS } from './message.js';

/**
 * A subsystem's say in a client's PUBLISH, before it is routed: the telemetry
 * ingest consumes `devices/me/telemetry` this way. The message is routed to
 * subscribers as usual unless refused; a QoS 1/2 acknowledgement waits for
 * `durable` as well as for the broker's own store.
 */
export type PublishHookResult =
  undefined | { refuse: { reason: number; message: string } } | { durable: Promise<void> };

export interface PublishHook {
  /** `topic` as the client named it (without its mount point). Must not throw. */
  onPublish(identity: Identity, topic: string, payload: Buffer, qos: QoS): PublishHookResult;
}
