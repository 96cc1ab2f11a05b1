/**
 * Telemetry store measurement (not a test): `node dist/bench/telemetry-store.js`
 * after `npm run build`. On SQLite (synchronous=FULL, the default) it prints
 * write throughput in batches of 1,000 and 10,000 points, then loads 30 days of
 * 1-second data for one key (2.6 M points) and times an hourly aggregate over
 * the 30 days (p50/p95 of 20 runs) from the 1-hour rollup, aligned and with
 * unaligned edges (rollup middle + raw edges).
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Aggregation, DataPoint } from '../src/telemetry/model.js';
import { SqliteTelemetryStore } from '../src/telemetry/sqlite/telemetry-store.js';

const DAY = 86_400_000;
const T0 = 1_700_006_400_000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function writeRate(store: SqliteTelemetryStore, batch: number, total: number, key: string) {
  const start = performance.now();
  for (let i = 0; i < total; i += batch) {
    const points: DataPoint[] = [];
    for (let j = 0; j < batch; j++) {
      points.push({
        tenantId: 't1',
        seriesId: 'bench',
        key,
        ts: T0 + (i + j) * 1000,
        value: Math.sin(i + j) * 20,
      });
    }
    await store.write(points);
  }
  return total / ((performance.now() - start) / 1000);
}

async function timeAggregate(store: SqliteTelemetryStore, from: number, to: number, fn: Aggregation) {
  const times: number[] = [];
  let buckets = 0;
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    buckets = (await store.aggregate({ seriesId: 'bench', keys: ['v'], from, to, bucketMs: 3_600_000, fn }))
      .length;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { buckets, p50: percentile(times, 50), p95: percentile(times, 95) };
}

const dir = mkdtempSync(join(tmpdir(), 'halyard-bench-telemetry-'));
try {
  for (const synchronous of ['full', 'normal'] as const) {
    const store = SqliteTelemetryStore.open(join(dir, `rate-${synchronous}.db`), { synchronous });
    const r1k = await writeRate(store, 1_000, 200_000, 'a');
    const r10k = await writeRate(store, 10_000, 500_000, 'b');
    console.log(
      `sqlite synchronous=${synchronous}: ${Math.round(r1k)} points/s in batches of 1,000, ` +
        `${Math.round(r10k)} points/s in batches of 10,000`,
    );
    await store.close();
  }

  const store = SqliteTelemetryStore.open(join(dir, 'month.db'), { synchronous: 'normal' });
  const total = 30 * 86_400;
  const loadRate = await writeRate(store, 10_000, total, 'v');
  console.log(`loaded ${total} points (30 days at 1 s) at ${Math.round(loadRate)} points/s`);
  for (const fn of ['avg', 'max', 'last'] as const) {
    const aligned = await timeAggregate(store, T0, T0 + 30 * DAY, fn);
    console.log(
      `30 days → 1 h buckets, ${fn}, aligned (1 h rollup): ${aligned.buckets} buckets, ` +
        `p50 ${aligned.p50.toFixed(2)} ms, p95 ${aligned.p95.toFixed(2)} ms`,
    );
  }
  const edges = await timeAggregate(store, T0 + 1_234_567, T0 + 30 * DAY - 765_432, 'avg');
  console.log(
    `30 days → 1 h buckets, avg, unaligned (rollup + raw edges): ${edges.buckets} buckets, ` +
      `p50 ${edges.p50.toFixed(2)} ms, p95 ${edges.p95.toFixed(2)} ms`,
  );
  const median = await timeAggregate(store, T0, T0 + 30 * DAY, 'median');
  console.log(
    `30 days → 1 h buckets, median (raw): p50 ${median.p50.toFixed(0)} ms, p95 ${median.p95.toFixed(0)} ms`,
  );
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
