/**
 * Logins of devices and people: proof checks, lockout per identity and per
 * source address, and their audit entries. Used by the Registry; kept apart
 * because it is the attack surface and deserves to be read on its own.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HalyardError, isHalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { verifyPassword } from '../devices/password.js';
import { TENANT_CA_CERT_LABEL, hmacSealContext } from './credentials.js';
import { isValidAt, issuedBy, parseCertificate, type ParsedCertificate } from './certificates.js';
import { randomId } from './ids.js';
import { LoginThrottle, type LockoutPolicy } from './lockout.js';
import type { AuditEntry, Credential, CredentialKind, Device, TenantCa, User } from './model.js';
import { computeHmac, hashToken, openSecret } from './secrets.js';
import type { DeviceLogin, DeviceProof, LoginContext, LoginFailure, UserLogin } from './service.js';
import type { RegistryStore } from './store.js';

export type AuditWriter = (entry: Omit<AuditEntry, 'id' | 'at'>) => Promise<void>;

interface LoginGateOptions {
  store: RegistryStore;
  logger: Logger;
  secretKey: Buffer;
  lockout: LockoutPolicy;
  now: () => number;
  audit: AuditWriter;
}

/** Who a proof claims to be, before anything is checked: the lockout key and the name for the audit log. */
interface Claim {
  key: string;
  name: string;
  kind: CredentialKind;
}

type Checked =
  | { ok: true; device: Device; credential: Credential }
  | { ok: false; reason: Exclude<LoginFailure, 'locked-out'>; detail: string; device?: Device };

/** A person check follows its device check within the same CONNECT: milliseconds, not seconds. */
const TICKET_MS = 10_000;
interface Ticket {
  expiry: number;
  /** The device identity the failure was counted on, and when: forgiven if the person check succeeds. */
  deviceKey: string;
  failedAt: number;
}
const MAX_TICKETS = 10_000;

const bad = (detail: string, device?: Device): Checked => ({
  ok: false,
  reason: 'bad-credentials',
  detail,
  device,
});

export class LoginGate {
  /** Identities of devices (`device:`, `mqtt-user:`, `token:`) and people (`user:`) share one table. */
  private readonly identities: LoginThrottle;
  private readonly addresses: LoginThrottle;
  /** Tenant CAs parsed once, by fingerprint (a CA's PEM never changes under the same fingerprint). */
  private readonly parsedCas = new Map<string, ParsedCertificate | undefined>();
  /**
   * One MQTT CONNECT with a username and password may be tried as a device
   * credential and then, failing that, as a person (RegistryAuthenticator). Both
   * checks are one guess: the failed device check leaves a ticket (address, name,
   * password digest → expiry) that the person check consumes instead of being
   * lock-checked and counted a second time. Tickets arise only from a failure that
   * was itself checked and counted, so they cannot widen what lockout lets through.
   */
  private readonly followUps = new Map<string, Ticket>();

  constructor(private readonly o: LoginGateOptions) {
    this.identities = new LoginThrottle(o.lockout);
    this.addresses = new LoginThrottle(o.lockout);
  }

  loginDevice(proof: DeviceProof, ctx: LoginContext): Promise<DeviceLogin> {
    return this.checkDevice(proof, ctx, true);
  }

  /**
   * A device token on every HTTP request: the same checks and lockout as a login,
   * but a success is not audited (one entry per request would flood the log).
   */
  authenticateDeviceToken(token: string, ctx: LoginContext): Promise<DeviceLogin> {
    return this.checkDevice({ kind: 'token', token }, ctx, false);
  }

