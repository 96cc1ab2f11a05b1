import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, permissionsOf, type Permission } from './permissions.js';

const platformAdmin = { role: 'admin' as const, tenantId: null };
const admin = { role: 'admin' as const, tenantId: 'a' };
const operator = { role: 'operator' as const, tenantId: 'a' };
const viewer = { role: 'viewer' as const, tenantId: 'a' };

/** Expected decisions inside the own tenant, per role: the model documented in permissions.ts. */
const MATRIX: Record<Permission, [admin: boolean, operator: boolean, viewer: boolean]> = {
  'tenant.read': [true, true, true],
  'tenant.update': [true, false, false],
  'tenant.limits': [false, false, false],
  'tenant.manage': [false, false, false],
  'user.read': [true, true, true],
  'user.manage': [true, false, false],
  'profile.read': [true, true, true],
  'profile.manage': [true, false, false],
  'device.read': [true, true, true],
  'device.write': [true, true, false],
  'device.delete': [true, false, false],
  'acl.write': [true, true, false],
  'credential.read': [true, true, true],
  'credential.manage': [true, true, false],
  'ca.read': [true, true, true],
  'ca.manage': [true, false, false],
  'audit.read': [true, true, true],
};

describe('permissions', () => {
  for (const [permission, expected] of Object.entries(MATRIX) as [Permission, boolean[]][]) {
    it(`${permission}: own tenant per role, other tenant never, platform admin always`, () => {
      [admin, operator, viewer].forEach((p, i) => {
        assert.equal(decide(p, permission, 'a'), expected[i] ? 'allowed' : 'forbidden', `${p.role} own`);
        assert.equal(decide(p, permission, 'b'), 'not-found', `${p.role} other tenant`);
        assert.equal(decide(p, permission, null), 'not-found', `${p.role} platform record`);
      });
      assert.equal(decide(platformAdmin, permission, 'a'), 'allowed');
      assert.equal(decide(platformAdmin, permission, null), 'allowed');
      assert.equal(decide(platformAdmin, permission), 'allowed');
    });
  }

  it('refuses platform-level actions without a record as forbidden, not not-found', () => {
    assert.equal(decide(admin, 'tenant.manage'), 'forbidden');
    assert.equal(decide(viewer, 'tenant.manage'), 'forbidden');
  });

  it('lists what a role may do', () => {
    assert.ok(permissionsOf('viewer').every((p) => p.endsWith('.read')));
    assert.ok(permissionsOf('operator').includes('credential.manage'));
    assert.ok(!permissionsOf('operator').includes('user.manage'));
    assert.ok(!permissionsOf('admin').includes('tenant.manage'));
  });
});
