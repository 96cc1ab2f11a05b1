import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isHalyardError } from '../core/errors.js';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import type { User } from './model.js';
import { SYSTEM_ACTOR, type Actor } from './service.js';

const ctx = { address: '198.51.100.9', via: 'http' };
const HOUR = 3_600_000;

describe('sessions and API tokens', () => {
  let t: TestRegistry;
  let clock: number;
  let user: User;
  let actor: Actor;
  before(async () => {
    clock = Date.now();
    t = await openTestRegistry({ now: () => clock, sessionTtlMs: HOUR });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    user = await t.registry.createUser(SYSTEM_ACTOR, {
      username: 'sam',
      password: 'sam password',
      role: 'operator',
      tenantId: 'acme',
    });
    actor = {
      type: 'user',
      id: user.id,
      name: 'sam',
      tenantId: 'acme',
      role: 'operator',
      address: ctx.address,
    };
  });
  after(() => t.close());

  it('logs a person in and resolves the session to an actor until it expires', async () => {
    const login = await t.registry.loginUser('sam', 'sam password', ctx);
    assert.ok(login.ok);
    const { token, expiresAt } = await t.registry.createSession(login.user, ctx);
    assert.match(token, /^hs_/);
    assert.equal(expiresAt, clock + HOUR);
    assert.deepEqual(await t.registry.resolveBearer(token, '10.0.0.1'), {
      type: 'user',
      id: user.id,
      name: 'sam',
      tenantId: 'acme',
      role: 'operator',
      address: '10.0.0.1',
    });
    // Only the hash is stored.
    assert.equal(await t.store.findSession(token), undefined);
    clock += HOUR;
    assert.equal(await t.registry.resolveBearer(token, ctx.address), undefined);
  });

  it('ends a session on logout and audits it', async () => {
    const { token } = await t.registry.createSession(user, ctx);
    assert.ok(await t.registry.resolveBearer(token, ctx.address));
    await t.registry.endSession(token);
    assert.equal(await t.registry.resolveBearer(token, ctx.address), undefined);
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'logout', limit: 1 });
    assert.equal(entry.actor, 'sam');
    await t.registry.endSession(token); // twice is harmless
  });

  it('ends all sessions of a person whose password changes or who is deactivated', async () => {
    const { token } = await t.registry.createSession(user, ctx);
    await t.registry.setPassword(SYSTEM_ACTOR, user.id, 'sam password'); // the same, but set anew
    assert.equal(await t.registry.resolveBearer(token, ctx.address), undefined);
    const second = await t.registry.createSession(user, ctx);
    await t.registry.updateUser(SYSTEM_ACTOR, user.id, { active: false });
    assert.equal(await t.registry.resolveBearer(second.token, ctx.address), undefined);
    const refused = await t.registry.loginUser('sam', 'sam password', ctx);
    assert.deepEqual(refused, { ok: false, reason: 'bad-credentials' });
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.failure', limit: 1 });
    assert.equal(entry.details.reason, 'inactive');
    await t.registry.updateUser(SYSTEM_ACTOR, user.id, { active: true });
  });

  it('resolves API tokens, touching lastUsedAt at most once a minute', async () => {
    const { token, record } = await t.registry.createApiToken(actor, { name: 'ci' });
    assert.match(token, /^hu_/);
    assert.equal(record.expiresAt, null);
    const resolved = await t.registry.resolveBearer(token, ctx.address);
    assert.equal(resolved?.type, 'api-token');
    assert.equal(resolved?.id, user.id);
    const lastUsed = async () => (await t.store.findApiToken(record.tokenHash))?.lastUsedAt;
    assert.equal(await lastUsed(), clock);
    const first = clock;
    clock += 59_000;
    await t.registry.resolveBearer(token, ctx.address);
    assert.equal(await lastUsed(), first);
    clock += 1_000;
    await t.registry.resolveBearer(token, ctx.address);
    assert.equal(await lastUsed(), clock);
    assert.deepEqual(
      (await t.registry.listApiTokens(actor)).map((x) => x.id),
      [record.id],
    );
  });

  it('refuses revoked and expired API tokens', async () => {
    const revocable = await t.registry.createApiToken(actor, { name: 'short' });
    await t.registry.revokeApiToken(actor, revocable.record.id);
    assert.equal(await t.registry.resolveBearer(revocable.token, ctx.address), undefined);
    const expiring = await t.registry.createApiToken(actor, { name: 'week', expiresInDays: 7 });
    assert.equal(expiring.record.expiresAt, clock + 7 * 86_400_000);
    assert.ok(await t.registry.resolveBearer(expiring.token, ctx.address));
    clock += 7 * 86_400_000;
    assert.equal(await t.registry.resolveBearer(expiring.token, ctx.address), undefined);
  });

  it('keeps API tokens personal and validated', async () => {
    const { record } = await t.registry.createApiToken(actor, { name: 'mine' });
    const otherUser = await t.registry.createUser(SYSTEM_ACTOR, {
      username: 'other',
      password: 'other password',
      role: 'admin',
      tenantId: 'acme',
    });
    const other: Actor = { ...actor, id: otherUser.id, name: 'other', role: 'admin' };
    await assert.rejects(t.registry.revokeApiToken(other, record.id), (err) =>
      isHalyardError(err, 'NOT_FOUND'),
    );
    await assert.rejects(t.registry.createApiToken(SYSTEM_ACTOR, { name: 'x' }), (err) =>
      isHalyardError(err, 'NOT_AUTHORIZED'),
    );
    await assert.rejects(t.registry.createApiToken(actor, { name: 'x', expiresInDays: 0 }), (err) =>
      isHalyardError(err, 'INVALID_INPUT'),
    );
    assert.equal(await t.registry.resolveBearer('not-a-token', ctx.address), undefined);
    assert.equal(await t.registry.resolveBearer('hu_unknown', ctx.address), undefined);
  });
});

