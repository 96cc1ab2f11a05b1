import type { StoredOutbound, StoredSession } from '../store/broker-store.js';
import type { MqttConnection } from './connection.js';
import type { Subscription } from './subscription.js';

/** Session Expiry Interval meaning "never expires" (MQTT 5 §3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffffffff;

/**
 * The state that outlives a network connection: subscriptions, messages in
 * flight or queued towards the client, and inbound QoS 2 packet ids awaiting
 * PUBREL. A session with expiryInterval 0 lives exactly as long as its connection
 * and never touches the store.
 */
export class Session {
  readonly subscriptions = new Map<string, Subscription>();
  /** Outbound QoS 1/2 deliveries awaiting PUBACK/PUBREC/PUBCOMP, by packet id. */
  readonly inflight = new Map<number, StoredOutbound>();
  /** Outbound deliveries waiting for an in-flight slot or for the client to come back. */
  queue: StoredOutbound[] = [];
  /** Inbound QoS 2 packet ids already routed, awaiting PUBREL. */
  readonly inboundQos2 = new Set<number>();
  connection: MqttConnection | undefined;
  disconnectedAt: number | undefined;
  private lastPacketId = 0;

  constructor(
    readonly clientId: string,
    public expiryInterval: number,
    public protocolVersion: 3 | 4 | 5,
  ) {}

  get persistent(): boolean {
    return this.expiryInterval > 0;
  }

  /** When a disconnected session ends (ms since epoch); undefined while connected or if it never expires. */
  expiresAt(): number | undefined {
    if (this.disconnectedAt === undefined || this.expiryInterval === NEVER_EXPIRES) return undefined;
    return this.disconnectedAt + this.expiryInterval * 1000;
  }

  /** A packet id not used by any in-flight delivery, or undefined when all 65535 are taken. */
  allocatePacketId(): number | undefined {
    if (this.inflight.size >= 0xffff) return undefined;
    let id = this.lastPacketId;
    do {
      id = id === 0xffff ? 1 : id + 1;
    } while (this.inflight.has(id));
    this.lastPacketId = id;
    return id;
  }

  toStored(): StoredSession {
    return {
      clientId: this.clientId,
      expiryInterval: this.expiryInterval,
      disconnectedAt: this.disconnectedAt,
      protocolVersion: this.protocolVersion,
      subscriptions: [...this.subscriptions.values()],
    };
  }
}
