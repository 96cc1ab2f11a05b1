/**
 * Logins of devices and people: lockout per identity and per source address,
 * and their audit entries. Used by the Registry; kept apart because it is the
 * attack surface and deserves to be read on its own. Whether a device's proof is
 * good is answered by device-proofs.ts; a person's code by second-factor.ts; a
 * person's token (an MQTT password may be one) by sessions.ts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { HalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { verifyPassword } from '../devices/password.js';
import { parseCertificate } from './certificates.js';
import { claimOf, DeviceProofs, type AuditWriter, type Checked, type Claim } from './device-proofs.js';
import { LoginThrottle, type LockoutPolicy } from './lockout.js';
import type { ActorType, User } from './model.js';
import type { TotpKeeper } from './second-factor.js';
import type { TokenHolder } from './sessions.js';
import type {
  DeviceLogin,
  DeviceProof,
  LoginContext,
  LoginRefused,
  PasswordLogin,
  UserLogin,
} from './service.js';
import type { RegistryStore } from './store.js';

interface LoginGateOptions {
  store: RegistryStore;
  logger: Logger;
  secretKey: Buffer;
  lockout: LockoutPolicy;
  now: () => number;
  audit: AuditWriter;
  totp: TotpKeeper;
  /** Sessions, API tokens and MQTT tickets, which a person may present as an MQTT password. */
  tokens: { mqttHolder(secret: string): Promise<TokenHolder | undefined> };
}

/** A person's check, before it is audited and counted. */
type PersonCheck =
  | { ok: true; user: User; held?: TokenHolder }
  | {
      ok: false;
      user?: User;
      reason: 'bad-password' | 'inactive' | 'totp-required' | 'bad-totp';
      detail?: string;
    };

const personKey = (username: string): string => `user:${username}`;

