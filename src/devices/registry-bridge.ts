import type { Identity } from '../broker/auth.js';
import type { Broker } from '../broker/broker.js';
import type { Logger } from '../core/logger.js';
import type { RegistryService } from '../registry/service.js';
import { DeviceIdentity, UserIdentity } from './identities.js';
import { deviceStatusTopic, TENANT_TOPIC_ROOT, tenantMountPoint } from './namespaces.js';
import type { PresenceChange, PresenceTracker } from './presence.js';

/**
 * What the registry's changes mean for live connections, and what presence
 * changes mean for the registry and the tenant's topics:
 *
 * - a revoked credential, a deactivated or deleted device, a deactivated or
 *   deleted person: their connections are closed at once (MQTT 5 DISCONNECT 0x98);
 * - a person who connected with a session or API token (not a password): the
 *   connection is closed when that token ends — sign-out, revocation — and, checked
 *   on the last-seen timer, when it expires;
 * - an ACL change: the affected devices are disconnected, so that they come back
 *   with the new rules (identities are immutable by design);
 * - online/offline: a retained JSON status on `halyard/devices/<id>/status` in the
 *   tenant's namespace, and last-seen times written to the registry in batches.
 */

export interface RegistryBridgeDeps {
  registry: RegistryService;
  broker: Broker;
  presence: PresenceTracker;
  logger: Logger;
  /** How often last-seen times are written, and expired sessions' connections closed (ms). */
  lastSeenFlushMs?: number;
  now?: () => number;
}

export interface RegistryBridge {
  /** Writes pending last-seen times and stops listening. */
  close(): Promise<void>;
}

const isDevice = (deviceId: string) => (identity: Identity) =>
  identity instanceof DeviceIdentity && identity.deviceId === deviceId;

const isUser = (userId: string) => (identity: Identity) =>
  identity instanceof UserIdentity && identity.userId === userId;

export function bridgeRegistryToBroker(deps: RegistryBridgeDeps): RegistryBridge {
  const { registry, broker, presence, logger } = deps;
  const kick = (matches: (identity: Identity) => boolean, why: string, target: string) => {
    const closed = broker.disconnectWhere(matches, undefined, why);
    if (closed > 0) logger.info({ target, closed }, `closed connections: ${why}`);
  };

  registry.on('credential.revoked', (credential) =>
    kick(
      (identity) => identity instanceof DeviceIdentity && identity.credentialId === credential.id,
      'credential revoked',
      `credential:${credential.id}`,
    ),
  );
  registry.on('device.deactivated', (device) => kick(isDevice(device.id), 'device deactivated', device.id));
  registry.on('device.deleted', (device) => kick(isDevice(device.id), 'device deleted', device.id));
  registry.on('acl.changed', (scope) =>
    kick(
      (identity) =>
        identity instanceof DeviceIdentity &&
        (identity.deviceId === scope.deviceId ||
          (scope.profileId !== undefined && identity.profileId === scope.profileId)),
      'access rules changed; reconnect to apply them',
      scope.deviceId ?? `profile:${scope.profileId}`,
    ),
  );
  registry.on('user.changed', (user) => {
    // A role change alters rights, so the person reconnects with the new ones, like a device after an ACL edit.
    kick(isUser(user.id), user.active ? 'role or account changed' : 'account deactivated', user.username);
  });
  registry.on('user.deleted', (user) => kick(isUser(user.id), 'account deleted', user.username));
  registry.on('token.ended', (token) =>
    kick(
      (identity) => identity instanceof UserIdentity && identity.signedInWith?.tokenHash === token.tokenHash,
      'signed out, or the token was revoked',
      `user-id:${token.userId}`,
    ),
  );
  const closeExpired = () => {
    const now = (deps.now ?? Date.now)();
    kick(
      (identity) => {
        const expiresAt = identity instanceof UserIdentity ? identity.signedInWith?.expiresAt : undefined;
        return expiresAt !== undefined && expiresAt !== null && expiresAt <= now;
      },
      'the session expired',
      'expired sessions',
    );
  };

  const pendingLastSeen = new Map<string, number>();
  const onPresence = (change: PresenceChange) => {
    pendingLastSeen.set(change.deviceId, change.at);
    publishStatus(broker, tenantMountPoint(change.tenantId) + deviceStatusTopic(change.deviceId), {
      deviceId: change.deviceId,
      status: change.status,
      at: change.at,
      cause: change.cause,
    });
  };
  presence.on('change', onPresence);

  const flush = async () => {
    if (pendingLastSeen.size === 0) return;
    const entries = [...pendingLastSeen].map(([deviceId, at]) => ({ deviceId, at }));
    pendingLastSeen.clear();
    try {
      await registry.recordLastSeen(entries);
    } catch (err) {
      logger.warn({ err, devices: entries.length }, 'could not record last-seen times');
    }
  };
  let flushing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    closeExpired();
    flushing = flushing.then(flush);
  }, deps.lastSeenFlushMs ?? 5000);
  timer.unref();

  return {
    close: async () => {
      clearInterval(timer);
      presence.off('change', onPresence);
      await flushing;
      await flush();
    },
  };
}

interface DeviceStatus {
  deviceId: string;
  status: 'online' | 'offline';
  at: number;
  cause?: string;
}

function publishStatus(broker: Broker, topic: string, status: DeviceStatus): void {
  broker.publish({ topic, payload: Buffer.from(JSON.stringify(status)), qos: 1, retain: true, origin: '' });
}

/**
 * After a crash the retained statuses still say "online" for devices whose
 * connections died with the process. Run once the broker has loaded its state
 * and before any listener accepts a connection: every such status becomes
 * offline with the cause `server-restart`. Returns how many were changed.
 */
export function markStaleStatusesOffline(broker: Broker, now = Date.now()): number {
  let changed = 0;
  for (const message of broker.retainedMatching(`${TENANT_TOPIC_ROOT}+/${deviceStatusTopic('+')}`)) {
    let status: Partial<DeviceStatus>;
    try {
      status = JSON.parse(message.payload.toString('utf8')) as Partial<DeviceStatus>;
    } catch {
      continue; // not ours to judge: only the platform publishes here, but a foreign payload is left alone
    }
    if (status.status !== 'online' || typeof status.deviceId !== 'string') continue;
    publishStatus(broker, message.topic, {
      deviceId: status.deviceId,
      status: 'offline',
      at: now,
      cause: 'server-restart',
    });
    changed++;
  }
  return changed;
}
