/**
 * Telemetry store measurement (not a test): `node dist/bench/telemetry-store.js
 * [--no-postgres]` after `npm run build`.
 *
 * 1. SQLite write throughput (synchronous=FULL and NORMAL) in batches of 1,000
 *    and 10,000 points of one key, and in the MQTT ingest's shape (1,000
 *    devices × 10 keys × 5 points a batch), through the store (its recent
 *    points folded at the end) and, for comparison, as plain INSERTs of the
 *    same points and latest values into the points table, without rollups:
 *    what the store's layout costs or saves against the bare minimum.
 * 2. On SQLite and on a throw-away PostgreSQL cluster (bench/lib/postgres.ts,
 *    default durability, pinned to CPU 0): loads 30 days of 1-second data for
 *    one key (2.6 M points) through the store's write path, then times hourly
 *    aggregates over the 30 days (p50/p95 of 20 runs): aligned (the 1-hour
 *    rollup), with unaligned edges (rollups + raw edges), and median over one
 *    day (raw points; median is refused beyond MEDIAN_MAX_POINTS).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Aggregation, DataPoint } from '../src/telemetry/model.js';
import { PostgresTelemetryStore } from '../src/telemetry/postgres/telemetry-store.js';
import { encodeValue } from '../src/telemetry/sql/codec.js';
import { SqliteTelemetryStore } from '../src/telemetry/sqlite/telemetry-store.js';
import type { TelemetryStore } from '../src/telemetry/store.js';
import { startPostgres } from './lib/postgres.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = 1_700_006_400_000;
const MONTH_POINTS = 30 * 86_400;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const rate = (points: number, startMs: number) => Math.round(points / ((performance.now() - startMs) / 1000));
const fmt = (x: number) => x.toLocaleString('en-US');

/** `total` points of one key, one a second, written in batches of `batch`. */
async function writeRate(store: TelemetryStore, batch: number, total: number, key: string) {
  const start = performance.now();
  for (let i = 0; i < total; i += batch) {
    const points: DataPoint[] = [];
    for (let j = 0; j < batch && i + j < total; j++) {
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
  return rate(total, start);
}

/** The ingest's batches: 1,000 devices × 10 keys × 5 messages 100 ms apart. */
function ingestBatches(count: number): DataPoint[][] {
  const batches: DataPoint[][] = [];
  for (let b = 0; b < count; b++) {
    const points: DataPoint[] = [];
    for (let d = 0; d < 1000; d++) {
      for (let m = 0; m < 5; m++) {
        const ts = T0 + (b * 5 + m) * 100 + d;
        for (let k = 0; k < 10; k++) {
          points.push({ tenantId: 't1', seriesId: `dev-${d}`, key: `k${k}`, ts, value: k + m / 4 });
        }
      }
    }
    batches.push(points);
  }
  return batches;
}

/** The same rows as the store writes for points and latest values, without rollups. */
function writeWithoutRollups(path: string, batches: DataPoint[][]): number {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const insert = db.prepare(
    `INSERT INTO points (sk, ts, value_type, value_num, value_text) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  );
  const newSeriesKey = db
    .prepare('INSERT INTO series_keys (series_id, key) VALUES (?, ?) RETURNING id')
    .pluck();
  const ids = new Map<string, number>();
  const latest = db.prepare(
    `INSERT INTO latest (series_id, key, tenant_id, ts, value_type, value_num, value_text) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (series_id, key) DO UPDATE SET ts = excluded.ts, value_type = excluded.value_type,
       value_num = excluded.value_num, value_text = excluded.value_text WHERE excluded.ts >= latest.ts`,
  );
  const write = db.transaction((points: DataPoint[]) => {
    const newest = new Map<string, DataPoint>();
    for (const p of points) {
      const v = encodeValue(p.value);
      const name = `${p.seriesId}\u0000${p.key}`;
      let id = ids.get(name);
      if (id === undefined) ids.set(name, (id = newSeriesKey.get(p.seriesId, p.key) as number));
      insert.run(id, p.ts, v.type, v.num, v.text);
      newest.set(name, p);
    }
    for (const p of newest.values()) {
      const v = encodeValue(p.value);
      latest.run(p.seriesId, p.key, p.tenantId, p.ts, v.type, v.num, v.text);
    }
  });
  const start = performance.now();
  for (const b of batches) write.immediate(b);
  const result = rate(batches.length * batches[0].length, start);
  db.close();
  return result;
}

async function sqliteWrites(dir: string): Promise<void> {
  for (const synchronous of ['full', 'normal'] as const) {
    const store = SqliteTelemetryStore.open(join(dir, `rate-${synchronous}.db`), { synchronous });
    const r1k = await writeRate(store, 1_000, 200_000, 'a');
    const r10k = await writeRate(store, 10_000, 500_000, 'b');
    console.log(
      `sqlite synchronous=${synchronous}: ${fmt(r1k)} points/s in batches of 1,000, ` +
        `${fmt(r10k)} points/s in batches of 10,000`,
    );
    await store.close();
  }
  const batches = ingestBatches(20);
  const withRollups = SqliteTelemetryStore.open(join(dir, 'ingest.db'));
  const start = performance.now();
  for (const b of batches) await withRollups.write(b);
  // Folded too: the rollups are written by the folds (telemetry-store.ts, "Recent points").
  await withRollups.foldRecent();
  const full = rate(batches.length * batches[0].length, start);
  await withRollups.close();
  const plainPath = join(dir, 'plain.db');
  await SqliteTelemetryStore.open(plainPath).close();
  const plain = writeWithoutRollups(plainPath, batches);
  console.log(
    `sqlite synchronous=full, ingest shape (50,000 points = 10,000 device keys a batch): ` +
      `${fmt(full)} points/s through the store (recent points, folded into points, rollups and latest values), ` +
      `${fmt(plain)} inserted straight into points and latest values without rollups`,
  );
}

async function timeAggregate(store: TelemetryStore, from: number, to: number, fn: Aggregation, runs = 20) {
  const times: number[] = [];
  let buckets = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    buckets = (await store.aggregate({ seriesId: 'bench', keys: ['v'], from, to, bucketMs: HOUR, fn }))
      .length;
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
  return `${buckets} buckets, p50 ${ms(percentile(times, 50))} ms, p95 ${ms(percentile(times, 95))} ms`;
}

async function monthOfSeconds(name: string, store: TelemetryStore): Promise<void> {
  const loadRate = await writeRate(store, 50_000, MONTH_POINTS, 'v');
  console.log(`${name}: loaded ${fmt(MONTH_POINTS)} points (30 days at 1 s) at ${fmt(loadRate)} points/s`);
  for (const fn of ['avg', 'max', 'last'] as const) {
    console.log(
      `${name}: 30 days → 1 h buckets, ${fn}, aligned: ${await timeAggregate(store, T0, T0 + 30 * DAY, fn)}`,
    );
  }
  const edges = await timeAggregate(store, T0 + 1_234_567, T0 + 30 * DAY - 765_432, 'avg');
  console.log(`${name}: 30 days → 1 h buckets, avg, unaligned (rollups + raw edges): ${edges}`);
  const median = await timeAggregate(store, T0, T0 + DAY, 'median', 5);
  console.log(`${name}: 1 day (86,400 points) → 1 h buckets, median (raw): ${median}`);
}

const dir = mkdtempSync(join(tmpdir(), 'halyard-bench-telemetry-'));
try {
  await sqliteWrites(dir);
  const sqlite = SqliteTelemetryStore.open(join(dir, 'month.db'), { synchronous: 'normal' });
  await monthOfSeconds('sqlite', sqlite);
  await sqlite.close();
  if (!process.argv.includes('--no-postgres')) {
    const cluster = await startPostgres(0);
    try {
      const pg = await PostgresTelemetryStore.open(cluster.url);
      await monthOfSeconds('postgres', pg);
      await pg.close();
    } finally {
      await cluster.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
