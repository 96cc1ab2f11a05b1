import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { SYSTEM_ACTOR, type Actor, type LoginContext } from './service.js';

const ctx: LoginContext = { address: '198.51.100.7', via: 'http' };
const operator: Actor = { type: 'user', id: 'u-op', name: 'op', tenantId: 'acme', role: 'operator' };

describe('authenticateDeviceToken', () => {
  let t: TestRegistry;
  before(async () => {
    t = await openTestRegistry();
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
  });
  after(() => t.close());

  const loginAudit = () => t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.', limit: 100 });

  it('accepts a good token without an audit entry, audits failures, and locks out guessing', async () => {
    const device = await t.registry.createDevice(operator, { id: 'http-1' });
    const { secret } = await t.registry.issueCredential(operator, device.id, { kind: 'token' });
    const before = (await loginAudit()).length;

    for (let i = 0; i < 3; i++) {
      const login = await t.registry.authenticateDeviceToken(secret!, ctx);
      assert.ok(login.ok);
      assert.equal(login.device.id, device.id);
    }
    assert.equal((await loginAudit()).length, before, 'successes are not audited');

    const bad = await t.registry.authenticateDeviceToken('hd_wrong', ctx);
    assert.deepEqual(bad, { ok: false, reason: 'bad-credentials' });
    const [failure] = await loginAudit();
    assert.equal(failure.action, 'login.failure');
    assert.equal(failure.details.via, 'http');

    // Four more failures from this address lock it (policy: 5), even for the good token.
    for (let i = 0; i < 4; i++) await t.registry.authenticateDeviceToken(`hd_wrong${i}`, ctx);
    const locked = await t.registry.authenticateDeviceToken(secret!, ctx);
    assert.equal(locked.ok, false);
    assert.equal(!locked.ok && locked.reason, 'locked-out');
    assert.ok((await loginAudit()).some((e) => e.action === 'login.locked'));
  });

  it('refuses a deactivated device with its reason', async () => {
    const device = await t.registry.createDevice(operator, { id: 'http-2' });
    const { secret } = await t.registry.issueCredential(operator, device.id, { kind: 'token' });
    await t.registry.setDeviceActive(operator, device.id, false);
    const login = await t.registry.authenticateDeviceToken(secret!, { ...ctx, address: '198.51.100.8' });
    assert.deepEqual(login, { ok: false, reason: 'deactivated' });
  });
});
