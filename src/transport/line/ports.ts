import type { Identity } from '../../broker/auth.js';
import type { Logger } from '../../core/logger.js';
import type { Admission } from './admission.js';
import type { BrokerLinkEvents, LinkAck, LinkAckCallback } from './broker-link.js';
import type { LineGate } from './gate.js';
import type { LineStats } from './stats.js';

/** Everything a Conversation talks to, as interfaces: the socket glue and tests provide them. */

/** The broker session a conversation talks through (BrokerLink in production). */
export interface Link {
  publish(topic: string, payload: Buffer, qos: 0 | 1, done: LinkAckCallback): void;
  subscribe(filter: string, done: LinkAckCallback): void;
  unsubscribe(filter: string, done: LinkAckCallback): void;
  close(): void;
}

export type LinkResult = { ok: true; link: Link } | { ok: false; refused: LinkAck };

export interface ConversationOutput {
  write(bytes: Buffer): void;
  /** Much written but not yet sent: the broker's next message waits (its acknowledgement is held back). */
  congested(): boolean;
  /** Reading pauses while too many replies are outstanding, and resumes once they are out. */
  setReading(on: boolean): void;
  /** Closes the connection once what was written is sent. */
  close(): void;
}

export interface ConversationDeps {
  admission: Admission;
  gate: LineGate;
  /** Opens the conversation's MQTT session in the broker, as `identity`. */
  openLink(identity: Identity, clientId: string, events: BrokerLinkEvents): Promise<LinkResult>;
  newClientId(): string;
  /** A fresh 128-bit nonce, as hex. */
  newNonce(): string;
  listener: string;
  remoteAddress: string;
  authTimeoutMs: number;
  output: ConversationOutput;
  stats: LineStats;
  log: Logger;
}
