import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DataPoint } from '../model.js';
import { allPages, point, T0, type SuiteContext } from './fixtures.js';

const stamp = (p: DataPoint) => `${p.ts}/${p.key}`;

export function queryTests(ctx: SuiteContext): void {
  const seed = () =>
    ctx.store.write([
      point('b', T0, 1),
      point('a', T0, 2),
      point('a', T0 + 1000, 3),
      point('c', T0 + 1000, 'x'),
      point('b', T0 + 2000, false),
      point('a', T0 + 3000, 4),
      point('a', T0 + 1000, 9, { seriesId: 'd2' }),
    ]);

  it('returns points from `from` (inclusive) to `to` (exclusive) in (ts, key) order', async () => {
    await seed();
    const { points, next } = await ctx.store.query({ seriesId: 'd1', from: T0 + 1000, to: T0 + 3000 });
    assert.deepEqual(points.map(stamp), [`${T0 + 1000}/a`, `${T0 + 1000}/c`, `${T0 + 2000}/b`]);
    assert.equal(next, undefined);
    assert.deepEqual(points[0], point('a', T0 + 1000, 3));
  });

  it('filters by keys and orders both ways', async () => {
    await seed();
    const asc = await ctx.store.query({ seriesId: 'd1', keys: ['a', 'b'], from: T0, to: T0 + 10_000 });
    assert.deepEqual(asc.points.map(stamp), [
      `${T0}/a`,
      `${T0}/b`,
      `${T0 + 1000}/a`,
      `${T0 + 2000}/b`,
      `${T0 + 3000}/a`,
    ]);
    const desc = await ctx.store.query({ seriesId: 'd1', from: T0, to: T0 + 10_000, order: 'desc' });
    assert.deepEqual(desc.points.map(stamp), [
      `${T0 + 3000}/a`,
      `${T0 + 2000}/b`,
      `${T0 + 1000}/c`,
      `${T0 + 1000}/a`,
      `${T0}/b`,
      `${T0}/a`,
    ]);
    const none = await ctx.store.query({ seriesId: 'd1', keys: ['zz'], from: T0, to: T0 + 10_000 });
    assert.deepEqual(none.points, []);
  });

  it('pages through 2,500 points with limit 1000 without duplicates or gaps, both ways', async () => {
    const points: DataPoint[] = [];
    // Pairs of keys share times, so a page boundary falls between equal times.
    for (let i = 0; i < 2500; i++) points.push(point(i % 2 ? 'x' : 'y', T0 + Math.floor(i / 2) * 1000, i));
    await ctx.store.write(points);
    const expected = [...points].sort((a, b) => a.ts - b.ts || (a.key < b.key ? -1 : 1)).map(stamp);
    for (const order of ['asc', 'desc'] as const) {
      const { points: read, pages } = await allPages(ctx.store, {
        seriesId: 'd1',
        from: T0,
        to: T0 + 10_000_000,
        limit: 1000,
        order,
      });
      assert.equal(pages, 3, order);
      assert.deepEqual(read.map(stamp), order === 'asc' ? expected : [...expected].reverse(), order);
    }
    const first = await ctx.store.query({ seriesId: 'd1', from: T0, to: T0 + 10_000_000 });
    assert.equal(first.points.length, 1000, 'default limit');
    assert.ok(first.next);
    const oneKey = await allPages(ctx.store, {
      seriesId: 'd1',
      keys: ['x'],
      from: T0,
      to: T0 + 1e7,
      limit: 300,
    });
    assert.equal(oneKey.points.length, 1250);
    assert.equal(oneKey.pages, 5);
  });

  it('refuses a cursor it did not make', async () => {
    await assert.rejects(ctx.store.query({ seriesId: 'd1', from: T0, to: T0 + 1, cursor: 'nonsense' }), {
      code: 'INVALID_INPUT',
    });
  });
}
