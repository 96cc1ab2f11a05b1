import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DeviceQuery } from '../store.js';
import { device, ids, profile, tenant, type SuiteContext } from './fixtures.js';

export function deviceListTests(s: SuiteContext): void {
  const setup = async () => {
    await s.store.createTenant(tenant('t1'));
    await s.store.createTenant(tenant('t2'));
    await s.store.createProfile(profile('p1'));
    await s.store.createProfile(profile('p2'));
    const devices = [
      device('d05', { name: 'Boiler', type: 'heater', tags: ['hvac', 'floor-1'], profileId: 'p1' }),
      device('d01', { name: 'Hall thermostat', type: 'thermostat', tags: ['hvac'], profileId: 'p1' }),
      device('d03', { name: 'Door', type: 'lock', serial: 'SN-ABC-7', active: false, profileId: 'p2' }),
      device('d02', { name: 'Kitchen THERMOSTAT', type: 'thermostat', tags: ['floor-1'], active: false }),
      device('d04', { name: 'Salle à manger', type: 'thermostat', tags: ['hvac'], tenantId: 't2' }),
      device('x_1', { name: '100% humidity', type: 'sensor', serial: 'thermo-serial' }),
    ];
    for (const d of devices) await s.store.createDevice(d);
  };
  const list = async (query: DeviceQuery) => {
    const page = await s.store.listDevices(query);
    return { ids: ids(page.items), total: page.total };
  };

  it('lists every device ordered by id, with the total', async () => {
    await setup();
    const page = await s.store.listDevices({});
    assert.deepEqual(ids(page.items), ['d01', 'd02', 'd03', 'd04', 'd05', 'x_1']);
    assert.equal(page.total, 6);
    assert.deepEqual(page.items[2], (await s.store.getDevice('d03'))!, 'listed devices are whole records');
  });

  it('filters by tenant, profile, active, type and tag, all combined with AND', async () => {
    await setup();
    assert.deepEqual(await list({ tenantId: 't2' }), { ids: ['d04'], total: 1 });
    assert.deepEqual(await list({ profileId: 'p1' }), { ids: ['d01', 'd05'], total: 2 });
    assert.deepEqual(await list({ active: false }), { ids: ['d02', 'd03'], total: 2 });
    assert.deepEqual((await list({ active: true })).ids, ['d01', 'd04', 'd05', 'x_1']);
    assert.deepEqual(await list({ type: 'thermostat' }), { ids: ['d01', 'd02', 'd04'], total: 3 });
    assert.deepEqual(await list({ tag: 'hvac' }), { ids: ['d01', 'd04', 'd05'], total: 3 });
    assert.deepEqual(await list({ tag: 'hv' }), { ids: [], total: 0 }, 'a tag matches whole');
    assert.deepEqual(await list({ tenantId: 't1', type: 'thermostat', tag: 'hvac' }), {
      ids: ['d01'],
      total: 1,
    });
    assert.deepEqual(await list({ tenantId: 't1', active: false, tag: 'floor-1' }), {
      ids: ['d02'],
      total: 1,
    });
    assert.deepEqual(await list({ tenantId: 'nope' }), { ids: [], total: 0 });
  });

  it('searches id, name and serial for a case-insensitive substring, taking % and _ literally', async () => {
    await setup();
    assert.deepEqual(
      (await list({ search: 'thermo' })).ids,
      ['d01', 'd02', 'x_1'],
      'name either case, or serial',
    );
    assert.deepEqual((await list({ search: 'THERMOSTAT' })).ids, ['d01', 'd02']);
    assert.deepEqual((await list({ search: 'abc' })).ids, ['d03'], 'serial');
    assert.deepEqual((await list({ search: 'D0' })).ids, ['d01', 'd02', 'd03', 'd04', 'd05'], 'id');
    assert.deepEqual((await list({ search: 'à man' })).ids, ['d04'], 'non-ASCII text');
    assert.deepEqual((await list({ search: '100%' })).ids, ['x_1']);
    assert.deepEqual((await list({ search: '0%' })).ids, ['x_1'], '% is not a wildcard');
    assert.deepEqual((await list({ search: 'x_' })).ids, ['x_1']);
    assert.deepEqual((await list({ search: 'd_' })).ids, [], '_ is not a wildcard');
    assert.deepEqual(await list({ search: 'thermo', tenantId: 't1', active: true }), {
      ids: ['d01', 'x_1'],
      total: 2,
    });
  });

  it('pages with limit and offset; the total counts every match', async () => {
    await setup();
    assert.deepEqual(await list({ limit: 2 }), { ids: ['d01', 'd02'], total: 6 });
    assert.deepEqual(await list({ limit: 2, offset: 2 }), { ids: ['d03', 'd04'], total: 6 });
    assert.deepEqual(await list({ offset: 5 }), { ids: ['x_1'], total: 6 });
    assert.deepEqual(await list({ offset: 50 }), { ids: [], total: 6 });
    assert.deepEqual(await list({ limit: 0 }), { ids: [], total: 6 });
    assert.deepEqual(await list({ type: 'thermostat', limit: 1, offset: 1 }), { ids: ['d02'], total: 3 });
  });

  it('returns 100 devices by default and at most 1000', async () => {
    await s.store.createTenant(tenant('t1'));
    const all = Array.from({ length: 1005 }, (_, i) => device(`dev-${String(i).padStart(4, '0')}`));
    for (let i = 0; i < all.length; i += 100)
      await Promise.all(all.slice(i, i + 100).map((d) => s.store.createDevice(d)));
    const first = await s.store.listDevices({});
    assert.equal(first.items.length, 100);
    assert.equal(first.total, 1005);
    assert.equal(first.items[99].id, 'dev-0099');
    const capped = await s.store.listDevices({ limit: 5000 });
    assert.equal(capped.items.length, 1000);
    assert.equal(capped.items[999].id, 'dev-0999');
    assert.equal((await s.store.listDevices({ limit: 5000, offset: 1000 })).items.length, 5);
  });
}