  private async checkDevice(
    proof: DeviceProof,
    ctx: LoginContext,
    auditSuccess: boolean,
  ): Promise<DeviceLogin> {
    const cert = proof.kind === 'certificate' ? parseCertificate(proof.certDer) : undefined;
    const claim = claimOf(proof, cert);
    const base = { actorType: 'device' as const, address: ctx.address };
    const retryAfterMs = this.lockedFor(claim.key, ctx.address);
    if (retryAfterMs > 0) {
      await this.o.audit({
        ...base,
        tenantId: null,
        actor: claim.name,
        action: 'login.failure',
        target: null,
        outcome: 'failure',
        details: { via: ctx.via, kind: claim.kind, reason: 'locked-out', retryAfterMs },
      });
      return { ok: false, reason: 'locked-out', retryAfterMs };
    }

    const checked = await this.checkDeviceProof(proof, cert);
    if (!checked.ok) {
      const device = checked.device;
      await this.o.audit({
        ...base,
        tenantId: device?.tenantId ?? null,
        actor: device?.id ?? claim.name,
        action: 'login.failure',
        target: device ? `device:${device.id}` : null,
        outcome: 'failure',
        details: { via: ctx.via, kind: claim.kind, reason: checked.reason, detail: checked.detail },
      });
      // A deactivated device proved who it is: that is not a guess worth counting.
      if (checked.reason === 'bad-credentials') {
        await this.countFailure(claim, ctx, device?.tenantId ?? null);
        if (proof.kind === 'password')
          this.leaveTicket(ctx.address, claim.key, proof.username, proof.password);
      }
      return { ok: false, reason: checked.reason };
    }

    const { device, credential } = checked;
    this.succeeded(claim.key, ctx.address);
    if (auditSuccess)
      await this.o.audit({
        ...base,
        tenantId: device.tenantId,
        actor: device.id,
        action: 'login.success',
        target: `device:${device.id}`,
        outcome: 'success',
        details: { via: ctx.via, kind: credential.kind, credentialId: credential.id },
      });
    const profile = device.profileId === null ? undefined : await this.o.store.getProfile(device.profileId);
    return { ok: true, device, profile, credential };
  }

  async loginUser(username: string, password: string, ctx: LoginContext): Promise<UserLogin> {
    const key = `user:${username}`;
    const followUp = this.takeTicket(ctx.address, username, Buffer.from(password, 'utf8'));
    const retryAfterMs = followUp ? 0 : this.lockedFor(key, ctx.address);
    const base = { actorType: 'user' as const, actor: username, address: ctx.address };
    if (retryAfterMs > 0) {
      await this.o.audit({
        ...base,
        tenantId: null,
        action: 'login.failure',
        target: null,
        outcome: 'failure',
        details: { via: ctx.via, reason: 'locked-out', retryAfterMs },
      });
      return { ok: false, reason: 'locked-out', retryAfterMs };
    }
    const user = await this.o.store.getUserByUsername(username);
    // verifyPassword does the full scrypt work for an unknown user too: timing does not reveal usernames.
    const ok = await verifyPassword(password, user?.passwordHash);
    const failure = !ok ? 'bad-password' : user && !user.active ? 'inactive' : undefined;
    if (failure !== undefined || !user) {
      await this.o.audit({
        ...base,
        tenantId: user?.tenantId ?? null,
        action: 'login.failure',
        target: user ? `user:${user.username}` : null,
        outcome: 'failure',
        details: { via: ctx.via, reason: failure ?? 'bad-password' },
      });
      if (failure === 'bad-password' && !followUp) {
        await this.countFailure({ key, name: username, kind: 'password' }, ctx, user?.tenantId ?? null);
      }
      // An inactive account answers like a wrong password: nothing to learn from the difference.
      return { ok: false, reason: 'bad-credentials' };
    }
    this.succeeded(key, ctx.address);
    // The name was a person's, not a device's: the device check's failure was no guess.
    if (followUp) this.identities.forgive(followUp.deviceKey, followUp.failedAt);
    await this.o.audit({
      ...base,
      tenantId: user.tenantId,
      action: 'login.success',
      target: `user:${user.username}`,
      outcome: 'success',
      details: { via: ctx.via },
    });
    return { ok: true, user };
  }

  /**
   * A person re-entering their password (to change it): the same lockout as a
   * login, so a stolen session cannot be used to guess the password.
   */
  async confirmPassword(user: User, password: string, address: string): Promise<void> {
    const key = `user:${user.username}`;
    const retryAfterMs = this.lockedFor(key, address);
    if (retryAfterMs > 0) {
      throw new HalyardError('LOCKED_OUT', 'too many failed attempts; try again later', { retryAfterMs });
    }
    if (!(await verifyPassword(password, user.passwordHash))) {
      await this.countFailure(
        { key, name: user.username, kind: 'password' },
        { address, via: 'api' },
        user.tenantId,
      );
      throw new HalyardError('BAD_CREDENTIALS', 'the current password is wrong', {
        field: 'currentPassword',
      });
    }
    this.succeeded(key, address);
  }

  /** Lifts the lock of a person (an administrator just reset their password). */
  clearUser(username: string): void {
    this.identities.clear(`user:${username}`);
  }

  private ticketKey(address: string, username: string, password: Buffer): string {
    return `${address}\u0000${username}\u0000${createHash('sha256').update(password).digest('base64')}`;
  }

