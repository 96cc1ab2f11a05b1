import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { isHalyardError, type ErrorCode } from '../core/errors.js';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import type { User } from './model.js';
import { SYSTEM_ACTOR, type Actor, type LoginContext } from './service.js';
import { totpCode, totpSecretFromBase32 } from './totp.js';

const STEP_MS = 30_000;

const rejectsWith = (promise: Promise<unknown>, code: ErrorCode, field?: string) =>
  assert.rejects(promise, (err) => {
    assert.ok(isHalyardError(err, code), `expected ${code}, got ${String(err)}`);
    if (field !== undefined) assert.equal(err.context.field, field);
    return true;
  });

describe('TOTP second factor in the registry', () => {
  let t: TestRegistry;
  let clock: number;
  let n = 0;
  /** A fresh address each time, so only the identity's counter is in play. */
  const anywhere = (): LoginContext => ({ address: `203.0.113.${++n}`, via: 'http' });
  const actorOf = (user: User): Actor => ({
    type: 'user',
    id: user.id,
    name: user.username,
    tenantId: user.tenantId,
    role: user.role,
    address: '198.51.100.7',
  });
  const person = (username: string, role: User['role'] = 'viewer') =>
    t.registry.createUser(SYSTEM_ACTOR, {
      username,
      password: `${username} password`,
      role,
      tenantId: 'acme',
    });
  /** Enrols and confirms; returns the secret as the authenticator app holds it. */
  const turnOn = async (user: User): Promise<Buffer> => {
    const { secret } = await t.registry.enrolTotp(actorOf(user));
    const key = totpSecretFromBase32(secret);
    await t.registry.confirmTotp(actorOf(user), totpCode(key, clock));
    return key;
  };
  const login = (username: string, code?: string, password = `${username} password`) =>
    t.registry.loginUser(username, password, anywhere(), code);
  const reason = (r: { ok: boolean; reason?: string }) => (r.ok ? 'ok' : r.reason);

  before(async () => {
    clock = Date.now();
    t = await openTestRegistry({
      now: () => clock,
      lockout: { maxFailures: 3, windowMs: 60_000, lockMs: 600_000 },
    });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex' });
  });
  after(() => t.close());
  // Past any lock and window of the previous test.
  beforeEach(() => {
    clock += 86_400_000;
  });

  it('enrols pending, turns on with a first code, then asks for a code at every sign-in', async () => {
    const user = await person('tess');
    const enrolment = await t.registry.enrolTotp(actorOf(user));
    assert.match(enrolment.otpauthUrl, /^otpauth:\/\/totp\/Halyard:tess\?/);
    assert.equal(reason(await login('tess')), 'ok', 'pending: the password alone still signs in');
    assert.equal((await t.registry.getUser(SYSTEM_ACTOR, user.id)).totpEnabled, false);

    const key = totpSecretFromBase32(enrolment.secret);
    await rejectsWith(t.registry.confirmTotp(actorOf(user), '000000'), 'INVALID_INPUT', 'code');
    const confirming = totpCode(key, clock);
    await t.registry.confirmTotp(actorOf(user), confirming);
    assert.equal((await t.registry.getUser(SYSTEM_ACTOR, user.id)).totpEnabled, true);
    await rejectsWith(t.registry.enrolTotp(actorOf(user)), 'CONFLICT');

    assert.equal(reason(await login('tess')), 'totp-required');
    assert.equal(reason(await login('tess', '')), 'totp-required');
    assert.equal(reason(await login('tess', 'not a code', 'wrong password')), 'bad-credentials');
    assert.equal(reason(await login('tess', confirming)), 'bad-credentials', 'the confirming code is spent');
    clock += STEP_MS;
    const code = totpCode(key, clock);
    const ok = await login('tess', code);
    assert.ok(ok.ok && ok.user.id === user.id);
    assert.equal(reason(await login('tess', code)), 'bad-credentials', 'a code signs in once');

    const failures = await t.registry.queryAudit(SYSTEM_ACTOR, { actor: 'tess', action: 'login.failure' });
    assert.deepEqual(
      failures.slice(0, 2).map((e) => [e.details.reason, e.details.detail]),
      [
        ['bad-totp', 'replayed'],
        ['bad-totp', 'replayed'],
      ],
    );
    assert.ok(failures.some((e) => e.details.reason === 'totp-required'));
  });

  it('counts wrong codes toward the lockout like wrong passwords; a missing code is not counted', async () => {
    const user = await person('lou');
    const key = await turnOn(user);
    for (let i = 0; i < 5; i++) assert.equal(reason(await login('lou')), 'totp-required');
    assert.equal(reason(await login('lou', '000000')), 'bad-credentials');
    assert.equal(reason(await login('lou', '111111', 'wrong password')), 'bad-credentials');
    assert.equal(reason(await login('lou', '222222')), 'bad-credentials');
    clock += STEP_MS;
    assert.equal(reason(await login('lou', totpCode(key, clock))), 'locked-out');
    const [lock] = await t.registry.queryAudit(SYSTEM_ACTOR, { actor: 'lou', action: 'login.locked' });
    assert.equal(lock.details.scope, 'identity');
  });

  it('turns off only with a current code; a wrong one counts toward the lockout', async () => {
    const user = await person('otto');
    const key = await turnOn(user);
    await rejectsWith(t.registry.disableTotp(actorOf(user), '000000'), 'BAD_CREDENTIALS', 'code');
    clock += STEP_MS;
    await t.registry.disableTotp(actorOf(user), totpCode(key, clock));
    assert.equal((await t.registry.getUser(SYSTEM_ACTOR, user.id)).totpEnabled, false);
    assert.equal(reason(await login('otto')), 'ok');
    await rejectsWith(t.registry.disableTotp(actorOf(user), totpCode(key, clock)), 'CONFLICT');

    const other = await person('olga');
    const otherKey = await turnOn(other);
    for (let i = 0; i < 3; i++) {
      await rejectsWith(t.registry.disableTotp(actorOf(other), `00000${i}`), 'BAD_CREDENTIALS');
    }
    clock += STEP_MS;
    await rejectsWith(t.registry.disableTotp(actorOf(other), totpCode(otherKey, clock)), 'LOCKED_OUT');
  });

  it('lets an admin of the tenant reset another person, never their own; audited without the secret', async () => {
    const user = await person('rita');
    const admin = await person('ada', 'admin');
    const viewer = await person('vic');
    const foreign = await t.registry.createUser(SYSTEM_ACTOR, {
      username: 'gus',
      password: 'gus password',
      role: 'admin',
      tenantId: 'globex',
    });
    const { secret } = await t.registry.enrolTotp(actorOf(user));
    await t.registry.confirmTotp(actorOf(user), totpCode(totpSecretFromBase32(secret), clock));
    await turnOn(admin);

    await rejectsWith(t.registry.resetTotp(actorOf(viewer), user.id), 'NOT_AUTHORIZED');
    await rejectsWith(t.registry.resetTotp(actorOf(foreign), user.id), 'NOT_FOUND');
    await rejectsWith(t.registry.resetTotp(actorOf(admin), admin.id), 'NOT_AUTHORIZED');
    assert.equal((await t.registry.getUser(SYSTEM_ACTOR, user.id)).totpEnabled, true);
    await t.registry.resetTotp(actorOf(admin), user.id);
    assert.equal(reason(await login('rita')), 'ok');

    const entries = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'user.totp.' });
    const actions = entries.map((e) => `${e.action} ${e.actor} ${e.outcome}`);
    for (const expected of [
      'user.totp.enrol rita success',
      'user.totp.confirm rita success',
      'user.totp.reset vic failure',
      'user.totp.reset ada failure',
      'user.totp.reset ada success',
    ]) {
      assert.ok(actions.includes(expected), expected);
    }
    const everything = JSON.stringify(await t.registry.queryAudit(SYSTEM_ACTOR, { limit: 1000 }));
    assert.ok(!everything.includes(secret), 'the secret is never audited');
    const stored = await t.store.getUserTotp(admin.id);
    assert.ok(stored && !everything.includes(stored.secret), 'nor its sealed form');
  });

  it('keeps the secret sealed under the server key, bound to its user', async () => {
    const user = await person('sid');
    const { secret } = await t.registry.enrolTotp(actorOf(user));
    const stored = await t.store.getUserTotp(user.id);
    assert.ok(stored);
    assert.match(stored.secret, /^v1\./);
    assert.ok(!stored.secret.includes(secret));
    // A sealed secret copied into another user's row does not open there: no code matches.
    const other = await person('sue');
    await t.store.beginUserTotp(other.id, stored.secret, clock);
    await rejectsWith(
      t.registry.confirmTotp(actorOf(other), totpCode(totpSecretFromBase32(secret), clock)),
      'INVALID_INPUT',
    );
  });

  it('refuses a person with a second factor over MQTT (no room for a code), without counting it', async () => {
    const user = await person('mia');
    const mqtt = (password: string) => t.registry.loginPassword('mia', Buffer.from(password), anywhere());
    assert.equal((await mqtt('mia password')).ok, true);
    const key = await turnOn(user);
    for (let i = 0; i < 4; i++) assert.equal(reason(await mqtt('mia password')), 'totp-required');
    assert.equal(reason(await mqtt('wrong')), 'bad-credentials');
    // One failure counted (limit 3): the person still signs in with password and code.
    clock += STEP_MS;
    assert.equal(reason(await login('mia', totpCode(key, clock))), 'ok');
  });

  it('drops the second factor of a platform admin whose password is reset from the command line', async () => {
    const root = await t.registry.createUser(SYSTEM_ACTOR, {
      username: 'root2',
      password: 'root2 password',
      role: 'admin',
      tenantId: null,
    });
    await turnOn(root);
    const reset = await t.registry.resetAdminPassword('root2');
    assert.equal((await t.registry.getUser(SYSTEM_ACTOR, root.id)).totpEnabled, false);
    assert.equal(reason(await login('root2', undefined, reset.password)), 'ok');
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'user.password.reset', limit: 1 });
    assert.equal(entry.details.totpRemoved, true);
  });
});
