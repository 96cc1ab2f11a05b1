import type { ClientView, ConnectionObserver } from '../broker/auth.js';
import { RC } from '../broker/reason-codes.js';
import { TokenBucket } from './rate-limit.js';
import { DeviceIdentity } from './identities.js';

/**
 * Live connections per tenant and per device, for the connection caps, and the
 * publish quota each connected device shares across its connections.
 *
 * Counts follow the broker's connection observer, so they include only clients
 * that completed CONNECT. A reconnect that takes over its own session is not a
 * new connection for the cap: the old one is about to be closed.
 */

export interface PublishLimits {
  messagesPerSecond: number;
  bytesPerSecond: number;
}

/** Told when a device first exceeds its quota, then at most once a minute (for the audit log). */
export type QuotaReport = (reason: number) => void;

const REPORT_INTERVAL_MS = 60_000;

/** Messages/s and bytes/s of one device, whatever connection they arrive on. 0 = unlimited. */
export class PublishQuota {
  private readonly messages: TokenBucket | undefined;
  private readonly bytes: TokenBucket | undefined;
  private lastReport = -Infinity;

  constructor(
    limits: PublishLimits,
    private readonly report?: QuotaReport,
  ) {
    // One second of burst: a device may send its whole second's allowance at once.
    this.messages =
      limits.messagesPerSecond > 0
        ? new TokenBucket(limits.messagesPerSecond, limits.messagesPerSecond)
        : undefined;
    this.bytes =
      limits.bytesPerSecond > 0 ? new TokenBucket(limits.bytesPerSecond, limits.bytesPerSecond) : undefined;
  }

  /** 0 to admit, else the MQTT 5 reason code: 0x96 for the message rate, 0x97 for the byte quota. */
  admit(bytes: number, now: number): number {
    const verdict =
      this.messages && !this.messages.take(1, now)
        ? RC.MESSAGE_RATE_TOO_HIGH
        : this.bytes && !this.bytes.take(bytes, now)
          ? RC.QUOTA_EXCEEDED
          : 0;
    if (verdict !== 0 && this.report && now - this.lastReport >= REPORT_INTERVAL_MS) {
      this.lastReport = now;
      this.report(verdict);
    }
    return verdict;
  }
}

interface DeviceEntry {
  /** Open connections per session key. */
  sessions: Map<string, number>;
  count: number;
  quota: PublishQuota | undefined;
}

export class ConnectionLedger implements ConnectionObserver {
  private readonly tenants = new Map<string, number>();
  private readonly devices = new Map<string, DeviceEntry>();

  tenantConnections(tenantId: string): number {
    return this.tenants.get(tenantId) ?? 0;
  }

  deviceConnections(deviceId: string): number {
    return this.devices.get(deviceId)?.count ?? 0;
  }

  /** Whether a live connection holds this session key (a reconnect would take it over). */
  holdsSession(deviceId: string, sessionKey: string): boolean {
    return this.devices.get(deviceId)?.sessions.has(sessionKey) ?? false;
  }

  /** The quota shared by the device's connections; created with these limits when none is live. */
  quotaFor(deviceId: string, limits: PublishLimits, report?: QuotaReport): PublishQuota | undefined {
    if (limits.messagesPerSecond === 0 && limits.bytesPerSecond === 0) return undefined;
    const entry = this.devices.get(deviceId);
    if (entry) return (entry.quota ??= new PublishQuota(limits, report));
    // Not connected yet: the entry is made by clientConnected; until then the quota is the connection's own.
    return new PublishQuota(limits, report);
  }

  clientConnected(client: ClientView): void {
    const identity = client.identity;
    if (!(identity instanceof DeviceIdentity)) return;
    this.tenants.set(identity.tenantId, this.tenantConnections(identity.tenantId) + 1);
    let entry = this.devices.get(identity.deviceId);
    if (!entry) {
      entry = { sessions: new Map(), count: 0, quota: identity.quota };
      this.devices.set(identity.deviceId, entry);
    }
    entry.count++;
    entry.sessions.set(client.clientId, (entry.sessions.get(client.clientId) ?? 0) + 1);
  }

  clientDisconnected(client: ClientView): void {
    const identity = client.identity;
    if (!(identity instanceof DeviceIdentity)) return;
    const tenantCount = this.tenantConnections(identity.tenantId) - 1;
    if (tenantCount > 0) this.tenants.set(identity.tenantId, tenantCount);
    else this.tenants.delete(identity.tenantId);
    const entry = this.devices.get(identity.deviceId);
    if (!entry) return;
    entry.count--;
    const open = (entry.sessions.get(client.clientId) ?? 1) - 1;
    if (open > 0) entry.sessions.set(client.clientId, open);
    else entry.sessions.delete(client.clientId);
    if (entry.count <= 0) this.devices.delete(identity.deviceId);
  }
}