  private leaveTicket(address: string, deviceKey: string, username: string, password: Buffer): void {
    const now = this.o.now();
    if (this.followUps.size >= MAX_TICKETS) {
      for (const [key, ticket] of this.followUps) if (ticket.expiry <= now) this.followUps.delete(key);
      if (this.followUps.size >= MAX_TICKETS) this.followUps.clear();
    }
    this.followUps.set(this.ticketKey(address, username, password), {
      expiry: now + TICKET_MS,
      deviceKey,
      failedAt: now,
    });
  }

  private takeTicket(address: string, username: string, password: Buffer): Ticket | undefined {
    const key = this.ticketKey(address, username, password);
    const ticket = this.followUps.get(key);
    if (ticket === undefined) return undefined;
    this.followUps.delete(key);
    return ticket.expiry > this.o.now() ? ticket : undefined;
  }

  private lockedFor(key: string, address: string): number {
    const now = this.o.now();
    return Math.max(this.identities.check(key, now), this.addresses.check(address, now));
  }

  private succeeded(key: string, address: string): void {
    this.identities.recordSuccess(key);
    this.addresses.recordSuccess(address);
  }

  private async countFailure(claim: Claim, ctx: LoginContext, tenantId: string | null): Promise<void> {
    const now = this.o.now();
    const scopes: Array<['identity' | 'address', boolean]> = [
      ['identity', this.identities.recordFailure(claim.key, now)],
      ['address', this.addresses.recordFailure(ctx.address, now)],
    ];
    for (const [scope, locked] of scopes) {
      if (!locked) continue;
      this.o.logger.warn({ scope, identity: claim.name, address: ctx.address }, 'login locked out');
      await this.o.audit({
        tenantId: scope === 'identity' ? tenantId : null,
        actorType: claim.key.startsWith('user:') ? 'user' : 'device',
        actor: claim.name,
        action: 'login.locked',
        target: null,
        address: ctx.address,
        outcome: 'failure',
        details: { via: ctx.via, scope, lockMs: this.o.lockout.lockMs },
      });
    }
  }

  private async checkDeviceProof(proof: DeviceProof, cert: ParsedCertificate | undefined): Promise<Checked> {
    switch (proof.kind) {
      case 'token': {
        const [credential] = await this.o.store.findCredentials('token', hashToken(proof.token));
        return credential ? this.deviceOf(credential) : bad('unknown token');
      }
      case 'password': {
        const candidates = await this.o.store.findCredentials('password', proof.username);
        if (candidates.length === 0) {
          await verifyPassword(proof.password, undefined); // the same work as a real check
          return bad('unknown username');
        }
        // Two candidates only while a password is being rotated; each gets the full check.
        for (const credential of candidates) {
          if (await verifyPassword(proof.password, credential.secret ?? undefined))
            return this.deviceOf(credential);
        }
        return bad('wrong password', await this.o.store.getDevice(candidates[0].deviceId));
      }
      case 'hmac': {
        const candidates = await this.o.store.findCredentials('hmac', proof.deviceId);
        for (const credential of candidates) {
          const secret =
            credential.secret &&
            openSecret(this.o.secretKey, credential.secret, hmacSealContext(credential.id));
          if (!secret) {
            this.o.logger.error(
              { credentialId: credential.id },
              'hmac secret does not open with the server key',
            );
            continue;
          }
          const expected = computeHmac(secret, proof.nonce);
          if (proof.proof.length === expected.length && timingSafeEqual(proof.proof, expected)) {
            return this.deviceOf(credential);
          }
        }
        return bad(
          candidates.length === 0 ? 'no hmac secret' : 'wrong proof',
          await this.o.store.getDevice(proof.deviceId),
        );
      }
      case 'certificate':
        return this.checkCertificate(cert, proof.verified);
    }
  }

