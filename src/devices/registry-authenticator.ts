import type { AuthResult, Authenticator, ConnectAttempt } from '../broker/auth.js';
import type { Logger } from '../core/logger.js';
import type { SecurityConfig } from '../core/config.js';
import type { Device, DeviceProfile, User } from '../registry/model.js';
import type { DeviceProof, LoginFailure, RegistryService, UserLogin } from '../registry/service.js';
import { TopicAcl, type AclRule } from './acl.js';
import type { ConfigUsersAuthenticator } from './config-users.js';
import { ConnectionLedger } from './connection-ledger.js';
import { DeviceIdentity, UserIdentity } from './identities.js';
import { deviceSessionScope, PLATFORM_TOPIC_ROOT, TENANT_TOPIC_ROOT } from './namespaces.js';
import { KeyedRateLimiter } from './rate-limit.js';

/**
 * Who may connect, for every MQTT listener: devices and people of the registry,
 * plus the operator's config-file users and, where a listener allows it,
 * anonymous clients.
 *
 * A CONNECT is matched in this order:
 * 1. a client certificate (mutual TLS) → the device it identifies; no password needed;
 * 2. a config-file user's name → that user (platform level, no mount point);
 * 3. a username without a password → a device access token (as ThingsBoard clients send it);
 * 4. a username and a password → a device's password credential, else a registry person,
 *    whose password may be one of their session tokens, API tokens or MQTT tickets
 *    (one registry call, so the checks count as one guess toward lockout);
 * 5. nothing → anonymous, if the listener allows it.
 *
 * Before any of that, the connect rate of the source address is checked, which
 * costs no hashing. Lockout, and its audit, live in the registry, shared with the
 * REST API and the line protocol.
 */

/** Rights of a device whose profile and device ACLs are both empty: its whole tenant. */
const DEFAULT_DEVICE_ACL: readonly AclRule[] = [{ action: 'all', topic: '#' }];

/** Nobody but the platform publishes platform topics (device status…), whatever an ACL grants. */
const PLATFORM_TOPICS_READ_ONLY: readonly AclRule[] = [
  { action: 'publish', topic: `${PLATFORM_TOPIC_ROOT}#`, permission: 'deny' },
];

/** Operators and admins of a tenant: everything in it but the platform's own topics. */
const PERSON_ACL: readonly AclRule[] = [{ action: 'all', topic: '#' }, ...PLATFORM_TOPICS_READ_ONLY];

/** Viewers read their tenant and publish nothing, as in the REST API. */
const VIEWER_ACL: readonly AclRule[] = [{ action: 'subscribe', topic: '#' }];

/** A platform admin reaches every tenant, explicitly under `$t/`, and reads $SYS. */
const PLATFORM_ADMIN_ACL: readonly AclRule[] = [
  { action: 'all', topic: '#' },
  { action: 'all', topic: `${TENANT_TOPIC_ROOT}#` },
  { action: 'subscribe', topic: '$SYS/#' },
  { action: 'publish', topic: `${TENANT_TOPIC_ROOT}+/${PLATFORM_TOPIC_ROOT}#`, permission: 'deny' },
];

export interface RegistryAuthenticatorDeps {
  registry: RegistryService;
  /** Config-file users: platform-level accounts of the operator (and the anonymous identity). */
  configUsers: ConfigUsersAuthenticator;
  security: SecurityConfig;
  ledger: ConnectionLedger;
  logger: Logger;
  now?: () => number;
}

const LOGIN_FAILURE: Record<LoginFailure, AuthResult> = {
  'bad-credentials': { ok: false, reason: 'bad-credentials' },
  'locked-out': { ok: false, reason: 'banned', message: 'too many failed logins; try again later' },
  deactivated: { ok: false, reason: 'not-authorized', message: 'device is deactivated' },
  // The password was right, but a CONNECT has no room for the code of the person's second factor.
  'totp-required': {
    ok: false,
    reason: 'not-authorized',
    message: 'this account signs in with a second factor: use a session or API token as the MQTT password',
  },
};

