/**
 * A person's optional TOTP second factor: enrolment (pending until a first code
 * confirms it), turning it off (with a current code), an admin's reset, and the
 * check of a code at sign-in. The secret is sealed with the server key like an
 * HMAC device secret; it is handed out once, at enrolment, and never logged or
 * audited. A code is spent when accepted: its time step is stored, and a code of
 * that step or an earlier one is refused (no replay within the window).
 */
import { HalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Access, Fire, RegistryContext } from './access.js';
import type { LoginGate } from './logins.js';
import type { User, UserTotp } from './model.js';
import { openSecret, sealSecret } from './secrets.js';
import type { Actor, TotpEnrolment } from './service.js';
import type { RegistryStore } from './store.js';
import {
  checkTotp,
  generateTotpSecret,
  matchTotp,
  totpProvisioning,
  totpSealContext,
  type TotpCheck,
} from './totp.js';
import { invalid } from './validate.js';

/** The sealed secrets and their spent steps; no permission checks (the callers make them). */
export class TotpKeeper {
  constructor(
    private readonly store: RegistryStore,
    private readonly secretKey: Buffer,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** A new pending secret for `user`, replacing a pending one; CONFLICT while a confirmed one is on. */
  async begin(user: User): Promise<TotpEnrolment> {
    const secret = generateTotpSecret();
    const sealed = sealSecret(this.secretKey, secret, totpSealContext(user.id));
    if (!(await this.store.beginUserTotp(user.id, sealed, this.now()))) {
      throw new HalyardError(
        'CONFLICT',
        'the second factor is on already; turn it off before enrolling anew',
      );
    }
    return totpProvisioning(secret, user.username);
  }

  /** Turns the pending secret on when `code` is its current code (that code is spent). */
  async confirm(user: User, code: string): Promise<void> {
    const pending = await this.store.getUserTotp(user.id);
    if (!pending || pending.confirmedAt !== null) {
      throw new HalyardError('CONFLICT', 'no second-factor enrolment is pending; start one first');
    }
    const now = this.now();
    const secret = this.open(pending);
    const step = secret && matchTotp(secret, code, now);
    if (step === undefined) throw invalid('code', 'is not the current code of the new secret');
    // Refused when another enrolment replaced this one meanwhile: its code proves nothing about the new secret.
    if (!(await this.store.confirmUserTotp(user.id, pending.secret, now, step))) {
      throw new HalyardError('CONFLICT', 'the enrolment changed meanwhile; start it again');
    }
  }

  /** Checks `code` against the confirmed second factor and spends its step; once per step, across nodes. */
  async spend(user: User, code: string): Promise<TotpCheck> {
    const totp = await this.store.getUserTotp(user.id);
    const secret = totp?.confirmedAt != null ? this.open(totp) : undefined;
    if (!totp || !secret) return { ok: false, reason: 'wrong-code' };
    const check = checkTotp(secret, code, this.now(), totp.lastStep);
    if (!check.ok) return check;
    // A concurrent sign-in with the same code may have spent the step first.
    return (await this.store.advanceUserTotp(user.id, check.step))
      ? check
      : { ok: false, reason: 'replayed' };
  }

  private open(totp: UserTotp): Buffer | undefined {
    const secret = openSecret(this.secretKey, totp.secret, totpSealContext(totp.userId));
    if (!secret) this.logger.error({ userId: totp.userId }, 'TOTP secret does not open with the server key');
    return secret;
  }
}

/** Who may enrol, confirm, turn off and reset, with the audit entries and events of each. */
export class SecondFactorAdmin {
  private readonly store: RegistryStore;
  private readonly access: Access;
  private readonly fire: Fire;

  constructor(
    ctx: RegistryContext,
    private readonly keeper: TotpKeeper,
    private readonly gate: LoginGate,
  ) {
    this.store = ctx.store;
    this.access = ctx.access;
    this.fire = ctx.fire;
  }

  async enrol(actor: Actor): Promise<TotpEnrolment> {
    const user = await this.access.actingUser(actor, 'user.totp.enrol', 'second factors');
    const enrolment = await this.keeper.begin(user);
    await this.access.record(actor, 'user.totp.enrol', `user:${user.username}`, user.tenantId);
    return enrolment;
  }

  async confirm(actor: Actor, code: string): Promise<void> {
    const user = await this.access.actingUser(actor, 'user.totp.confirm', 'second factors');
    await this.keeper.confirm(user, code);
    await this.access.record(actor, 'user.totp.confirm', `user:${user.username}`, user.tenantId);
    await this.changed(user.id);
  }

  async disable(actor: Actor, code: string): Promise<void> {
    const user = await this.access.actingUser(actor, 'user.totp.disable', 'second factors');
    if (!user.totpEnabled) throw new HalyardError('CONFLICT', 'the second factor is not on');
    await this.gate.confirmTotp(user, code, actor.address ?? 'unknown');
    await this.store.clearUserTotp(user.id);
    await this.access.record(actor, 'user.totp.disable', `user:${user.username}`, user.tenantId);
    await this.changed(user.id);
  }

  async reset(actor: Actor, userId: string): Promise<void> {
    const user = await this.access.loadUser(actor, userId, 'user.manage', 'user.totp.reset');
    const target = `user:${user.username}`;
    if (actor.id === user.id) {
      // Otherwise a stolen admin session could drop its own second factor without a code.
      await this.access.refuse(actor, 'user.totp.reset', target, user.tenantId, 'own second factor');
    }
    const removed = await this.store.clearUserTotp(user.id);
    await this.access.record(actor, 'user.totp.reset', target, user.tenantId, { userId, removed });
    if (removed) await this.changed(user.id);
  }

  private async changed(userId: string): Promise<void> {
    const user = await this.store.getUser(userId);
    if (user) this.fire('user.changed', user);
  }
}
