import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { telemetryLoad, type TelemetryLoadResult } from '../gen/telemetry.js';
import type { RunningBroker } from '../lib/brokers.js';
import { postApi } from '../lib/rest-api.js';
import { cpuFigures, type Metric, type Scenario, type ScenarioContext } from './types.js';

const KEYS = 10;
const TENANT = 'bench';

/**
 * Telemetry ingest (Halyard only): devices with access tokens, made through
 * the REST API before anything is measured, publish 10-key JSON messages at
 * QoS 1 (bench/gen/telemetry.ts). Figures: data points/s PUBACKed (= durable),
 * PUBACK latency p50/p99; then the store is read back (rows of `points` in
 * <dataDir>/telemetry.db) and must hold exactly PUBACKed messages × 10 points.
 * Any message not PUBACKed, refused, or missing from the store is LOSS.
 */
function telemetryScenario(opts: {
  name: string;
  title: string;
  devices: number;
  ratePerDevice: number | null;
  window: number;
  label: string;
  /** The store in PostgreSQL (a throw-away cluster, bench/lib/postgres.ts) instead of SQLite. */
  postgres?: boolean;
}): Scenario {
  return {
    name: opts.name,
    title: opts.title,
    quick: false,
    brokers: ['halyard'],
    halyard: { http: true, postgres: opts.postgres ?? false },
    timeoutMs: 240_000,
    halyardConfig() {
      return Promise.resolve({
        // Every device of the run is one of a single tenant's; the per-device limits are not what is measured.
        security: { device: { publishMessagesPerSecond: 1_000_000, publishBytesPerSecond: 1_000_000_000 } },
      });
    },
    async run(ctx) {
      const tokens = await setUpDevices(ctx, opts.devices);
      const result = await telemetryLoad({
        port: ctx.port,
        brokerPid: ctx.brokerPid,
        tokens,
        keys: KEYS,
        ratePerDevice: opts.ratePerDevice,
        window: opts.window,
        warmupMs: ctx.quick ? 1000 : 3000,
        durationMs: ctx.quick ? 3000 : 20_000,
        drainMs: 30_000,
        // Recent enough for any skew limit, and 13 digits for every sequence number of the run.
        baseTs: Date.now() - 10 * 60_000,
      });
      const stored = await countStoredPoints(ctx);
      return metrics(opts.name, opts.label, result, stored);
    },
  };
}

/** 1,000 devices × 10 msgs/s × 10 keys: the 100,000 data points/s (window: 1 s of messages). */
const HEADLINE = { devices: 1000, ratePerDevice: 10, window: 10 };

export const telemetryIngest = telemetryScenario({
  ...HEADLINE,
  name: 'telemetry-ingest',
  title: 'Telemetry ingest: 1,000 devices × 10 msgs/s × 10 keys, QoS 1',
  label: 'Telemetry 1,000 devices × 10 msgs/s × 10 keys (target 100,000 points/s)',
});

/**
 * Above the target: 1,200 devices × 10 msgs/s = 120,000 points/s offered, 12,000 series keys. At
 * exactly the target the rate measured can only approach 100,000 (PUBACKs lag the sends by the
 * latency, which grows in the first seconds); offered more, it is the rate sustained.
 */
export const telemetryIngestOver = telemetryScenario({
  devices: 1200,
  ratePerDevice: 10,
  window: 10,
  name: 'telemetry-ingest-120k',
  title: 'Telemetry ingest above the target: 1,200 devices × 10 msgs/s × 10 keys, QoS 1',
  label: 'Telemetry 1,200 devices × 10 msgs/s × 10 keys (120,000 offered): points/s PUBACKed',
});

/** The ceiling: 100 devices, each keeping 100 messages unacknowledged. */
export const telemetryIngestMax = telemetryScenario({
  name: 'telemetry-ingest-max',
  title: 'Telemetry ingest, as fast as possible: 100 devices, window 100, 10 keys, QoS 1',
  devices: 100,
  ratePerDevice: null,
  window: 100,
  label: 'Telemetry max: 100 devices, window 100, 10 keys',
});

export const telemetryIngestPg = telemetryScenario({
  ...HEADLINE,
  name: 'telemetry-ingest-pg',
  title: 'Telemetry ingest into PostgreSQL: 1,000 devices × 10 msgs/s × 10 keys, QoS 1',
  label: 'Telemetry (PostgreSQL) 1,000 devices × 10 msgs/s × 10 keys',
  postgres: true,
});

export const telemetryIngestMaxPg = telemetryScenario({
  name: 'telemetry-ingest-max-pg',
  title: 'Telemetry ingest into PostgreSQL, as fast as possible: 100 devices, window 100, 10 keys, QoS 1',
  devices: 100,
  ratePerDevice: null,
  window: 100,
  label: 'Telemetry (PostgreSQL) max: 100 devices, window 100, 10 keys',
  postgres: true,
});