/** Equal names, compared in constant time (digests first, so the lengths do not leak either). */
function sameName(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

export class LoginGate {
  /** Identities of devices (`device:`, `mqtt-user:`, `token:`) and people (`user:`) share one table. */
  private readonly identities: LoginThrottle;
  private readonly addresses: LoginThrottle;
  private readonly proofs: DeviceProofs;

  constructor(private readonly o: LoginGateOptions) {
    this.identities = new LoginThrottle(o.lockout);
    this.addresses = new LoginThrottle(o.lockout);
    this.proofs = new DeviceProofs(o);
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
    const locked = await this.refuseLocked([claim.key], 'device', claim.name, ctx, { kind: claim.kind });
    if (locked) return locked;
    const checked = await this.proofs.check(proof, cert);
    if (checked.ok) return this.deviceLoggedIn(checked, claim, ctx, auditSuccess);
    await this.auditDeviceFailure(checked, claim, ctx);
    // A deactivated device proved who it is: that is not a guess worth counting.
    if (checked.reason === 'bad-credentials') {
      await this.countFailure([claim.key], claim.name, ctx, checked.device?.tenantId ?? null);
    }
    return { ok: false, reason: checked.reason };
  }

  /**
   * A person's password (REST API, dashboard) and, if they turned the second factor
   * on, its code: without one the answer is 'totp-required' (the password was right,
   * nothing is counted); a wrong or replayed code counts like a wrong password.
   */
  async loginUser(username: string, password: string, ctx: LoginContext, totp?: string): Promise<UserLogin> {
    const keys = [personKey(username)];
    const locked = await this.refuseLocked(keys, 'user', username, ctx, {});
    if (locked) return locked;
    return this.personOutcome(username, await this.checkPerson(username, password, totp), keys, ctx);
  }

  /**
   * An MQTT username and password: a device's password credential, else a person of
   * that name (the dashboard's MQTT console), whose password may also be one of their
   * session tokens, API tokens or MQTT tickets. The checks are one guess: the lock
   * of either name, or of the address, refuses it, and a failure is counted once, on
   * both names (so the guess costs the same whichever the attacker was after). A
   * success clears the name it proved; a device's also clears the person name when
   * no person has it, so a device's owner cannot wear down a real person's count.
   */
  async loginPassword(username: string, password: Buffer, ctx: LoginContext): Promise<PasswordLogin> {
    const proof: DeviceProof = { kind: 'password', username, password };
    const claim = claimOf(proof, undefined);
    const keys = [claim.key, personKey(username)];
    const locked = await this.refuseLocked(keys, 'device', username, ctx, { kind: claim.kind });
    if (locked) return locked;
    const device = await this.proofs.check(proof, undefined);
    if (device.ok) {
      // The failures counted on a person name nobody has were meant for this device.
      if (!(await this.o.store.getUserByUsername(username))) this.identities.recordSuccess(keys[1]);
      return { as: 'device', ...(await this.deviceLoggedIn(device, claim, ctx, true)) };
    }
    await this.auditDeviceFailure(device, claim, ctx);
    if (device.reason !== 'bad-credentials') return { ok: false, reason: device.reason };
    const person = await this.checkPersonSecret(username, password.toString('utf8'));
    const login = await this.personOutcome(username, person, keys, ctx, device.device?.tenantId);
    return login.ok ? { as: 'person', ...login } : login;
  }

  /**
   * A person re-entering their password (to change it): the same lockout as a
   * login, so a stolen session cannot be used to guess the password.
   */
  confirmPassword(user: User, password: string, address: string): Promise<void> {
    return this.reconfirm(user, address, () => verifyPassword(password, user.passwordHash), {
      field: 'currentPassword',
      message: 'the current password is wrong',
    });
  }

  /** A person proving their second factor again (to turn it off): lockout as above, and the code is spent. */
  confirmTotp(user: User, code: string, address: string): Promise<void> {
    return this.reconfirm(user, address, async () => (await this.o.totp.spend(user, code)).ok, {
      field: 'code',
      message: 'the code is wrong, or was used already',
    });
  }

  /** Lifts the lock of a person (an administrator just reset their password). */
  clearUser(username: string): void {
    this.identities.clear(personKey(username));
  }

  private async reconfirm(
    user: User,
    address: string,
    proven: () => Promise<boolean>,
    wrong: { field: string; message: string },
  ): Promise<void> {
    const keys = [personKey(user.username)];
    const retryAfterMs = this.lockedFor(keys, address);
    if (retryAfterMs > 0) {
      throw new HalyardError('LOCKED_OUT', 'too many failed attempts; try again later', { retryAfterMs });
    }
    if (!(await proven())) {
      await this.countFailure(keys, user.username, { address, via: 'api' }, user.tenantId);
      throw new HalyardError('BAD_CREDENTIALS', wrong.message, { field: wrong.field });
    }
    this.succeeded(keys, address);
  }

  /**
   * A person's MQTT password: a token of theirs (it was had with their second factor, if
   * they have one), else their password — no code can ride along in a CONNECT, so a person
   * with a second factor is refused there. A token of somebody else, or a dead one, fails
   * like a wrong password.
   */
  private async checkPersonSecret(username: string, secret: string): Promise<PersonCheck> {
    const held = await this.o.tokens.mqttHolder(secret);
    if (held && sameName(held.user.username, username)) return { ok: true, user: held.user, held };
    return this.checkPerson(username, secret, undefined);
  }

  private async checkPerson(
    username: string,
    password: string,
    totp: string | undefined,
  ): Promise<PersonCheck> {
    const user = await this.o.store.getUserByUsername(username);
    // verifyPassword does the full scrypt work for an unknown user too: timing does not reveal usernames.
    if (!(await verifyPassword(password, user?.passwordHash)) || !user) {
      return { ok: false, user, reason: 'bad-password' };
    }
    if (!user.active) return { ok: false, user, reason: 'inactive' };
    if (!user.totpEnabled) return { ok: true, user };
    if (totp === undefined || totp === '') return { ok: false, user, reason: 'totp-required' };
    const code = await this.o.totp.spend(user, totp);
    return code.ok ? { ok: true, user } : { ok: false, user, reason: 'bad-totp', detail: code.reason };
  }

  /** Audits a person's check; counts a wrong password or code once on each of `keys` (and the address). */
  private async personOutcome(
    username: string,
    checked: PersonCheck,
    keys: readonly string[],
    ctx: LoginContext,
    otherTenantId: string | null = null,
  ): Promise<UserLogin> {
    const user = checked.user;
    const base = { actorType: 'user' as const, actor: username, address: ctx.address };
    const target = user ? `user:${user.username}` : null;
    if (!checked.ok) {
      const { reason, detail } = checked;
      await this.o.audit({
        ...base,
        tenantId: user?.tenantId ?? null,
        action: 'login.failure',
        target,
        outcome: 'failure',
        details: { via: ctx.via, reason, ...(detail !== undefined ? { detail } : {}) },
      });
      if (reason === 'bad-password' || reason === 'bad-totp') {
        await this.countFailure(keys, username, ctx, user?.tenantId ?? otherTenantId);
      }
      // An inactive account answers like a wrong password: nothing to learn from the difference.
      return { ok: false, reason: reason === 'totp-required' ? 'totp-required' : 'bad-credentials' };
    }
    this.succeeded([personKey(username)], ctx.address);
    const held = checked.held;
    await this.o.audit({
      ...base,
      tenantId: checked.user.tenantId,
      action: 'login.success',
      target,
      outcome: 'success',
      details: { via: ctx.via, ...(held ? { kind: held.proof } : {}) },
    });
    return held ? { ok: true, user: checked.user, token: held.token } : { ok: true, user: checked.user };
  }

  private async deviceLoggedIn(
    checked: Extract<Checked, { ok: true }>,
    claim: Claim,
    ctx: LoginContext,
    auditSuccess: boolean,
  ): Promise<Extract<DeviceLogin, { ok: true }>> {
    const { device, credential } = checked;
    this.succeeded([claim.key], ctx.address);
    if (auditSuccess)
      await this.o.audit({
        tenantId: device.tenantId,
        actorType: 'device',
        actor: device.id,
        action: 'login.success',
        target: `device:${device.id}`,
        address: ctx.address,
        outcome: 'success',
        details: { via: ctx.via, kind: credential.kind, credentialId: credential.id },
      });
    const profile = device.profileId === null ? undefined : await this.o.store.getProfile(device.profileId);
    return { ok: true, device, profile, credential };
  }

  private async auditDeviceFailure(
    checked: Extract<Checked, { ok: false }>,
    claim: Claim,
    ctx: LoginContext,
  ): Promise<void> {
    const device = checked.device;
    await this.o.audit({
      tenantId: device?.tenantId ?? null,
      actorType: 'device',
      actor: device?.id ?? claim.name,
      action: 'login.failure',
      target: device ? `device:${device.id}` : null,
      address: ctx.address,
      outcome: 'failure',
      details: { via: ctx.via, kind: claim.kind, reason: checked.reason, detail: checked.detail },
    });
  }

  /** The refusal (audited) when any of `keys` or the address is locked; undefined when none is. */
  private async refuseLocked(
    keys: readonly string[],
    actorType: ActorType,
    actor: string,
    ctx: LoginContext,
    details: Record<string, unknown>,
  ): Promise<LoginRefused | undefined> {
    const retryAfterMs = this.lockedFor(keys, ctx.address);
    if (retryAfterMs === 0) return undefined;
    await this.o.audit({
      tenantId: null,
      actorType,
      actor,
      action: 'login.failure',
      target: null,
      address: ctx.address,
      outcome: 'failure',
      details: { via: ctx.via, ...details, reason: 'locked-out', retryAfterMs },
    });
    return { ok: false, reason: 'locked-out', retryAfterMs };
  }

  private lockedFor(keys: readonly string[], address: string): number {
    const now = this.o.now();
    return Math.max(
      this.addresses.check(address, now),
      ...keys.map((key) => this.identities.check(key, now)),
    );
  }

  private succeeded(keys: readonly string[], address: string): void {
    for (const key of keys) this.identities.recordSuccess(key);
    this.addresses.recordSuccess(address);
  }

  /** One failed guess: counted once on each identity it could have been aimed at, and once on the address. */
  private async countFailure(
    keys: readonly string[],
    name: string,
    ctx: LoginContext,
    tenantId: string | null,
  ): Promise<void> {
    const now = this.o.now();
    // Each lock started, with the identity key it concerns (for the address: the claim's own).
    const locks: Array<{ scope: 'identity' | 'address'; key: string }> = [];
    for (const key of keys) {
      if (this.identities.recordFailure(key, now)) locks.push({ scope: 'identity', key });
    }
    if (this.addresses.recordFailure(ctx.address, now)) locks.push({ scope: 'address', key: keys[0] });
    for (const { scope, key } of locks) {
      this.o.logger.warn({ scope, identity: name, address: ctx.address }, 'login locked out');
      await this.o.audit({
        tenantId: scope === 'identity' ? tenantId : null,
        actorType: key.startsWith('user:') ? 'user' : 'device',
        actor: name,
        action: 'login.locked',
        target: null,
        address: ctx.address,
        outcome: 'failure',
        details: { via: ctx.via, scope, lockMs: this.o.lockout.lockMs },
      });
    }
  }
}
