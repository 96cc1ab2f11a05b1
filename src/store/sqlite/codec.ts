import type { Message, MessageProperties, QoS } from '../../broker/message.js';
import type { Subscription } from '../../broker/subscription.js';
import type { OutboundState, StoredOutbound, StoredSession } from '../broker-store.js';

/**
 * Rows ↔ broker objects. Payload and correlation data are bound as BLOBs as they
 * are; only the small remaining property set is JSON, so serialising a message
 * never copies or encodes its payload.
 */

/** Bind order of the message columns: topic, payload, qos, retain, properties, correlation_data, expires_at, origin. */
export type MessageParams = [
  string,
  Buffer,
  number,
  number,
  string | null,
  Buffer | null,
  number | null,
  string,
];

export function messageParams(m: Message): MessageParams {
  let props: string | null = null;
  let correlation: Buffer | null = null;
  if (m.properties) {
    const { correlationData, ...rest } = m.properties;
    // Written whenever properties exist (even `{}`) so that load gives back exactly what was stored.
    props = JSON.stringify(rest);
    correlation = correlationData ?? null;
  }
  return [m.topic, m.payload, m.qos, m.retain ? 1 : 0, props, correlation, m.expiresAt ?? null, m.origin];
}

export interface MessageRow {
  topic: string;
  payload: Buffer;
  msg_qos: number;
  msg_retain: number;
  properties: string | null;
  correlation_data: Buffer | null;
  expires_at: number | null;
  origin: string;
}

export function messageFromRow(row: MessageRow): Message {
  const msg: Message = {
    topic: row.topic,
    payload: row.payload,
    qos: row.msg_qos as QoS,
    retain: row.msg_retain === 1,
    origin: row.origin,
  };
  if (row.properties !== null || row.correlation_data !== null) {
    const props = (row.properties === null ? {} : JSON.parse(row.properties)) as MessageProperties;
    if (row.correlation_data !== null) props.correlationData = row.correlation_data;
    msg.properties = props;
  }
  if (row.expires_at !== null) msg.expiresAt = row.expires_at;
  return msg;
}

export interface OutboundRow extends MessageRow {
  client_id: string;
  seq: number;
  state: string;
  packet_id: number | null;
  qos: number;
  retain: number;
  subscription_ids: string | null;
}

export function outboundFromRow(row: OutboundRow): StoredOutbound {
  const entry: StoredOutbound = {
    seq: row.seq,
    clientId: row.client_id,
    message: messageFromRow(row),
    qos: row.qos as QoS,
    retain: row.retain === 1,
    state: row.state as OutboundState,
  };
  if (row.subscription_ids !== null)
    entry.subscriptionIdentifiers = JSON.parse(row.subscription_ids) as number[];
  if (row.packet_id !== null) entry.packetId = row.packet_id;
  return entry;
}

export interface SessionRow {
  client_id: string;
  expiry_interval: number;
  disconnected_at: number | null;
  protocol_version: number;
  subscriptions: string;
}

export function sessionFromRow(row: SessionRow): StoredSession {
  const session: StoredSession = {
    clientId: row.client_id,
    expiryInterval: row.expiry_interval,
    protocolVersion: row.protocol_version as 3 | 4 | 5,
    subscriptions: JSON.parse(row.subscriptions) as Subscription[],
  };
  if (row.disconnected_at !== null) session.disconnectedAt = row.disconnected_at;
  return session;
}
