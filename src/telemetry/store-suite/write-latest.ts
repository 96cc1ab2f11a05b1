import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DataPoint } from '../model.js';
import { point, T0, type SuiteContext } from './fixtures.js';

const VALUES = [0.1, -42, 7, 1e300, -1.5e-7, true, false, 'héllo 🌡️ 温度', ''] as const;

export function writeLatestTests(ctx: SuiteContext): void {
  it('round-trips numbers, booleans and unicode strings', async () => {
    const points = VALUES.map((v, i) => point(`k${i}`, T0 + i, v));
    await ctx.store.write(points);
    const { points: read } = await ctx.store.query({ seriesId: 'd1', from: T0, to: T0 + 100 });
    assert.deepEqual(read, points);
    assert.deepEqual(
      await ctx.store.latest('d1'),
      points.map((p) => ({ key: p.key, ts: p.ts, value: p.value })),
    );
  });

  it('keeps the newest point as latest; an older point does not replace it', async () => {
    await ctx.store.write([point('temp', T0 + 1000, 21.5), point('hum', T0, 40)]);
    await ctx.store.write([point('temp', T0 + 500, 99)]);
    await ctx.store.write([point('temp', T0 + 2000, 22), point('temp', T0 + 1500, 23)]);
    assert.deepEqual(await ctx.store.latest('d1'), [
      { key: 'hum', ts: T0, value: 40 },
      { key: 'temp', ts: T0 + 2000, value: 22 },
    ]);
    assert.deepEqual(await ctx.store.latest('d1', ['temp']), [{ key: 'temp', ts: T0 + 2000, value: 22 }]);
    assert.deepEqual(await ctx.store.latest('other'), []);
    assert.deepEqual(await ctx.store.keys('d1'), ['hum', 'temp']);
  });

  it('replaces a point with the same series, key and time (rollups follow)', async () => {
    await ctx.store.write([point('temp', T0, 1), point('temp', T0 + 1000, 2), point('temp', T0 + 2000, 'x')]);
    await ctx.store.write([point('temp', T0 + 1000, 10)]);
    // Within one batch the last of two equal points wins.
    await ctx.store.write([point('temp', T0 + 2000, 5), point('temp', T0 + 2000, true)]);
    const { points } = await ctx.store.query({ seriesId: 'd1', from: T0, to: T0 + 3000 });
    assert.deepEqual(
      points.map((p) => p.value),
      [1, 10, true],
    );
    assert.deepEqual(await ctx.store.latest('d1'), [{ key: 'temp', ts: T0 + 2000, value: true }]);
    for (const bucketMs of [60_000, 3_600_000]) {
      const agg = (fn: 'sum' | 'count' | 'last' | 'max') =>
        ctx.store.aggregate({ seriesId: 'd1', keys: ['temp'], from: T0, to: T0 + bucketMs, bucketMs, fn });
      assert.deepEqual(await agg('sum'), [{ key: 'temp', ts: T0, value: 12, count: 3 }]);
      assert.deepEqual(await agg('max'), [{ key: 'temp', ts: T0, value: 10, count: 3 }]);
      assert.deepEqual(await agg('last'), [{ key: 'temp', ts: T0, value: true, count: 3 }]);
    }
  });

  it('writes 10,000 points in one call', async () => {
    const points: DataPoint[] = [];
    for (let i = 0; i < 10_000; i++)
      points.push(point(i % 2 ? 'a' : 'b', T0 + Math.floor(i / 2) * 1000, i / 4));
    await ctx.store.write(points);
    const count = await ctx.store.aggregate({
      seriesId: 'd1',
      keys: ['a', 'b'],
      from: T0,
      to: T0 + 86_400_000,
      bucketMs: 86_400_000,
      fn: 'count',
    });
    assert.deepEqual(
      count.map((b) => [b.key, b.value]),
      [
        ['a', 5000],
        ['b', 5000],
      ],
    );
    const { points: page } = await ctx.store.query({
      seriesId: 'd1',
      from: T0,
      to: T0 + 1e9,
      limit: 100_000,
    });
    assert.equal(page.length, 10_000);
  });

  it('an empty write does nothing; a non-finite number is refused', async () => {
    await ctx.store.write([]);
    await assert.rejects(ctx.store.write([point('a', T0, Number.NaN)]), { code: 'INVALID_INPUT' });
    assert.deepEqual(await ctx.store.keys('d1'), []);
  });

  it('keeps everything across a reopen', async (t) => {
    if (!ctx.reopen) return t.skip('the store keeps nothing');
    await ctx.store.write([point('a', T0, 1.5), point('b', T0 + 60_000, 'on')]);
    ctx.store = await ctx.reopen();
    assert.deepEqual(await ctx.store.latest('d1'), [
      { key: 'a', ts: T0, value: 1.5 },
      { key: 'b', ts: T0 + 60_000, value: 'on' },
    ]);
    const sum = await ctx.store.aggregate({
      seriesId: 'd1',
      keys: ['a'],
      from: T0,
      to: T0 + 3_600_000,
      bucketMs: 3_600_000,
      fn: 'sum',
    });
    assert.deepEqual(sum, [{ key: 'a', ts: T0, value: 1.5, count: 1 }]);
  });
}
