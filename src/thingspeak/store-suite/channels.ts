import assert from 'node:assert/strict';
import { it } from 'node:test';
import { append, newChannel, T0, type SuiteContext } from './fixtures.js';

export function channelTests(ctx: SuiteContext): void {
  it('assigns increasing ids and never reuses a deleted one', async () => {
    const a = await ctx.store.createChannel(newChannel());
    const b = await ctx.store.createChannel(newChannel());
    assert.ok(b.id > a.id);
    await ctx.store.deleteChannel(b.id);
    const c = await ctx.store.createChannel(newChannel());
    assert.ok(c.id > b.id);
  });

  it('round-trips every property', async () => {
    const input = newChannel({
      deviceId: 'd1',
      description: 'desc',
      metadata: '{"a":1}',
      tags: ['Home', 'lab'],
      url: 'https://example.com',
      latitude: 1.5,
      longitude: -2.25,
      elevation: 100,
      publicFlag: true,
      minUpdateIntervalSeconds: 15,
      lastUpdateAt: T0 + 5,
    });
    const created = await ctx.store.createChannel(input);
    assert.deepEqual(created, { ...input, id: created.id });
    assert.deepEqual(await ctx.store.getChannel(created.id), created);
    assert.equal(await ctx.store.getChannel(created.id + 1000), undefined);
  });

  it('lists by tenant, tag (any case) and public flag', async () => {
    const a = await ctx.store.createChannel(newChannel({ tags: ['Home'] }));
    const b = await ctx.store.createChannel(newChannel({ tenantId: 't2', publicFlag: true }));
    const ids = async (f: Parameters<typeof ctx.store.listChannels>[0]) =>
      (await ctx.store.listChannels(f)).map((c) => c.id);
    assert.deepEqual(await ids({}), [a.id, b.id]);
    assert.deepEqual(await ids({ tenantId: 't1' }), [a.id]);
    assert.deepEqual(await ids({ tag: 'home' }), [a.id]);
    assert.deepEqual(await ids({ publicOnly: true }), [b.id]);
  });

  it('updates a patch and leaves the rest', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const fields = { ...c.fields, field2: 'humidity' };
    const u = await ctx.store.updateChannel(c.id, { name: 'x', fields, publicFlag: true, deviceId: 'd9' });
    assert.deepEqual(u, { ...c, name: 'x', fields, publicFlag: true, deviceId: 'd9' });
    assert.deepEqual(await ctx.store.updateChannel(c.id, {}), u);
    assert.equal(await ctx.store.updateChannel(c.id + 1000, { name: 'y' }), undefined);
  });

  it('deletes a channel with its keys and entries', async () => {
    const c = await ctx.store.createChannel(newChannel());
    await ctx.store.addKey({ channelId: c.id, kind: 'write', keyHash: 'h1', sealed: 's', createdAt: T0 });
    await append(
      ctx.store,
      {
        channelId: c.id,
        createdAt: T0,
        fields: { field1: '1' },
        status: null,
        latitude: null,
        longitude: null,
        elevation: null,
      },
      T0,
    );
    assert.deepEqual(await ctx.store.deleteChannel(c.id), { ...c, lastEntryId: 1, lastUpdateAt: T0 });
    assert.equal(await ctx.store.deleteChannel(c.id), undefined);
    assert.equal(await ctx.store.findKey('h1'), undefined);
    assert.equal(await ctx.store.lastEntry(c.id), undefined);
  });

  it('keeps keys: find by hash, list, remove', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const w = { channelId: c.id, kind: 'write' as const, keyHash: 'hw', sealed: 'sw', createdAt: T0 };
    const r = { channelId: c.id, kind: 'read' as const, keyHash: 'hr', sealed: 'sr', createdAt: T0 + 1 };
    await ctx.store.addKey(w);
    await ctx.store.addKey(r);
    await assert.rejects(ctx.store.addKey(w), { code: 'CONFLICT' });
    await assert.rejects(ctx.store.addKey({ ...w, keyHash: 'hx', channelId: c.id + 1000 }), {
      code: 'NOT_FOUND',
    });
    assert.deepEqual(await ctx.store.findKey('hr'), r);
    assert.deepEqual(await ctx.store.listKeys(c.id), [w, r]);
    assert.equal(await ctx.store.removeKey(c.id, 'hr'), true);
    assert.equal(await ctx.store.removeKey(c.id, 'hr'), false);
    assert.equal(await ctx.store.findKey('hr'), undefined);
  });
}
