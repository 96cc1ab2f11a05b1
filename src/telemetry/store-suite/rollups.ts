import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DataPoint, TelemetryValue } from '../model.js';
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

const BUCKETS = [1000, MINUTE, 5 * MINUTE, HOUR, DAY, 7 * DAY];
const SPAN = 3 * DAY;
const KEYS = ['m', 'n'];

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Three days of irregular points: `n` numbers, `m` numbers, booleans and strings. */
function dataset(rand: () => number): DataPoint[] {
  const points: DataPoint[] = [];
  for (let ts = T0 + 3_000; ts < T0 + SPAN; ts += 1000 + Math.floor(rand() * 60_000)) {
    points.push(point('n', ts, Math.round((rand() - 0.5) * 1e6) / 100));
    const r = rand();
    const mixed: TelemetryValue = r < 0.1 ? r < 0.05 : r < 0.2 ? `s${ts}` : rand() * 100 - 50;
    points.push(point('m', ts + Math.floor(rand() * 900), mixed));
  }
  return points;
}

/** Batches of random sizes in random order: later batches land in buckets already rolled up. */
function shuffledBatches(points: readonly DataPoint[], rand: () => number): DataPoint[][] {
  const batches: DataPoint[][] = [];
  for (let i = 0; i < points.length;) {
    const size = 1 + Math.floor(rand() * 800);
    batches.push(points.slice(i, i + size));
    i += size;
  }
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [batches[i], batches[j]] = [batches[j], batches[i]];
  }
  return batches;
}

/** A range inside the data, its ends on whole seconds, minutes, hours or days, or on none. */
function randomRange(rand: () => number): [number, number] {
  const grain = [1, 1000, MINUTE, HOUR, DAY][Math.floor(rand() * 5)];
  const a = T0 - HOUR + Math.floor((rand() * (SPAN + 2 * HOUR)) / grain) * grain;
  const b = T0 - HOUR + Math.floor((rand() * (SPAN + 2 * HOUR)) / grain) * grain;
  return a <= b ? [a, b + grain] : [b, a + grain];
}

export function rollupTests(ctx: SuiteContext): void {
  /** Every function and bucket size over random ranges: the store (rollups + raw) against the raw reference. */
  const assertMatchesRaw = async (stored: readonly DataPoint[], rand: () => number, ranges: number) => {
    for (const bucketMs of BUCKETS) {
      const fixed: [number, number][] = [
        [T0 - 7 * DAY, T0 + 14 * DAY],
        [T0 + 12_345, T0 + SPAN - 54_321],
      ];
      const all = [...fixed, ...Array.from({ length: ranges }, () => randomRange(rand))];
      for (const [from, to] of all) {
        // Second buckets over days would be slow to compare: at most ~3,000 of them.
        if ((to - from) / bucketMs > 3_000) continue;
        for (const fn of FNS) {
          const q = { keys: KEYS, from, to, bucketMs, fn };
          assertBuckets(
            await ctx.store.aggregate({ seriesId: 'd1', ...q }),
            referenceAggregate(stored, q),
            `${fn} per ${bucketMs} ms over [${from - T0}, ${to - T0}) from T0`,
          );
        }
      }
    }
  };

  it('answers like the raw points for random ranges, after out-of-order batches and late points', async () => {
    const rand = random(20261122);
    const points = dataset(rand);
    for (const batch of shuffledBatches(points, rand)) await ctx.store.write(batch);
    // Late points, each into a bucket already rolled up: before its first
    // point, after its last, and in between (and a new smallest and largest value).
    const late = [
      point('n', T0 + 1000, -1e6),
      point('n', T0 + HOUR + 59 * MINUTE + 59_999, 1e6),
      point('m', T0 + 2 * HOUR + 30 * MINUTE + 7, 'late'),
      point('m', T0 + 5 * HOUR + 1, true),
    ];
    await ctx.store.write(late);
    await assertMatchesRaw([...points, ...late], rand, 6);
  });

  it('stays equal to the raw points after replaced points and deletes', async () => {
    const rand = random(7);
    const points = dataset(rand);
    await ctx.store.write(points);
    const others = points.slice(0, 500).map((p) => ({ ...p, seriesId: 'd2', tenantId: 't2' }));
    await ctx.store.write(others);
    // Replacements: a value that was the bucket's minimum, first or last may change.
    const replaced = points.filter((_, i) => i % 53 === 0).map((p) => ({ ...p, value: -p.ts / 1e10 }));
    await ctx.store.write(replaced);
    const byId = new Map(points.map((p) => [`${p.key}/${p.ts}`, p]));
    for (const p of replaced) byId.set(`${p.key}/${p.ts}`, p);
    let stored = [...byId.values()];
    await assertMatchesRaw(stored, rand, 2);

    // One key at an unaligned cutoff, then the rest of the tenant at another.
    const keyCut = T0 + DAY + 7 * HOUR + 13 * MINUTE + 17_123;
    const tenantCut = T0 + 19 * HOUR + 59 * MINUTE + 999;
    const removedKey = await ctx.store.deleteBefore({ tenantId: 't1', key: 'm' }, keyCut);
    const removedRest = await ctx.store.deleteBefore({ tenantId: 't1', exceptKeys: ['m'] }, tenantCut);
    const remaining = stored.filter((p) => p.ts >= (p.key === 'm' ? keyCut : tenantCut));
    assert.equal(removedKey + removedRest, stored.length - remaining.length);
    stored = remaining;
    await assertMatchesRaw(stored, rand, 2);

    // The other tenant's series is untouched; a deleted series leaves no rollup behind.
    const q = { keys: ['m', 'n'], from: T0, to: T0 + SPAN, bucketMs: DAY, fn: 'count' as const };
    assertBuckets(await ctx.store.aggregate({ seriesId: 'd2', ...q }), referenceAggregate(others, q), 'd2');
    assert.equal(await ctx.store.deleteSeries('d1'), stored.length);
    for (const bucketMs of [MINUTE, HOUR, DAY]) {
      assert.deepEqual(
        await ctx.store.aggregate({ seriesId: 'd1', ...q, bucketMs }),
        [],
        `d1 per ${bucketMs}`,
      );
    }
    // Written again, the series starts from nothing.
    await ctx.store.write([point('n', T0 + HOUR, 5)]);
    assert.deepEqual(await ctx.store.aggregate({ seriesId: 'd1', ...q, fn: 'sum' }), [
      { key: 'n', ts: T0, value: 5, count: 1 },
    ]);
  });
}