  /**
   * A client certificate is accepted when
   * 1. its fingerprint is registered (issued by the platform CA, or uploaded): TLS
   *    proved possession of the key, so a registered fingerprint is enough even if
   *    the certificate does not chain to our CA; or
   * 2. a tenant CA signed it and its CN (or a SAN) names a device of that tenant.
   *    Such certificates need no registration; the first login registers them, so
   *    they can be listed and revoked, and a revoked fingerprint stays refused.
   */
  private async checkCertificate(cert: ParsedCertificate | undefined, verified: boolean): Promise<Checked> {
    if (!cert) return bad('unreadable certificate');
    const now = this.o.now();
    if (!isValidAt(cert, now)) return bad('certificate expired or not yet valid');
    const [registered] = await this.o.store.findCredentials('certificate', cert.fingerprint256);
    if (registered) {
      // Registered on first use, so trusted only while its tenant still trusts the CA.
      const viaTenantCa = registered.label.startsWith(TENANT_CA_CERT_LABEL);
      if (viaTenantCa && (await this.signingCas(cert, now, registered.tenantId)).length === 0) {
        return bad('tenant CA no longer trusted');
      }
      return this.deviceOf(registered);
    }
    if (verified) return bad('certificate not registered'); // platform-CA certificates are always registered

    for (const ca of await this.signingCas(cert, now)) {
      for (const name of new Set([...cert.commonNames, ...cert.altNames])) {
        const device = await this.o.store.getDevice(name);
        if (!device || device.tenantId !== ca.tenantId) continue;
        const known = (await this.o.store.listCredentials(device.id)).find(
          (c) => c.kind === 'certificate' && c.lookup === cert.fingerprint256,
        );
        if (known)
          return known.revokedAt === null ? this.deviceOf(known) : bad('certificate revoked', device);
        const credential = await this.registerTenantCertificate(device, cert, ca.id);
        return credential ? this.deviceOf(credential) : bad('certificate registration failed', device);
      }
    }
    return bad('certificate not registered and not signed by a tenant CA');
  }

  /** The tenant CAs (of one tenant, or all) that signed `cert`. */
  private async signingCas(cert: ParsedCertificate, now: number, tenantId?: string): Promise<TenantCa[]> {
    const cas = await this.o.store.listTenantCas(tenantId);
    return cas.filter((ca) => {
      const parsed = this.parsedCa(ca.fingerprint256, ca.certPem);
      return parsed !== undefined && issuedBy(cert, parsed, now);
    });
  }

  private async registerTenantCertificate(
    device: Device,
    cert: ParsedCertificate,
    caId: string,
  ): Promise<Credential | undefined> {
    const credential: Credential = {
      id: randomId('c-'),
      deviceId: device.id,
      tenantId: device.tenantId,
      kind: 'certificate',
      lookup: cert.fingerprint256,
      secret: null,
      label: `${TENANT_CA_CERT_LABEL}${cert.subject}`,
      createdAt: this.o.now(),
      expiresAt: cert.notAfter,
      revokedAt: null,
    };
    try {
      await this.o.store.createCredential(credential);
    } catch (err) {
      // Two first logins at once: the other one registered it.
      if (!isHalyardError(err, 'CONFLICT')) throw err;
      return (await this.o.store.findCredentials('certificate', cert.fingerprint256))[0];
    }
    await this.o.audit({
      tenantId: device.tenantId,
      actorType: 'system',
      actor: 'system',
      action: 'credential.issue',
      target: `device:${device.id}`,
      address: null,
      outcome: 'success',
      details: {
        kind: 'certificate',
        credentialId: credential.id,
        via: 'tenant-ca',
        caId,
        fingerprint256: cert.fingerprint256,
      },
    });
    return credential;
  }

  private parsedCa(fingerprint: string, pem: string): ParsedCertificate | undefined {
    if (!this.parsedCas.has(fingerprint)) {
      if (this.parsedCas.size >= 10_000) this.parsedCas.clear();
      this.parsedCas.set(fingerprint, parseCertificate(pem));
    }
    return this.parsedCas.get(fingerprint);
  }

  private async deviceOf(credential: Credential): Promise<Checked> {
    if (credential.expiresAt !== null && credential.expiresAt < this.o.now())
      return bad('credential expired');
    const device = await this.o.store.getDevice(credential.deviceId);
    if (!device) return bad('device missing');
    if (!device.active) return { ok: false, reason: 'deactivated', detail: 'device deactivated', device };
    return { ok: true, device, credential };
  }
}

function claimOf(proof: DeviceProof, cert: ParsedCertificate | undefined): Claim {
  switch (proof.kind) {
    case 'token': {
      // Never the token itself: a prefix of its hash names it in the audit log.
      const id = hashToken(proof.token).slice(0, 16);
      return { key: `token:${id}`, name: `token:${id}`, kind: 'token' };
    }
    case 'password':
      return { key: `mqtt-user:${proof.username}`, name: proof.username, kind: 'password' };
    case 'hmac':
      return { key: `device:${proof.deviceId}`, name: proof.deviceId, kind: 'hmac' };
    case 'certificate': {
      const name = cert?.commonNames[0] ?? cert?.fingerprint256 ?? 'unreadable-certificate';
      return { key: `device:${name}`, name, kind: 'certificate' };
    }
  }
}
