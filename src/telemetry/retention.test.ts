import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { silentLogger } from '../core/logger.js';
import type { Tenant } from '../registry/model.js';
import { SYSTEM_ACTOR } from '../registry/service.js';
import type { Aggregation, DataPoint } from './model.js';
import { DAY_MS, RetentionJob } from './retention.js';
import { SqliteTelemetryStore } from './sqlite/telemetry-store.js';
import type { DeleteScope } from './store.js';
import { allPages, assertBuckets, referenceAggregate, T0 } from './store-suite/fixtures.js';

const HOUR = 3_600_000;
/** Not aligned to any bucket, so cutoffs fall inside rollup buckets. */
const NOW = T0 + 40 * DAY_MS + 5 * HOUR + 7 * 60_000 + 3_000;
const KEYS = ['temp', 'debug', 'archive', 'forever'];

/** Every 110 minutes over the last 40 days, for each key, on two series per tenant. */
function seed(tenantIds: readonly string[]): DataPoint[] {
  const points: DataPoint[] = [];
  for (const tenantId of tenantIds) {
    for (const seriesId of [`${tenantId}-d1`, `${tenantId}-d2`]) {
      for (let ts = T0; ts < NOW; ts += 110 * 60_000) {
        KEYS.forEach((key, i) =>
          points.push({ tenantId, seriesId, key, ts, value: ((ts / 60_000) % 97) + i }),
        );
      }
    }
  }
  return points;
}

/** What retention must leave: the reference the store is compared with. */
function kept(points: readonly DataPoint[], tenants: readonly Tenant[]): DataPoint[] {
  const byId = new Map(tenants.map((t) => [t.id, t]));
  return points.filter((p) => {
    const t = byId.get(p.tenantId);
    if (!t) return true;
    const days = t.keyRetentionDays[p.key] ?? t.retentionDays;
    return days === 0 || p.ts >= NOW - days * DAY_MS;
  });
}

/**
 * Every rollup row is what its bucket's remaining raw points give, and no row
 * is left for a bucket without points: retention cut the rollups exactly.
 */
function assertRollupsMatchPoints(path: string): void {
  const db = new Database(path, { readonly: true });
  try {
    for (const [table, ms] of [
      ['rollup_1m', 60_000],
      ['rollup_1h', HOUR],
    ] as const) {
      const stored = db
        .prepare(`SELECT series_id, key, bucket_ts, n, min_v, max_v, first_ts, last_ts, sum_v FROM ${table}`)
        .all() as Record<string, unknown>[];
      const expected = db
        .prepare(
          `SELECT series_id, key, ts - ts % ? AS bucket_ts, count(*) AS n, min(value_num) AS min_v,
                  max(value_num) AS max_v, min(ts) AS first_ts, max(ts) AS last_ts, total(value_num) AS sum_v
             FROM points JOIN series_keys ON series_keys.id = points.sk GROUP BY series_id, key, bucket_ts`,
        )
        .all(ms) as Record<string, unknown>[];
      const id = (r: Record<string, unknown>) =>
        `${String(r.series_id)}/${String(r.key)}/${Number(r.bucket_ts)}`;
      const byId = new Map(stored.map((r) => [id(r), r]));
      assert.equal(stored.length, expected.length, `${table}: rows`);
      for (const e of expected) {
        const r = byId.get(id(e));
        assert.ok(r, `${table}: ${id(e)} missing`);
        const { sum_v: sum, ...rest } = r;
        const { sum_v: expectedSum, ...expectedRest } = e;
        assert.deepEqual(rest, expectedRest, `${table}: ${id(e)}`);
        assert.ok(Math.abs(Number(sum) - Number(expectedSum)) < 1e-6, `${table}: ${id(e)} sum`);
      }
    }
  } finally {
    db.close();
  }
}

