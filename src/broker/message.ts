/** The broker's in-memory form of an application message, independent of protocol version. */
export type QoS = 0 | 1 | 2;

export interface UserProperties {
  [name: string]: string | string[];
}

/** MQTT 5 properties that travel with a message from publisher to subscribers unchanged. */
export interface MessageProperties {
  payloadFormatIndicator?: boolean;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserProperties;
}

export interface Message {
  /** Internal topic (with the publisher's mount point, if any). */
  topic: string;
  payload: Buffer;
  qos: QoS;
  retain: boolean;
  properties?: MessageProperties;
  /** Absolute expiry (ms since epoch) derived from the Message Expiry Interval; undefined = never. */
  expiresAt?: number;
  /** Client id of the publisher, for No Local. Empty for broker-originated messages. */
  origin: string;
}

export function isExpired(msg: Message, now: number): boolean {
  return msg.expiresAt !== undefined && msg.expiresAt <= now;
}

/** Remaining Message Expiry Interval in whole seconds (rounded up), as forwarded to subscribers. */
export function remainingExpirySeconds(msg: Message, now: number): number | undefined {
  if (msg.expiresAt === undefined) return undefined;
  return Math.max(0, Math.ceil((msg.expiresAt - now) / 1000));
}
