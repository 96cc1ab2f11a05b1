import assert from 'node:assert/strict';
import { it } from 'node:test';
import { append, entry, newChannel, T0, type SuiteContext } from './fixtures.js';

const all = (over: Record<string, string | null>) => ({
  field1: null,
  field2: null,
  field3: null,
  field4: null,
  field5: null,
  field6: null,
  field7: null,
  field8: null,
  ...over,
});

export function entryTests(ctx: SuiteContext): void {
  it('appends with consecutive entry ids and records the update time', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const e1 = await append(
      ctx.store,
      entry(c.id, T0, { field1: '1.5' }, { status: 'ok', latitude: 1 }),
      T0 + 7,
    );
    assert.deepEqual(e1, {
      ...entry(c.id, T0, all({ field1: '1.5' }), { status: 'ok', latitude: 1 }),
      entryId: 1,
    });
    const e2 = await append(ctx.store, entry(c.id, T0 + 1000, { field2: 'x' }), T0 + 8);
    assert.equal(e2.entryId, 2);
    const after = await ctx.store.getChannel(c.id);
    assert.equal(after?.lastEntryId, 2);
    assert.equal(after?.lastUpdateAt, T0 + 8);
    assert.deepEqual(await ctx.store.getEntry(c.id, 1), e1);
    assert.deepEqual(await ctx.store.lastEntry(c.id), e2);
    assert.deepEqual(await ctx.store.lastFieldEntry(c.id, 1), e1);
    assert.equal(await ctx.store.lastFieldEntry(c.id, 3), undefined);
  });

  it('refuses a created_at already used in the channel, and a missing channel', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const d = await ctx.store.createChannel(newChannel());
    await append(ctx.store, entry(c.id, T0, { field1: '1' }), T0);
    await assert.rejects(append(ctx.store, entry(c.id, T0, { field1: '2' }), T0), {
      code: 'CONFLICT',
      context: { field: 'created_at', createdAt: T0 },
    });
    await append(ctx.store, entry(d.id, T0, { field1: '3' }), T0);
    assert.equal((await ctx.store.getChannel(c.id))?.lastEntryId, 1);
    await assert.rejects(append(ctx.store, entry(d.id + 1000, T0, {}), T0), { code: 'NOT_FOUND' });
  });

  it('gives concurrent appends consecutive ids, and one failing append fails alone', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const results = await Promise.allSettled([
      append(ctx.store, entry(c.id, T0, { field1: 'a' }), T0),
      append(ctx.store, entry(c.id, T0, { field1: 'duplicate time' }), T0),
      append(ctx.store, entry(c.id, T0 + 1, { field1: 'b' }), T0 + 1),
      append(ctx.store, entry(c.id, T0 + 2, { field1: 'c' }), T0 + 2),
    ]);
    // Concurrent appends may commit in any order (PostgreSQL: several connections), so either of
    // the two at T0 may be the one refused; the ids of the others are consecutive.
    const ids = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.entryId] : []));
    assert.deepEqual(ids.sort(), [1, 2, 3]);
    const refused = results.flatMap((r, i) =>
      r.status === 'rejected' ? [[i, (r.reason as { code?: string }).code]] : [],
    );
    assert.equal(refused.length, 1);
    const [[loser, code]] = refused;
    assert.ok(loser === 0 || loser === 1, `append ${loser} was refused`);
    assert.equal(code, 'CONFLICT');
    assert.deepEqual(
      (await ctx.store.entries({ channelId: c.id, limit: 10 })).map((e) => e.fields.field1).sort(),
      [loser === 0 ? 'duplicate time' : 'a', 'b', 'c'].sort(),
    );
  });

  it('appends a group: each append succeeds or fails alone, outcomes in order', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const d = await ctx.store.createChannel(newChannel());
    await append(ctx.store, entry(c.id, T0, { field1: 'a' }), T0);
    const outcomes = await ctx.store.appendGroup([
      { entry: entry(c.id, T0 + 1000, { field1: 'b' }), at: T0 + 1, merge: false },
      { entry: entry(d.id, T0, { field1: 'x' }), at: T0 + 2, merge: false },
      { entry: entry(c.id, T0, { field1: 'duplicate time' }), at: T0 + 3, merge: false },
      { entry: entry(d.id + 1000, T0, { field1: 'no channel' }), at: T0 + 4, merge: false },
      { entry: entry(c.id, T0 + 2000, { field1: 'c' }), at: T0 + 5, merge: false },
    ]);
    const summary = outcomes.map((o) =>
      'value' in o ? o.value.entryId : (o.error as { code?: string }).code,
    );
    // PostgreSQL writes a group's appends on several connections: ids follow their commit order there.
    assert.deepEqual(summary.slice(1, 4), [1, 'CONFLICT', 'NOT_FOUND']);
    assert.deepEqual([summary[0], summary[4]].sort(), [2, 3]);
    assert.equal((await ctx.store.getChannel(c.id))?.lastEntryId, 3);
    assert.equal((await ctx.store.getChannel(d.id))?.lastUpdateAt, T0 + 2);
    assert.deepEqual(
      (await ctx.store.entries({ channelId: c.id, limit: 10 })).map((e) => e.fields.field1).sort(),
      ['a', 'b', 'c'],
    );
  });

  it('gives every channel gapless entry ids under many concurrent groups', async () => {
    const channels = await Promise.all(
      Array.from({ length: 8 }, () => ctx.store.createChannel(newChannel())),
    );
    // 10 groups of 64 at once (the group commit has one in flight), each with one append at a used
    // time, which must fail alone.
    const groups = Array.from({ length: 10 }, (_, g) => [
      ...Array.from({ length: 64 }, (_, i) => {
        const n = g * 64 + i;
        const c = channels[n % channels.length];
        return { entry: entry(c.id, T0 + n, { field1: String(n) }), at: T0 + n, merge: false };
      }),
      { entry: entry(channels[0].id, T0, { field1: 'taken' }), at: T0, merge: false },
    ]);
    const outcomes = (await Promise.all(groups.map((g) => ctx.store.appendGroup(g)))).flat();
    const failed = outcomes.filter((o) => 'error' in o).map((o) => (o.error as { code?: string }).code);
    // Exactly one of the 11 appends at T0 wins (on PostgreSQL not necessarily the first group's).
    assert.deepEqual(failed, Array<string>(10).fill('CONFLICT'));
    let total = 0;
    for (const c of channels) {
      const stored = await ctx.store.entries({ channelId: c.id, limit: 1000 });
      total += stored.length;
      assert.deepEqual(
        stored.map((e) => e.entryId),
        Array.from({ length: stored.length }, (_, i) => i + 1),
        `channel ${c.id}: ids 1..n in order`,
      );
      assert.equal((await ctx.store.getChannel(c.id))?.lastEntryId, stored.length);
    }
    assert.equal(total, 640, 'every append but the refused ones');
  });

  it('merges into the entry at the same created_at, else appends', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const first = await append(ctx.store, entry(c.id, T0, { field1: '1', field2: 'a' }), T0, true);
    assert.equal(first.entryId, 1);
    const merged = await append(
      ctx.store,
      entry(c.id, T0, { field2: 'b', field3: 'c' }, { status: 'ok' }),
      T0 + 1,
      true,
    );
    assert.deepEqual(merged, {
      ...entry(c.id, T0, all({ field1: '1', field2: 'b', field3: 'c' }), { status: 'ok' }),
      entryId: 1,
    });
    assert.deepEqual(await ctx.store.getEntry(c.id, 1), merged);
    assert.equal((await ctx.store.getChannel(c.id))?.lastEntryId, 1);
    const next = await append(ctx.store, entry(c.id, T0 + 1000, { field1: '2' }), T0 + 2, true);
    assert.equal(next.entryId, 2);
    assert.equal((await ctx.store.getChannel(c.id))?.lastEntryId, 2);
    assert.equal((await append(ctx.store, entry(c.id, T0 + 2000, { field1: '3' }), T0 + 3)).entryId, 3);
    await assert.rejects(append(ctx.store, entry(c.id + 1000, T0, {}), T0, true), { code: 'NOT_FOUND' });
  });

  it('appends many all or nothing', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const many = await ctx.store.appendEntries(
      [entry(c.id, T0, { field1: '1' }), entry(c.id, T0 + 1, { field1: '2' })],
      T0 + 5,
    );
    assert.deepEqual(
      many.map((e) => e.entryId),
      [1, 2],
    );
    await assert.rejects(
      ctx.store.appendEntries(
        [entry(c.id, T0 + 2, { field1: '3' }), entry(c.id, T0, { field1: '4' })],
        T0 + 6,
      ),
      { code: 'CONFLICT' },
    );
    assert.equal((await ctx.store.getChannel(c.id))?.lastEntryId, 2);
    assert.equal(await ctx.store.getEntry(c.id, 3), undefined);
  });

  it('returns the newest `limit` entries of a range, oldest first', async () => {
    const c = await ctx.store.createChannel(newChannel());
    for (let i = 0; i < 10; i++)
      await append(ctx.store, entry(c.id, T0 + i * 1000, { field1: String(i) }), T0);
    const ids = async (q: { from?: number; to?: number; limit: number }) =>
      (await ctx.store.entries({ channelId: c.id, ...q })).map((e) => e.entryId);
    assert.deepEqual(await ids({ limit: 3 }), [8, 9, 10]);
    assert.deepEqual(await ids({ from: T0 + 2000, to: T0 + 4000, limit: 100 }), [3, 4, 5]);
    assert.deepEqual(await ids({ to: T0 + 1000, limit: 100 }), [1, 2]);
  });

  it('clears entries and restarts entry ids at 1', async () => {
    const c = await ctx.store.createChannel(newChannel());
    await append(ctx.store, entry(c.id, T0, { field1: '1' }), T0);
    await append(ctx.store, entry(c.id, T0 + 1, { field1: '2' }), T0);
    await ctx.store.clearEntries(c.id);
    assert.equal((await ctx.store.getChannel(c.id))?.lastEntryId, 0);
    assert.deepEqual(await ctx.store.entries({ channelId: c.id, limit: 100 }), []);
    assert.equal((await append(ctx.store, entry(c.id, T0, { field1: '3' }), T0)).entryId, 1);
  });

  it('keeps a mirror mark per channel: forward only, never past the last entry, reset by a clear', async () => {
    const c = await ctx.store.createChannel(newChannel());
    const d = await ctx.store.createChannel(newChannel());
    for (let i = 0; i < 3; i++) await append(ctx.store, entry(c.id, T0 + i, { field1: `c${i}` }), T0);
    for (let i = 0; i < 2; i++) await append(ctx.store, entry(d.id, T0 + i, { field1: `d${i}` }), T0);
    // The suite's other channels have entries too: look at these two only.
    const unmirrored = async () =>
      (await ctx.store.unmirroredEntries(10_000))
        .filter((e) => e.channelId === c.id || e.channelId === d.id)
        .map((e) => `${e.channelId === c.id ? 'c' : 'd'}${e.entryId}:${e.fields.field1}`);
    assert.deepEqual(await unmirrored(), ['c1:c0', 'c2:c1', 'c3:c2', 'd1:d0', 'd2:d1']);
    await ctx.store.markMirrored(
      new Map([
        [c.id, 2],
        [d.id, 9],
      ]),
    );
    assert.deepEqual(await unmirrored(), ['c3:c2']);
    await ctx.store.markMirrored(new Map([[c.id, 1]]));
    await append(ctx.store, entry(d.id, T0 + 5, { field1: 'd5' }), T0);
    assert.deepEqual(await unmirrored(), ['c3:c2', 'd3:d5']);
    await ctx.store.clearEntries(c.id);
    await append(ctx.store, entry(c.id, T0, { field1: 'again' }), T0);
    assert.deepEqual(await unmirrored(), ['c1:again', 'd3:d5']);
    assert.equal((await ctx.store.unmirroredEntries(1)).length, 1);
  });
}
