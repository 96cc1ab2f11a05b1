import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AuditQuery } from '../store.js';
import { auditEntry, T0, type SuiteContext } from './fixtures.js';

export function auditTests(s: SuiteContext): void {
  it('appends entries with increasing ids and returns them whole', async () => {
    const details = {
      fields: ['name', 'labels'],
      reason: 'Überprüfung — 検査',
      nested: { count: 3, ok: true, none: null, list: [1, 'two'] },
    };
    const first = await s.store.appendAudit(
      auditEntry({ details, tenantId: null, target: null, address: null }),
    );
    const second = await s.store.appendAudit(auditEntry({ actorType: 'system', actor: 'system' }));
    assert.ok(Number.isInteger(first.id) && first.id > 0, `id ${first.id}`);
    assert.ok(second.id > first.id);
    assert.deepStrictEqual(first, {
      id: first.id,
      ...auditEntry({ details, tenantId: null, target: null, address: null }),
    });
    assert.deepStrictEqual(await s.store.queryAudit({}), [second, first], 'newest first');
  });

  it('filters by tenant, actor, action or action prefix, target, outcome and time', async () => {
    const entries = [
      auditEntry({ at: T0, action: 'credential.issue', actor: 'alice' }),
      auditEntry({ at: T0 + 10, action: 'credential.revoke', tenantId: 't2', actor: 'bob' }),
      auditEntry({ at: T0 + 20, action: 'credentials.export', target: 'device:d2' }),
      auditEntry({
        at: T0 + 30,
        action: 'login.failure',
        outcome: 'failure',
        actorType: 'device',
        actor: 'd1',
      }),
      auditEntry({ at: T0 + 40, action: 'credential', tenantId: null }),
    ];
    const appended = [];
    for (const e of entries) appended.push(await s.store.appendAudit(e));
    const id = appended.map((e) => e.id);
    const query = async (q: AuditQuery) => (await s.store.queryAudit(q)).map((e) => id.indexOf(e.id));
    assert.deepEqual(await query({ tenantId: 't1' }), [3, 2, 0]);
    assert.deepEqual(await query({ actor: 'bob' }), [1]);
    assert.deepEqual(await query({ action: 'credential.revoke' }), [1]);
    assert.deepEqual(await query({ action: 'credential.' }), [1, 0], 'a prefix ends with a dot');
    assert.deepEqual(await query({ action: 'credential' }), [4], 'without the dot the action is exact');
    assert.deepEqual(await query({ action: 'Credential.' }), [], 'case counts');
    assert.deepEqual(await query({ action: 'cred' }), []);
    assert.deepEqual(await query({ target: 'device:d2' }), [2]);
    assert.deepEqual(await query({ outcome: 'failure' }), [3]);
    assert.deepEqual(await query({ outcome: 'success', tenantId: 't1' }), [2, 0]);
    assert.deepEqual(
      await query({ since: T0 + 10, until: T0 + 30 }),
      [2, 1],
      'since inclusive, until exclusive',
    );
    assert.deepEqual(await query({ beforeId: id[3] }), [2, 1, 0]);
    assert.deepEqual(await query({ beforeId: id[3], limit: 2 }), [2, 1]);
    assert.deepEqual(await query({ action: 'credential.', tenantId: 't2', since: T0 + 10 }), [1]);
  });

  it('returns 100 entries by default and at most 1000, newest first', async () => {
    const appended = [];
    for (let i = 0; i < 1005; i++) appended.push(s.store.appendAudit(auditEntry({ at: T0 + i })));
    const all = await Promise.all(appended);
    const newest = Math.max(...all.map((e) => e.id));
    const page = await s.store.queryAudit({});
    assert.equal(page.length, 100);
    assert.equal(page[0].id, newest);
    assert.ok(
      page.every((e, i) => i === 0 || e.id < page[i - 1].id),
      'ids descend',
    );
    assert.equal((await s.store.queryAudit({ limit: 5000 })).length, 1000);
    assert.equal((await s.store.queryAudit({ limit: 3 })).length, 3);
  });
}