export class RegistryAuthenticator implements Authenticator {
  private readonly connectRate: KeyedRateLimiter;
  private readonly now: () => number;
  /** Addresses already audited as rate-limited in this window: one entry per burst, not one per attempt. */
  private readonly rateAudited = new Map<string, number>();

  constructor(private readonly deps: RegistryAuthenticatorDeps) {
    const { perAddressPerSecond, burst } = deps.security.connectRate;
    this.connectRate = new KeyedRateLimiter({ ratePerSecond: perAddressPerSecond, burst });
    this.now = deps.now ?? Date.now;
  }

  async authenticate(attempt: ConnectAttempt): Promise<AuthResult> {
    const limited = this.rateLimited(attempt);
    if (limited) return limited;
    const ctx = { address: attempt.remoteAddress, via: attempt.listener };
    const cert = attempt.peerCertificate;
    if (cert?.raw !== undefined) {
      const proof: DeviceProof = { kind: 'certificate', certDer: cert.raw, verified: cert.verified === true };
      return this.deviceResult(await this.deps.registry.loginDevice(proof, ctx), attempt);
    }
    const { username, password } = attempt;
    if (username === undefined || this.deps.configUsers.has(username)) {
      return this.deps.configUsers.authenticate(attempt);
    }
    if (password === undefined || password.length === 0) {
      return this.deviceResult(
        await this.deps.registry.loginDevice({ kind: 'token', token: username }, ctx),
        attempt,
      );
    }
    const login = await this.deps.registry.loginPassword(username, password, ctx);
    if (!login.ok) return LOGIN_FAILURE[login.reason];
    if (login.as === 'device') return this.deviceResult(login, attempt);
    return { ok: true, identity: this.userIdentity(login, attempt.clientId) };
  }

  /**
   * A device proof presented outside an MQTT CONNECT (the line protocol's HMAC challenge or token):
   * the same connect rate, lockout, connection caps, ACL and quota as a CONNECT.
   */
  async authenticateDevice(proof: DeviceProof, attempt: ConnectAttempt): Promise<AuthResult> {
    const limited = this.rateLimited(attempt);
    if (limited) return limited;
    const ctx = { address: attempt.remoteAddress, via: attempt.listener };
    return this.deviceResult(await this.deps.registry.loginDevice(proof, ctx), attempt);
  }

  /** Checks the source address's connect rate, which costs no hashing. */
  private rateLimited(attempt: ConnectAttempt): AuthResult | undefined {
    const now = this.now();
    if (this.connectRate.allow(attempt.remoteAddress, now)) return undefined;
    this.auditRateLimited(attempt, now);
    return {
      ok: false,
      reason: 'connection-rate-exceeded',
      message: 'too many connections from this address',
    };
  }