function metrics(key: string, label: string, r: TelemetryLoadResult, stored: StoreCount): Metric[] {
  const expected = (r.acked - r.refused) * KEYS;
  const problems: string[] = [];
  if (r.problem) problems.push(r.problem);
  if (r.acked === 0) problems.push('nothing acknowledged');
  if (r.unacked > 0) problems.push(`${r.unacked} of ${r.sent} messages never PUBACKed`);
  if (r.refused > 0) problems.push(`${r.refused} refused (PUBACK ≥ 0x80)`);
  if (r.strayAcks > 0) problems.push(`${r.strayAcks} PUBACKs for nothing in flight`);
  if (stored.count === null) problems.push(`store not read back: ${stored.why}`);
  else if (stored.count !== expected)
    problems.push(`store holds ${stored.count} points, PUBACKed ${expected}`);
  const loss = problems.length ? problems.join('; ') : null;
  const cpu = cpuFigures(r.cpu);
  const offered = r.offeredPointsPerSec === null ? '' : ` of ${fmt(r.offeredPointsPerSec)} offered`;
  const storeNote = stored.count === null ? '' : `, store ${fmt(stored.count)} points = PUBACKed`;
  return [
    {
      key,
      label: `${label}: points/s PUBACKed`,
      unit: 'points/s',
      better: 'higher',
      value: loss ? null : r.pointsPerSec,
      loss,
      ...cpu,
      extra: `${fmt(r.pointsPerSec / KEYS)} msgs/s${offered}${storeNote}`,
    },
    {
      key: `${key}-p50`,
      label: `${label}: PUBACK latency p50`,
      unit: 'ms',
      better: 'lower',
      value: loss ? null : r.p50Ms,
      loss,
      ...cpu,
    },
    {
      key: `${key}-p99`,
      label: `${label}: PUBACK latency p99`,
      unit: 'ms',
      better: 'lower',
      value: loss ? null : r.p99Ms,
      loss,
      ...cpu,
    },
  ];
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

type StoreCount = { count: number; why?: undefined } | { count: null; why: string };

/**
 * Rows in the store's points table, read while Halyard runs: everything
 * PUBACKed is committed, and (SQLite) WAL lets a read-only connection see
 * every committed transaction.
 */
async function countStoredPoints(ctx: ScenarioContext): Promise<StoreCount> {
  if (ctx.databaseUrl !== undefined) {
    const client = new pg.Client({ connectionString: ctx.databaseUrl });
    try {
      await client.connect();
      const res = await client.query<{ n: string }>('SELECT count(*) AS n FROM telemetry_points');
      return { count: Number(res.rows[0].n) };
    } catch (err) {
      return { count: null, why: (err as Error).message };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  if (ctx.dataDir === undefined) return { count: null, why: 'no data dir' };
  const file = path.join(ctx.dataDir, 'telemetry.db');
  if (!existsSync(file)) return { count: null, why: `${file} missing` };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // A point is either recent or folded (src/telemetry/sqlite/telemetry-store.ts).
    const row = db
      .prepare('SELECT (SELECT count(*) FROM points) + (SELECT count(*) FROM recent_points) AS n')
      .get() as { n: number };
    return { count: row.n };
  } catch (err) {
    return { count: null, why: (err as Error).message };
  } finally {
    db.close();
  }
}

/**
 * Logs in as the platform admin, creates the tenant and `count` devices with a token each
 * (ids dev-0000, dev-0001, …); returns the tokens. Also used by the line-protocol scenario.
 */
export async function setUpDevices(ctx: ScenarioContext, count: number): Promise<string[]> {
  const http: RunningBroker['http'] = ctx.http;
  if (!http) throw new Error('telemetry scenarios need Halyard with its HTTP API (halyard.http)');
  const base = `http://127.0.0.1:${http.port}`;
  const { token } = await postApi<{ token: string }>(base, '/auth/login', {
    username: 'admin',
    password: http.adminPassword,
  });
  await postApi(base, '/tenants', { id: TENANT, name: 'Benchmark' }, token);
  const tokens: string[] = new Array<string>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const id = `dev-${String(i).padStart(4, '0')}`;
      await postApi(base, '/devices', { id, tenantId: TENANT }, token);
      const { secret } = await postApi<{ secret?: string }>(
        base,
        `/devices/${id}/credentials`,
        { kind: 'token' },
        token,
      );
      if (!secret) throw new Error(`no token issued for ${id}`);
      tokens[i] = secret;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return tokens;
}
