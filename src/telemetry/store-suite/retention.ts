import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DataPoint } from '../model.js';
import { HOUR, MINUTE, point, T0, type SuiteContext } from './fixtures.js';

/** Every 10 s for 3 hours, keys a and b, series d1 (tenant t1) and d2 (tenant t2). */
function seed(): DataPoint[] {
  const points: DataPoint[] = [];
  for (let ts = T0; ts < T0 + 3 * HOUR; ts += 10_000) {
    points.push(
      point('a', ts, 1),
      point('b', ts, 'x'),
      point('a', ts, 2, { seriesId: 'd2', tenantId: 't2' }),
    );
  }
  return points;
}

export function retentionTests(ctx: SuiteContext): void {
  const count = async (seriesId: string, key: string, bucketMs: number, from = T0) =>
    (
      await ctx.store.aggregate({ seriesId, keys: [key], from, to: T0 + 3 * HOUR, bucketMs, fn: 'count' })
    ).reduce((n, b) => n + b.count, 0);

  it('removes exactly the points before the cutoff, for one tenant', async () => {
    await ctx.store.write(seed());
    // An unaligned cutoff: the rollup buckets it falls in keep their later points.
    const cutoff = T0 + HOUR + 25 * MINUTE + 5_000;
    const removed = await ctx.store.deleteBefore({ tenantId: 't1' }, cutoff);
    const before = Math.ceil((cutoff - T0) / 10_000);
    assert.equal(removed, 2 * before);
    const { points } = await ctx.store.query({
      seriesId: 'd1',
      keys: ['a'],
      from: 0,
      to: T0 + 1e9,
      limit: 100_000,
    });
    assert.equal(points[0].ts, T0 + before * 10_000);
    for (const bucketMs of [MINUTE, HOUR, 3 * HOUR]) {
      assert.equal(await count('d1', 'a', bucketMs), 1080 - before, `a per ${bucketMs}`);
      assert.equal(await count('d1', 'b', bucketMs), 1080 - before, `b per ${bucketMs}`);
      assert.equal(await count('d2', 'a', bucketMs), 1080, `other tenant per ${bucketMs}`);
    }
    assert.deepEqual(await ctx.store.latest('d1', ['a']), [
      { key: 'a', ts: T0 + 3 * HOUR - 10_000, value: 1 },
    ]);
  });

  it('removes the points of one key only', async () => {
    await ctx.store.write(seed());
    assert.equal(await ctx.store.deleteBefore({ tenantId: 't1', key: 'b' }, T0 + HOUR), 360);
    assert.equal(await count('d1', 'a', HOUR), 1080);
    assert.equal(await count('d1', 'b', HOUR), 720);
    assert.equal(await count('d1', 'b', MINUTE), 720);
    assert.equal(await ctx.store.deleteBefore({ tenantId: 'nobody' }, T0 + 3 * HOUR), 0);
  });

  it('spares the exceptKeys of a tenant-wide delete', async () => {
    await ctx.store.write(seed());
    assert.equal(await ctx.store.deleteBefore({ tenantId: 't1', exceptKeys: ['b'] }, T0 + HOUR), 360);
    assert.equal(await count('d1', 'a', HOUR), 720);
    assert.equal(await count('d1', 'a', MINUTE), 720);
    assert.equal(await count('d1', 'b', HOUR), 1080);
    assert.equal(await count('d2', 'a', HOUR), 1080);
    assert.equal(await ctx.store.deleteBefore({ tenantId: 't1', exceptKeys: ['a', 'b'] }, T0 + 2 * HOUR), 0);
  });

  it('deletes a whole series', async () => {
    await ctx.store.write(seed());
    assert.equal(await ctx.store.deleteSeries('d1'), 2160);
    assert.deepEqual(await ctx.store.keys('d1'), []);
    assert.deepEqual(await ctx.store.latest('d1'), []);
    assert.equal(await count('d1', 'a', HOUR), 0);
    assert.equal((await ctx.store.query({ seriesId: 'd1', from: 0, to: T0 + 1e9 })).points.length, 0);
    assert.equal(await count('d2', 'a', HOUR), 1080);
  });
}
