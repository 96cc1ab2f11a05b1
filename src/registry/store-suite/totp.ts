import assert from 'node:assert/strict';
import { it } from 'node:test';
import { T0, tenant, user, type SuiteContext } from './fixtures.js';

/** A step of today's clock (about 58 million), so a store that keeps it in a small type shows. */
const STEP = 58_000_000;

export function totpTests(s: SuiteContext): void {
  const setup = async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createUser(user('u1', { username: 'alice' }));
    await s.store.createUser(user('u2'));
  };
  const enabled = async (id: string) => (await s.store.getUser(id))?.totpEnabled;

  it('keeps an enrolment pending, replaceable, until it is confirmed with the secret it has', async () => {
    await setup();
    assert.equal(await s.store.getUserTotp('u1'), undefined);
    assert.equal(await enabled('u1'), false);

    assert.equal(await s.store.beginUserTotp('u1', 'sealed-1', T0 + 1), true);
    assert.deepStrictEqual(await s.store.getUserTotp('u1'), {
      userId: 'u1',
      secret: 'sealed-1',
      createdAt: T0 + 1,
      confirmedAt: null,
      lastStep: null,
    });
    assert.equal(await enabled('u1'), false, 'a pending enrolment is not a second factor yet');
    assert.equal(await s.store.beginUserTotp('u1', 'sealed-2', T0 + 2), true);
    assert.equal(await s.store.confirmUserTotp('u1', 'sealed-1', T0 + 3, STEP), false, 'a replaced secret');

    assert.equal(await s.store.confirmUserTotp('u1', 'sealed-2', T0 + 3, STEP), true);
    assert.equal(await s.store.confirmUserTotp('u1', 'sealed-2', T0 + 4, STEP + 1), false, 'confirmed once');
    const confirmed = {
      userId: 'u1',
      secret: 'sealed-2',
      createdAt: T0 + 2,
      confirmedAt: T0 + 3,
      lastStep: STEP,
    };
    assert.deepStrictEqual(await s.store.getUserTotp('u1'), confirmed);
    assert.equal(
      await s.store.beginUserTotp('u1', 'sealed-3', T0 + 5),
      false,
      'no enrolment over a confirmed one',
    );
    assert.deepStrictEqual(await s.store.getUserTotp('u1'), confirmed);

    assert.equal(await enabled('u1'), true);
    assert.equal((await s.store.getUserByUsername('alice'))?.totpEnabled, true);
    assert.deepEqual(
      (await s.store.listUsers()).map((u) => [u.id, u.totpEnabled]),
      [
        ['u1', true],
        ['u2', false],
      ],
    );
    assert.equal((await s.store.updateUser('u1', { role: 'viewer' }))?.totpEnabled, true);
    assert.equal(await s.store.getUserTotp('u2'), undefined);
    assert.equal(await s.store.beginUserTotp('nobody', 'sealed', T0), false);
    if (s.reopen) {
      s.store = await s.reopen();
      assert.deepStrictEqual(await s.store.getUserTotp('u1'), confirmed);
    }
  });

  it('accepts each time step once, and only later ones', async () => {
    await setup();
    await s.store.beginUserTotp('u1', 'sealed', T0);
    assert.equal(await s.store.advanceUserTotp('u1', STEP), false, 'not confirmed yet');
    await s.store.confirmUserTotp('u1', 'sealed', T0, STEP);
    assert.equal(await s.store.advanceUserTotp('u1', STEP), false, 'the confirming code is spent');
    assert.equal(await s.store.advanceUserTotp('u1', STEP - 1), false);
    assert.equal(await s.store.advanceUserTotp('u1', STEP + 1), true);
    assert.equal(await s.store.advanceUserTotp('u1', STEP + 1), false);
    assert.equal(await s.store.advanceUserTotp('u1', STEP + 5), true);
    assert.equal(await s.store.advanceUserTotp('u1', STEP + 3), false);
    assert.equal((await s.store.getUserTotp('u1'))?.lastStep, STEP + 5);
    assert.equal(await s.store.advanceUserTotp('u2', STEP + 9), false, 'no second factor');

    const racing = await Promise.all(
      Array.from({ length: 8 }, () => s.store.advanceUserTotp('u1', STEP + 9)),
    );
    assert.equal(racing.filter(Boolean).length, 1, 'one of several concurrent uses of a code wins');
  });

  it('clears a second factor, pending or confirmed; the user keeps everything else', async () => {
    await setup();
    await s.store.beginUserTotp('u1', 'sealed', T0);
    await s.store.confirmUserTotp('u1', 'sealed', T0, STEP);
    await s.store.beginUserTotp('u2', 'pending', T0);
    assert.equal(await s.store.clearUserTotp('u1'), true);
    assert.equal(await s.store.clearUserTotp('u2'), true);
    assert.equal(await s.store.clearUserTotp('u1'), false);
    assert.equal(await s.store.getUserTotp('u1'), undefined);
    assert.deepStrictEqual(await s.store.getUser('u1'), user('u1', { username: 'alice' }));
    // A fresh enrolment starts with no spent step.
    assert.equal(await s.store.beginUserTotp('u1', 'again', T0 + 9), true);
    assert.equal((await s.store.getUserTotp('u1'))?.lastStep, null);
    assert.equal(await s.store.deleteUser('u1'), true);
    assert.equal(await s.store.getUserTotp('u1'), undefined);
  });
}