describe('RetentionJob', () => {
  let reg: TestRegistry;
  let store: SqliteTelemetryStore;
  let job: RetentionJob;
  let dbPath: string;

  beforeEach(async () => {
    reg = await openTestRegistry({ now: () => NOW });
    dbPath = join(tempDir('halyard-retention-'), 'telemetry.db');
    store = SqliteTelemetryStore.open(dbPath, {
      synchronous: 'normal',
    });
    job = new RetentionJob({ registry: reg.registry, store, logger: silentLogger(), now: () => NOW });
  });
  afterEach(async () => {
    await job.stop();
    await store.close();
    await reg.close();
  });

  /**
   * Every other point folded (in points and the rollups), the rest recent, so
   * both tables hold points on both sides of every cutoff.
   */
  const writeFoldedAndRecent = async (points: DataPoint[]) => {
    await store.write(points.filter((_, i) => i % 2 === 0));
    await store.foldRecent();
    await store.write(points.filter((_, i) => i % 2 === 1));
  };

  const stored = async (seriesId: string) =>
    (await allPages(store, { seriesId, from: 0, to: NOW + DAY_MS, limit: 10_000 })).points;

  it('removes exactly the points past each retention, per-key overrides first, and nothing else', async () => {
    const r = reg.registry;
    await r.createTenant(SYSTEM_ACTOR, {
      id: 'acme',
      name: 'Acme',
      retentionDays: 10,
      // Shorter, longer, and "forever" overrides of the tenant's 10 days.
      keyRetentionDays: { debug: 2, archive: 30, forever: 0 },
    });
    await r.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex' });
    await r.createTenant(SYSTEM_ACTOR, { id: 'initech', name: 'Initech', retentionDays: 3 });
    // Overrides only: the tenant keeps everything else.
    await r.createTenant(SYSTEM_ACTOR, { id: 'hooli', name: 'Hooli', keyRetentionDays: { debug: 1 } });
    const tenants = await r.listTenants(SYSTEM_ACTOR);
    const points = seed(['acme', 'globex', 'initech', 'hooli', 'unknown']);
    await writeFoldedAndRecent(points);
    const expected = kept(points, tenants);

    const pass = await job.runOnce();
    assert.deepEqual(pass, { tenants: 3, pointsDeleted: points.length - expected.length });

    for (const tenantId of ['acme', 'globex', 'initech', 'hooli', 'unknown']) {
      for (const seriesId of [`${tenantId}-d1`, `${tenantId}-d2`]) {
        const want = expected
          .filter((p) => p.seriesId === seriesId)
          .sort((a, b) => a.ts - b.ts || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        assert.deepEqual(await stored(seriesId), want, seriesId);
      }
    }
    // Sanity on the reference itself: each rule cut something, or kept everything.
    const count = (tenantId: string, key: string) =>
      expected.filter((p) => p.tenantId === tenantId && p.key === key && p.seriesId.endsWith('d1')).length;
    const all = points.filter((p) => p.seriesId === 'acme-d1' && p.key === 'temp').length;
    assert.ok(count('acme', 'debug') < count('acme', 'temp'));
    assert.ok(count('acme', 'temp') < count('acme', 'archive'));
    assert.ok(count('acme', 'archive') < all);
    assert.equal(count('acme', 'forever'), all);
    assert.equal(count('globex', 'temp'), all);
    assert.equal(count('hooli', 'temp'), all);
    assert.ok(count('hooli', 'debug') < all);

    // A second pass at the same time finds nothing more.
    assert.deepEqual(await job.runOnce(), { tenants: 3, pointsDeleted: 0 });
    await store.foldRecent();
    assertRollupsMatchPoints(dbPath);
  });

  it('leaves aggregates that match the remaining raw points', async () => {
    await reg.registry.createTenant(SYSTEM_ACTOR, {
      id: 'acme',
      name: 'Acme',
      retentionDays: 7,
      keyRetentionDays: { debug: 1, archive: 20 },
    });
    const points = seed(['acme']);
    await writeFoldedAndRecent(points);
    await job.runOnce();
    const remaining = kept(points, await reg.registry.listTenants(SYSTEM_ACTOR));
    const fns: Aggregation[] = ['count', 'sum', 'avg', 'min', 'max', 'first', 'last'];
    for (const bucketMs of [60_000, HOUR, DAY_MS, 7 * DAY_MS]) {
      for (const fn of fns) {
        const q = { keys: KEYS, from: T0 - 7 * DAY_MS, to: NOW + DAY_MS, bucketMs, fn };
        const want = referenceAggregate(
          remaining.filter((p) => p.seriesId === 'acme-d1'),
          q,
        );
        assertBuckets(await store.aggregate({ seriesId: 'acme-d1', ...q }), want, `${fn} per ${bucketMs}`);
      }
    }
  });

  it('applies a retention changed through the registry on the next pass, and keeps latest values', async () => {
    const r = reg.registry;
    await r.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    const points = seed(['acme']);
    await store.write(points);
    assert.deepEqual(await job.runOnce(), { tenants: 0, pointsDeleted: 0 });
    assert.equal((await stored('acme-d1')).length, points.length / 2);

    await r.updateTenant(SYSTEM_ACTOR, 'acme', { retentionDays: 1 });
    const pass = await job.runOnce();
    const remaining = await stored('acme-d1');
    assert.ok(remaining.every((p) => p.ts >= NOW - DAY_MS));
    assert.equal(pass.pointsDeleted, points.length - 2 * remaining.length);
    assert.deepEqual((await store.latest('acme-d1')).map((l) => l.key).sort(), [...KEYS].sort());
  });

  it('runs on start, then every interval, and stop waits for a pass under way', async () => {
    await reg.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme', retentionDays: 1 });
    await store.write(seed(['acme']));
    let passes = 0;
    const counting = new RetentionJob({
      registry: {
        listTenants: async (actor) => {
          passes++;
          return reg.registry.listTenants(actor);
        },
      },
      store,
      logger: silentLogger(),
      intervalMs: 20,
      now: () => NOW,
    });
    counting.start();
    const deadline = Date.now() + 5_000;
    while (passes < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await counting.stop();
    assert.ok(passes >= 3, `${passes} passes`);
    const after = passes;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(passes, after, 'no pass after stop');
    assert.ok((await stored('acme-d1')).every((p) => p.ts >= NOW - DAY_MS));
  });

  it('goes on with the other tenants when one fails', async () => {
    await reg.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme', retentionDays: 1 });
    await reg.registry.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex', retentionDays: 1 });
    await store.write(seed(['acme', 'globex']));
    const failing = new RetentionJob({
      registry: reg.registry,
      store: new Proxy(store, {
        get(target, prop) {
          if (prop === 'deleteBefore') {
            return (scope: DeleteScope, before: number) =>
              scope.tenantId === 'acme'
                ? Promise.reject(new Error('disk on fire'))
                : target.deleteBefore(scope, before);
          }
          const value: unknown = Reflect.get(target, prop);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
      logger: silentLogger(),
      now: () => NOW,
    });
    const pass = await failing.runOnce();
    assert.equal(pass.tenants, 2);
    assert.ok(pass.pointsDeleted > 0);
    assert.ok((await stored('globex-d1')).every((p) => p.ts >= NOW - DAY_MS));
    assert.ok((await stored('acme-d1')).some((p) => p.ts < NOW - DAY_MS));
  });
});