  private async deviceResult(
    login: Awaited<ReturnType<RegistryService['loginDevice']>>,
    attempt: ConnectAttempt,
  ): Promise<AuthResult> {
    if (!login.ok) return LOGIN_FAILURE[login.reason];
    const { device, profile, credential } = login;
    const limits = this.deps.security.device;
    const tenant = await this.deps.registry.tenantById(device.tenantId);
    const ledger = this.deps.ledger;
    const takesOver = ledger.holdsSession(device.id, deviceSessionScope(device.id) + attempt.clientId);
    if (!takesOver) {
      const tenantCap = tenant?.maxConnections || this.deps.security.maxConnectionsPerTenant;
      if (tenantCap > 0 && ledger.tenantConnections(device.tenantId) >= tenantCap) {
        return this.capReached(device, attempt, 'tenant', tenantCap);
      }
      const deviceCap = profile?.limits.maxConnections || limits.maxConnections;
      if (deviceCap > 0 && ledger.deviceConnections(device.id) >= deviceCap) {
        return this.capReached(device, attempt, 'device', deviceCap);
      }
    }
    const publishLimits = {
      messagesPerSecond: profile?.limits.publishMessagesPerSecond || limits.publishMessagesPerSecond,
      bytesPerSecond: profile?.limits.publishBytesPerSecond || limits.publishBytesPerSecond,
    };
    const quota = ledger.quotaFor(device.id, publishLimits, (reason) =>
      this.audit({
        tenantId: device.tenantId,
        actorType: 'device',
        actor: device.id,
        action: 'publish.quota-exceeded',
        target: `device:${device.id}`,
        address: attempt.remoteAddress,
        outcome: 'failure',
        details: { reasonCode: reason, ...publishLimits },
      }),
    );
    // Layers, not one concatenated list: the constant layers' tries are compiled once and shared.
    const acl = TopicAcl.compileLayers([...deviceRuleLayers(device, profile), PLATFORM_TOPICS_READ_ONLY], {
      clientId: attempt.clientId,
      username: attempt.username,
      deviceId: device.id,
    });
    return {
      ok: true,
      identity: new DeviceIdentity(device.id, device.tenantId, device.profileId, credential.id, acl, quota),
    };
  }

  private capReached(
    device: Device,
    attempt: ConnectAttempt,
    scope: 'tenant' | 'device',
    cap: number,
  ): AuthResult {
    this.audit({
      tenantId: device.tenantId,
      actorType: 'device',
      actor: device.id,
      action: 'connect.limit-reached',
      target: scope === 'tenant' ? `tenant:${device.tenantId}` : `device:${device.id}`,
      address: attempt.remoteAddress,
      outcome: 'failure',
      details: { scope, maxConnections: cap, via: attempt.listener },
    });
    return {
      ok: false,
      reason: 'quota-exceeded',
      message: `maximum connections per ${scope} (${cap}) reached`,
    };
  }

  private userIdentity({ user, token }: Extract<UserLogin, { ok: true }>, clientId: string): UserIdentity {
    const acl = TopicAcl.compile(personRules(user), { clientId, username: user.username });
    return new UserIdentity(user.id, user.username, user.tenantId, user.role, acl, token);
  }

  private auditRateLimited(attempt: ConnectAttempt, now: number): void {
    const last = this.rateAudited.get(attempt.remoteAddress);
    if (last !== undefined && now - last < 60_000) return;
    if (this.rateAudited.size >= 10_000) this.rateAudited.clear(); // bounded under an address spray
    this.rateAudited.set(attempt.remoteAddress, now);
    this.audit({
      tenantId: null,
      actorType: 'system',
      actor: attempt.username ?? '',
      action: 'connect.rate-limited',
      target: null,
      address: attempt.remoteAddress,
      outcome: 'failure',
      details: {
        via: attempt.listener,
        perAddressPerSecond: this.deps.security.connectRate.perAddressPerSecond,
      },
    });
  }

  /** Fire and forget: a refused connection or message must not wait for the audit write. */
  private audit(entry: Parameters<RegistryService['audit']>[0]): void {
    this.deps.registry
      .audit(entry)
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not write an audit entry'));
  }
}

/** A person's rights follow their role (docs/security.md, "Roles"). */
function personRules(user: User): readonly AclRule[] {
  if (user.role === 'viewer') return VIEWER_ACL;
  return user.tenantId === null && user.role === 'admin' ? PLATFORM_ADMIN_ACL : PERSON_ACL;
}

/** Profile and device rules together (deny beats allow across both); none at all = the whole tenant. */
function deviceRuleLayers(
  device: Device,
  profile: DeviceProfile | undefined,
): readonly (readonly AclRule[])[] {
  const profileRules = profile?.acl ?? [];
  return profileRules.length + device.acl.length > 0 ? [profileRules, device.acl] : [DEFAULT_DEVICE_ACL];
}