describe('platform admin bootstrap', () => {
  let t: TestRegistry;
  before(async () => {
    t = await openTestRegistry();
  });
  after(() => t.close());

  it('creates the admin once, with a password that works and is stored only hashed', async () => {
    const first = await t.registry.ensurePlatformAdmin();
    assert.equal(first?.username, 'admin');
    assert.equal(first?.password.length, 24);
    assert.equal(await t.registry.ensurePlatformAdmin(), undefined);
    const stored = await t.store.getUserByUsername('admin');
    assert.equal(stored?.tenantId, null);
    assert.equal(stored?.role, 'admin');
    assert.ok(!stored?.passwordHash.includes(first.password));
    const login = await t.registry.loginUser('admin', first.password, { address: '::1', via: 'http' });
    assert.ok(login.ok);
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'user.create' });
    assert.equal(entry.actor, 'system');
    assert.ok(!JSON.stringify(entry).includes(first.password));
  });

  it('resets the admin password: the old one stops working, sessions end', async () => {
    const old = await t.store.getUserByUsername('admin');
    const session = await t.registry.createSession(old!, { address: '::1', via: 'http' });
    const reset = await t.registry.resetAdminPassword();
    assert.equal(reset.username, 'admin');
    const ctx = { address: '::1', via: 'http' };
    assert.equal((await t.registry.loginUser('admin', reset.password, ctx)).ok, true);
    assert.equal(await t.registry.resolveBearer(session.token, '::1'), undefined);
    await assert.rejects(t.registry.resetAdminPassword('nobody'), (err) => isHalyardError(err, 'NOT_FOUND'));
  });

  it('does not create an admin when any user exists', async () => {
    const other = await openTestRegistry();
    try {
      await other.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
      await other.registry.createUser(SYSTEM_ACTOR, {
        username: 'someone',
        password: 'long enough',
        role: 'viewer',
        tenantId: 'acme',
      });
      assert.equal(await other.registry.ensurePlatformAdmin(), undefined);
      assert.equal(await other.store.getUserByUsername('admin'), undefined);
    } finally {
      await other.close();
    }
  });
});
