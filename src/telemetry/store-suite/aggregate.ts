import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataPoint } from '../model.js';
import {
  AGGREGATIONS as FNS,
  assertBuckets,
  DAY,
  HOUR,
  MINUTE,
  point,
  referenceAggregate,
  T0,
  type SuiteContext,
} from './fixtures.js';

const BUCKETS = [1000, 10_000, MINUTE, 5 * MINUTE, HOUR, DAY];
const SPAN = 2 * DAY;

/**
 * Two days of points every 37 s: `n` numbers (floats, negatives), `mixed`
 * numbers, booleans and strings, `s` strings only. Written in batches, with
 * some points replaced afterwards.
 */
function dataset(): { batches: DataPoint[][]; final: DataPoint[] } {
  const all: DataPoint[] = [];
  for (let ts = T0, i = 0; ts < T0 + SPAN; ts += 37_000, i++) {
    all.push(point('n', ts, Math.round(Math.sin(i) * 10_000) / 100));
    const mixed = i % 5 === 0 ? i % 2 === 0 : i % 7 === 0 ? `s${i}` : i * 0.1 - 50;
    all.push(point('mixed', ts + 13, mixed));
    if (i % 11 === 0) all.push(point('s', ts + 5, `v${i}`));
  }
  const batches: DataPoint[][] = [];
  for (let i = 0; i < all.length; i += 1777) batches.push(all.slice(i, i + 1777));
  const replacements = all.filter((_, i) => i % 97 === 0).map((p) => ({ ...p, value: 1000 + p.ts / 1e12 }));
  batches.push(replacements);
  const byId = new Map(all.map((p) => [`${p.key}/${p.ts}`, p]));
  for (const p of replacements) byId.set(`${p.key}/${p.ts}`, p);
  return { batches, final: [...byId.values()] };
}

export function aggregateTests(ctx: SuiteContext): void {
  const { batches, final } = dataset();
  const keys = ['mixed', 'n', 's'];
  const write = async () => {
    for (const b of batches) await ctx.store.write(b);
  };

  for (const [name, from, to] of [
    ['an aligned range (rollups)', T0, T0 + SPAN],
    ['an unaligned range (raw edges)', T0 + 12_345, T0 + SPAN - 54_321],
  ] as const) {
    it(`answers every function for every bucket size over ${name} as the raw points do`, async () => {
      await write();
      for (const bucketMs of BUCKETS) {
        for (const fn of FNS) {
          const q = { seriesId: 'd1', keys, from, to, bucketMs, fn };
          assertBuckets(
            await ctx.store.aggregate(q),
            referenceAggregate(final, q),
            `${fn} per ${bucketMs} ms`,
          );
        }
      }
    });
  }

  it('counts non-numeric values and gives null for numeric functions without numbers', async () => {
    await ctx.store.write([point('s', T0, 'a'), point('s', T0 + 1000, 'b'), point('s', T0 + MINUTE, true)]);
    const q = { seriesId: 'd1', keys: ['s'], from: T0, to: T0 + HOUR, bucketMs: MINUTE };
    assert.deepEqual(await ctx.store.aggregate({ ...q, fn: 'count' }), [
      { key: 's', ts: T0, value: 2, count: 2 },
      { key: 's', ts: T0 + MINUTE, value: 1, count: 1 },
    ]);
    assert.deepEqual(await ctx.store.aggregate({ ...q, fn: 'avg' }), [
      { key: 's', ts: T0, value: null, count: 2 },
      { key: 's', ts: T0 + MINUTE, value: 1, count: 1 },
    ]);
    assert.deepEqual(await ctx.store.aggregate({ ...q, fn: 'last' }), [
      { key: 's', ts: T0, value: 'b', count: 2 },
      { key: 's', ts: T0 + MINUTE, value: true, count: 1 },
    ]);
  });

  it('reads every key of the series when none are named; refuses a bucket under a second', async () => {
    await ctx.store.write([point('a', T0, 1), point('b', T0, 2)]);
    const all = await ctx.store.aggregate({
      seriesId: 'd1',
      keys: [],
      from: T0,
      to: T0 + HOUR,
      bucketMs: HOUR,
      fn: 'sum',
    });
    assert.deepEqual(
      all.map((b) => [b.key, b.value]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    await assert.rejects(
      ctx.store.aggregate({ seriesId: 'd1', keys: ['a'], from: T0, to: T0 + HOUR, bucketMs: 10, fn: 'sum' }),
      { code: 'INVALID_INPUT' },
    );
  });
}
