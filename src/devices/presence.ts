import { EventEmitter } from 'node:events';
import type { ClientView, ConnectionObserver, DisconnectCause } from '../broker/auth.js';
import { DeviceIdentity } from './identities.js';

/**
 * Online/offline of devices as an explicit state machine. A device may hold
 * several connections (one per session key; a takeover briefly two for one
 * key), so it is online while any is open:
 *
 *   offline --connect--> online          (first connection)
 *   online  --connect--> online          (another connection; no change event)
 *   online  --disconnect--> online       (others remain)
 *   online  --disconnect--> offline      (the last one ended: DISCONNECT, keep-alive
 *                                          timeout, network loss (the will goes out),
 *                                          takeover, kicked, server shutdown)
 *
 * The transition function is pure; PresenceTracker feeds it from the broker's
 * connection observer and emits 'change' for every status change.
 */

export type PresenceStatus = 'online' | 'offline';

export interface DevicePresence {
  status: PresenceStatus;
  /** Open connections per session key. */
  connections: ReadonlyMap<string, number>;
  /** When the current status began. */
  since: number;
  /** Last connect or disconnect. */
  lastSeen: number;
}

export type PresenceEvent =
  | { type: 'connect'; sessionKey: string; at: number }
  | { type: 'disconnect'; sessionKey: string; at: number; cause: DisconnectCause };

export function nextPresence(
  state: DevicePresence | undefined,
  event: PresenceEvent,
): { next: DevicePresence; changed: boolean } {
  const connections = new Map(state?.connections);
  const open = connections.get(event.sessionKey) ?? 0;
  if (event.type === 'connect') connections.set(event.sessionKey, open + 1);
  else if (open <= 1) connections.delete(event.sessionKey);
  else connections.set(event.sessionKey, open - 1);
  const status: PresenceStatus = connections.size > 0 ? 'online' : 'offline';
  const changed = status !== (state?.status ?? 'offline');
  return {
    next: { status, connections, since: changed || !state ? event.at : state.since, lastSeen: event.at },
    changed,
  };
}

export interface PresenceChange {
  deviceId: string;
  tenantId: string;
  status: PresenceStatus;
  at: number;
  /** 'connect' for online; for offline, why the last connection ended. */
  cause: 'connect' | DisconnectCause;
}

interface PresenceEvents {
  change: [change: PresenceChange];
}

export class PresenceTracker extends EventEmitter<PresenceEvents> implements ConnectionObserver {
  private readonly devices = new Map<string, DevicePresence>();
  private readonly onlinePerTenant = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  clientConnected(client: ClientView): void {
    this.apply(client, { type: 'connect', sessionKey: client.clientId, at: this.now() }, 'connect');
  }

  clientDisconnected(client: ClientView, cause: DisconnectCause): void {
    this.apply(client, { type: 'disconnect', sessionKey: client.clientId, at: this.now(), cause }, cause);
  }

  isOnline(deviceId: string): boolean {
    return this.devices.get(deviceId)?.status === 'online';
  }

  get(deviceId: string): DevicePresence | undefined {
    return this.devices.get(deviceId);
  }

  /** Devices online, of one tenant when given. */
  onlineCount(tenantId?: string): number {
    if (tenantId !== undefined) return this.onlinePerTenant.get(tenantId) ?? 0;
    let count = 0;
    for (const presence of this.devices.values()) if (presence.status === 'online') count++;
    return count;
  }

  private apply(client: ClientView, event: PresenceEvent, cause: PresenceChange['cause']): void {
    const identity = client.identity;
    if (!(identity instanceof DeviceIdentity)) return;
    const { next, changed } = nextPresence(this.devices.get(identity.deviceId), event);
    // Offline devices are remembered by the registry (last seen), not here: memory follows live devices.
    if (next.status === 'offline') this.devices.delete(identity.deviceId);
    else this.devices.set(identity.deviceId, next);
    if (changed) {
      const tenantOnline =
        (this.onlinePerTenant.get(identity.tenantId) ?? 0) + (next.status === 'online' ? 1 : -1);
      if (tenantOnline > 0) this.onlinePerTenant.set(identity.tenantId, tenantOnline);
      else this.onlinePerTenant.delete(identity.tenantId);
      this.emit('change', {
        deviceId: identity.deviceId,
        tenantId: identity.tenantId,
        status: next.status,
        at: event.at,
        cause,
      });
    }
  }
}
