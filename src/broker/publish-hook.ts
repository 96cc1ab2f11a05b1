import type { Identity } from './auth.js';
import type { QoS } from './message.js';

/**
 * A subsystem's say in a client's PUBLISH, before it is routed: the telemetry
 * ingest consumes `devices/me/telemetry` this way. The message is routed to
 * subscribers as usual unless refused; a QoS 1/2 acknowledgement waits for
 * `durable` as well as for the broker's own store.
 */
export type PublishHookResult =
  | undefined
  | { refuse: { reason: number; message: string } }
  /**
   * `private`: a QoS 0 message is consumed without being routed to subscribers
   * (ThingSpeak's publish topics carry write keys); QoS 1/2 ones are still routed,
   * because their acknowledgement rides on the broker's own commit.
   */
  | { durable: Promise<void>; private?: boolean };

export interface PublishHook {
  /** `topic` as the client named it (without its mount point). Must not throw. */
  onPublish(identity: Identity, topic: string, payload: Buffer, qos: QoS): PublishHookResult;
}

/** Several hooks as one: the first that has a say about a publish decides. */
export function combineHooks(...hooks: PublishHook[]): PublishHook {
  return {
    onPublish(identity, topic, payload, qos) {
      for (const hook of hooks) {
        const result = hook.onPublish(identity, topic, payload, qos);
        if (result !== undefined) return result;
      }
      return undefined;
    },
  };
}
