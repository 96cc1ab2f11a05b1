/** Counters the broker keeps for $SYS and /metrics. Plain numbers: cheap to bump on the hot path. */
export class BrokerStats {
  readonly startedAt = Date.now();
  clientsConnected = 0;
  /** Highest number of clients connected at once. */
  clientsMaximum = 0;
  /** Connections ever accepted (CONNACK success). */
  connectionsTotal = 0;
  /** Sessions known, connected or not. */
  sessions = 0;
  messagesReceived = 0;
  messagesSent = 0;
  publishReceived = 0;
  publishSent = 0;
  publishDropped = 0;
  /** PUBLISH packets refused by a per-device publish quota (messages/s or bytes/s). */
  publishQuotaRejections = 0;
  bytesReceived = 0;
  bytesSent = 0;
  subscriptions = 0;
  retained = 0;
  malformedPackets = 0;
  authFailures = 0;

  uptimeSeconds(now = Date.now()): number {
    return Math.floor((now - this.startedAt) / 1000);
  }
}
