import type { Message, QoS } from '../broker/message.js';
import type { Subscription } from '../broker/subscription.js';

/**
 * Durable broker state: persistent sessions with their subscriptions, the
 * messages queued or in flight for them, inbound QoS 2 packet ids awaiting
 * PUBREL, and retained messages.
 *
 * The broker keeps the live copy of this state in memory and writes through to
 * the store. Writes are submitted as operations; every operation submitted in
 * the same event-loop turn is committed in one transaction, and the callback
 * fires when that transaction is durable. A PUBACK/PUBREC that depends on a
 * write is sent only from that callback.
 */
export interface StoredSession {
  clientId: string;
  /** Session Expiry Interval in seconds; 0xFFFFFFFF = never. */
  expiryInterval: number;
  /** ms since epoch when the client last disconnected; undefined while connected. */
  disconnectedAt?: number;
  protocolVersion: 3 | 4 | 5;
  subscriptions: Subscription[];
}

export type OutboundState = 'queued' | 'publish-sent' | 'pubrec-received';

/** A message on its way to one session's client. */
export interface StoredOutbound {
  /** Monotonic per store; orders delivery. */
  seq: number;
  clientId: string;
  message: Message;
  /** QoS granted for this delivery (min of publish and subscription). */
  qos: QoS;
  /** Retain flag as it will be sent (Retain As Published). */
  retain: boolean;
  subscriptionIdentifiers?: number[];
  state: OutboundState;
  packetId?: number;
}

export interface RetainedEntry {
  message: Message;
}

export type StoreOp =
  | { op: 'session.put'; session: StoredSession }
  /** Also deletes the client's outbound entries and inbound QoS 2 packet ids. */
  | { op: 'session.delete'; clientId: string }
  | { op: 'outbound.put'; entry: StoredOutbound }
  /** Sets state and packetId together (an absent packetId clears it). */
  | { op: 'outbound.update'; clientId: string; seq: number; state: OutboundState; packetId?: number }
  | { op: 'outbound.delete'; clientId: string; seq: number }
  | { op: 'inbound.put'; clientId: string; packetId: number }
  | { op: 'inbound.delete'; clientId: string; packetId: number }
  | { op: 'retained.put'; message: Message }
  | { op: 'retained.delete'; topic: string };

export interface BrokerState {
  sessions: StoredSession[];
  /** Ordered by seq. */
  outbound: StoredOutbound[];
  inbound: { clientId: string; packetId: number }[];
  retained: Message[];
  /** Highest seq ever stored (0 for an empty store), so that new entries continue above it. */
  maxSeq: number;
}

export interface BrokerStore {
  /** Reads everything at start-up. */
  load(): Promise<BrokerState>;
  /**
   * Queues operations for the current batch. `done` is called (with an error if
   * the commit failed) once they are durable. Operations are applied in order.
   */
  submit(ops: StoreOp[], done?: (err?: Error) => void): void;
  /** Commits whatever is queued and resolves when durable. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
