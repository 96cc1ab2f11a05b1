/** Limits and feature switches of the broker core. Defaults are documented in docs/mqtt.md. */
export interface BrokerOptions {
  /** Connections refused (CONNACK 0x9F / 3.1.1 "server unavailable") beyond this many. */
  maxConnections: number;
  /** Largest packet accepted from, and sent to, a client, in bytes. */
  maxPacketSize: number;
  /** Messages queued per session beyond the in-flight window; see queueOverflow. */
  maxQueuedMessages: number;
  /** 'drop-new' refuses the newest message, 'drop-oldest' evicts the oldest queued one. */
  queueOverflow: 'drop-new' | 'drop-oldest';
  /** Outbound QoS 1/2 messages in flight per client (further capped by the client's Receive Maximum). */
  maxInflight: number;
  /** Inbound QoS 1/2 publishes the broker accepts unacknowledged per client (Receive Maximum in CONNACK). */
  receiveMaximum: number;
  /** A client whose unsent output exceeds this many bytes is disconnected (slow-reader protection). */
  maxOutputBuffer: number;
  /** A socket that sends no CONNECT within this time is closed. */
  connectTimeoutMs: number;
  /** Largest keep-alive granted, in seconds; larger requests get Server Keep Alive (MQTT 5). */
  maxKeepAlive: number;
  /** Largest Session Expiry Interval granted, in seconds. */
  maxSessionExpiry: number;
  /** Topic Alias Maximum the broker accepts from clients. */
  topicAliasMaximum: number;
  /** Seconds between $SYS updates; 0 turns $SYS off. */
  sysInterval: number;
  /** How often expired sessions and messages are swept, in ms. */
  sweepIntervalMs: number;
  /** The broker's version string, for $SYS. */
  version: string;
}

export const DEFAULT_BROKER_OPTIONS: BrokerOptions = {
  maxConnections: 100_000,
  maxPacketSize: 1024 * 1024,
  maxQueuedMessages: 1000,
  queueOverflow: 'drop-new',
  maxInflight: 100,
  receiveMaximum: 100,
  maxOutputBuffer: 8 * 1024 * 1024,
  connectTimeoutMs: 10_000,
  maxKeepAlive: 3600,
  maxSessionExpiry: 7 * 24 * 3600,
  topicAliasMaximum: 64,
  sysInterval: 10,
  sweepIntervalMs: 1000,
  version: '0.1.0',
};
