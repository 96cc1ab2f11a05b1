import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiToken, ids, rejectsWith, session, T0, tenant, user, type SuiteContext } from './fixtures.js';

const setup = async (s: SuiteContext) => {
  await s.store.createTenant(tenant('t1'));
  await s.store.createUser(user('u1'));
  await s.store.createUser(user('u2'));
};

export function apiTokenTests(s: SuiteContext): void {
  it('creates API tokens, finds one by hash and lists a user’s oldest first', async () => {
    await setup(s);
    const k1 = apiToken('k1', {
      name: 'CI — déploiement',
      createdAt: T0 + 2,
      expiresAt: T0 + 90 * 86_400_000,
    });
    await s.store.createApiToken(k1);
    await s.store.createApiToken(apiToken('k2', { createdAt: T0 + 1 }));
    await s.store.createApiToken(apiToken('k3', { userId: 'u2' }));
    assert.deepStrictEqual(await s.store.findApiToken('hash-of-k1'), k1);
    assert.equal(await s.store.findApiToken('k1'), undefined, 'found by hash, not by id');
    assert.deepEqual(ids(await s.store.listApiTokens('u1')), ['k2', 'k1']);
    assert.deepEqual(await s.store.listApiTokens('nope'), []);
  });

  it('rejects a duplicate token id or hash with CONFLICT, and a token of a missing user with NOT_FOUND', async () => {
    await setup(s);
    await s.store.createApiToken(apiToken('k1'));
    await rejectsWith(s.store.createApiToken(apiToken('k1', { tokenHash: 'other' })), 'CONFLICT', {
      field: 'id',
    });
    await rejectsWith(
      s.store.createApiToken(apiToken('k2', { tokenHash: 'hash-of-k1', userId: 'u2' })),
      'CONFLICT',
      {
        field: 'tokenHash',
      },
    );
    await rejectsWith(s.store.createApiToken(apiToken('k3', { userId: 'ghost' })), 'NOT_FOUND', {
      field: 'userId',
    });
    assert.deepEqual(await s.store.listApiTokens('u2'), []);
  });

  it('revokes a token once and still finds it, revoked, by its hash', async () => {
    await setup(s);
    await s.store.createApiToken(apiToken('k1'));
    const revoked = await s.store.revokeApiToken('k1', T0 + 7);
    assert.deepStrictEqual(revoked, apiToken('k1', { revokedAt: T0 + 7 }));
    assert.deepStrictEqual(await s.store.revokeApiToken('k1', T0 + 8), revoked);
    assert.deepStrictEqual(await s.store.findApiToken('hash-of-k1'), revoked);
    assert.equal(await s.store.revokeApiToken('nope', T0), undefined);
  });

  it('records when a token was last used', async () => {
    await setup(s);
    await s.store.createApiToken(apiToken('k1'));
    await s.store.createApiToken(apiToken('k2'));
    await s.store.touchApiToken('k1', T0 + 30);
    await s.store.touchApiToken('k1', T0 + 40);
    await s.store.touchApiToken('nope', T0 + 40);
    assert.equal((await s.store.findApiToken('hash-of-k1'))?.lastUsedAt, T0 + 40);
    assert.equal((await s.store.findApiToken('hash-of-k2'))?.lastUsedAt, null);
  });
}

export function sessionTests(s: SuiteContext): void {
  it('creates, finds and deletes browser sessions by token hash', async () => {
    await setup(s);
    const a = session('s1');
    const b = session('s2', { address: null, userId: 'u2' });
    await s.store.createSession(a);
    await s.store.createSession(b);
    assert.deepStrictEqual(await s.store.findSession('s1'), a);
    assert.deepStrictEqual(await s.store.findSession('s2'), b);
    assert.equal(await s.store.deleteSession('s1'), true);
    assert.equal(await s.store.deleteSession('s1'), false);
    assert.equal(await s.store.findSession('s1'), undefined);
    assert.deepStrictEqual(await s.store.findSession('s2'), b);
  });

  it('rejects a duplicate session hash with CONFLICT, and a session of a missing user with NOT_FOUND', async () => {
    await setup(s);
    await s.store.createSession(session('s1'));
    await rejectsWith(s.store.createSession(session('s1', { userId: 'u2' })), 'CONFLICT', {
      field: 'tokenHash',
    });
    await rejectsWith(s.store.createSession(session('s2', { userId: 'ghost' })), 'NOT_FOUND', {
      field: 'userId',
    });
    assert.equal((await s.store.findSession('s1'))?.userId, 'u1');
  });

  it('deletes all sessions of one user and returns how many', async () => {
    await setup(s);
    for (const hash of ['s1', 's2', 's3']) await s.store.createSession(session(hash));
    await s.store.createSession(session('s4', { userId: 'u2' }));
    assert.equal(await s.store.deleteUserSessions('u1'), 3);
    assert.equal(await s.store.deleteUserSessions('u1'), 0);
    assert.equal(await s.store.findSession('s2'), undefined);
    assert.ok(await s.store.findSession('s4'));
  });

  it('deletes sessions expired at `now` (expiresAt <= now) and returns how many', async () => {
    await setup(s);
    await s.store.createSession(session('old', { expiresAt: T0 + 10 }));
    await s.store.createSession(session('edge', { expiresAt: T0 + 20 }));
    await s.store.createSession(session('live', { expiresAt: T0 + 21 }));
    assert.equal(await s.store.deleteExpiredSessions(T0 + 20), 2);
    assert.equal(await s.store.findSession('edge'), undefined);
    assert.ok(await s.store.findSession('live'));
    assert.equal(await s.store.deleteExpiredSessions(T0 + 20), 0);
  });
}
