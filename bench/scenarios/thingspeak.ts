import { httpUpdateLoad, type HttpUpdateResult } from '../gen/http-update.js';
import { postApi } from '../lib/rest-api.js';
import { cpuFigures, type Metric, type Scenario, type ScenarioContext } from './types.js';

const TENANT = 'bench';
const USER = 'bench';
const CHANNELS = 16;
const CONNECTIONS = 64;

/**
 * ThingSpeak `/update` (Halyard only; there is no ThingSpeak API in Mosquitto
 * or Aedes): 16 channels made through `POST /channels.json`, then 64
 * keep-alive HTTP/1.1 connections writing `POST /update` form bodies, one
 * request in flight each (bench/gen/http-update.ts). Figures: successful
 * requests/s (200 with an entry id), latency p50/p99. Afterwards every
 * channel's `last_entry_id` must equal the updates answered with an id on it;
 * any error, unanswered request or mismatch is LOSS.
 *
 * Three setups of the same load: `thingspeak-update` pins Halyard to CPU 0 as
 * the broker comparisons do (the target's figure, comparable with every
 * earlier session); `thingspeak-update-both-cpus` lets it run on both CPUs,
 * as a deployment on this machine would (the generator stays pinned to CPU 1
 * and uses under half of it). Their channels have no device, as those of a
 * ThingSpeak client pointed at Halyard do. `thingspeak-update-bound` binds
 * each channel to a device, so every update is also copied into that
 * device's telemetry: what the copy costs.
 */
export const thingspeakUpdate = updateScenario('thingspeak-update', 'one', false);
export const thingspeakUpdateBothCpus = updateScenario('thingspeak-update-both-cpus', 'all', false);
export const thingspeakUpdateBound = updateScenario('thingspeak-update-bound', 'one', true);

function updateScenario(key: string, brokerCpus: 'one' | 'all', bound: boolean): Scenario {
  const where = brokerCpus === 'all' ? 'Halyard on both CPUs' : 'Halyard on one CPU';
  const channels = bound ? '16 channels of devices' : '16 channels';
  const target = bound ? '' : ' (target 20,000 requests/s)';
  const label = `ThingSpeak /update, 64 keep-alive connections, ${channels}, ${where}${target}`;
  return {
    name: key,
    title: `ThingSpeak /update: 64 keep-alive connections, ${channels}, 2 fields, ${where}`,
    quick: false,
    brokers: ['halyard'],
    halyard: { http: true },
    brokerCpus,
    timeoutMs: 120_000,
    run: (ctx) => runUpdates(ctx, key, label, bound),
  };
}

async function runUpdates(
  ctx: ScenarioContext,
  key: string,
  label: string,
  bound: boolean,
): Promise<Metric[]> {
  const base = httpBase(ctx);
  const userKey = await setUpUser(base, ctx);
  const writeKeys: string[] = [];
  const ids: number[] = [];
  for (let i = 0; i < CHANNELS; i++) {
    const device = bound
      ? await postApi<{ id: string }>(base, '/devices', { id: `bench-device-${i}` }, userKey)
      : undefined;
    const ch = await form<{ id: number; api_keys: { api_key: string; write_flag: boolean }[] }>(
      base,
      '/channels.json',
      // A bound channel's fields name its device's telemetry keys.
      {
        api_key: userKey,
        name: `bench-${i}`,
        ...(device && { device_id: device.id, field1: 'a', field2: 'b' }),
      },
    );
    const write = ch.api_keys.find((k) => k.write_flag);
    if (!write) throw new Error(`channel ${ch.id} came without a write key`);
    writeKeys.push(write.api_key);
    ids.push(ch.id);
  }
  const r = await httpUpdateLoad({
    port: ctx.http?.port ?? 0,
    brokerPid: ctx.brokerPid,
    writeKeys,
    connections: CONNECTIONS,
    warmupMs: ctx.quick ? 1000 : 3000,
    durationMs: ctx.quick ? 3000 : 15_000,
    drainMs: 10_000,
  });
  const lastIds = await Promise.all(
    ids.map(async (id, i) => {
      const res = await fetch(`${base}/channels/${id}/last_entry_id?api_key=${writeKeys[i]}`, {
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      return res.ok && /^\d+$/.test(text) ? Number(text) : null;
    }),
  );
  return metrics(r, lastIds, key, label);
}

function metrics(r: HttpUpdateResult, lastIds: (number | null)[], key: string, label: string): Metric[] {
  const problems: string[] = [];
  if (r.ok === 0) problems.push('no successful update');
  if (r.errors > 0) problems.push(`${r.errors} of ${r.sent} requests failed (${r.errorSamples.join('; ')})`);
  if (r.unanswered > 0) problems.push(`${r.unanswered} requests never answered`);
  const stored = lastIds.reduce<number>((s, x) => s + (x ?? 0), 0);
  const mismatched = lastIds.flatMap((last, i) =>
    last === r.okPerChannel[i] && last === r.maxIdPerChannel[i]
      ? []
      : [`channel ${i + 1}: last_entry_id ${last ?? '?'}, ${r.okPerChannel[i]} updates answered`],
  );
  if (mismatched.length) problems.push(mismatched.slice(0, 3).join('; '));
  const loss = problems.length ? problems.join('; ') : null;
  const cpu = cpuFigures(r.cpu);
  const m = r.mainThread;
  const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '?');
  // Why a run falls short: out of CPU (running, or waiting for a CPU) or waiting on the disk or the clients (asleep).
  const extra =
    `${fmt(r.ok)} updates, sum of last_entry_id ${fmt(stored)}; ` +
    `Halyard CPU ${fmt((r.cpu.brokerCpu * 1e6) / r.requestsPerSec)} µs a request; its event loop ran ` +
    `${pct(m.running)}, waited for a CPU ${pct(m.waiting)}, slept ${pct(m.asleep)}`;
  return [
    {
      key,
      label: `${label}: requests/s`,
      unit: 'req/s',
      better: 'higher',
      value: loss ? null : r.requestsPerSec,
      loss,
      ...cpu,
      extra,
    },
    {
      key: `${key}-p50`,
      label: `${label}: latency p50`,
      unit: 'ms',
      better: 'lower',
      value: loss ? null : r.p50Ms,
      loss,
      ...cpu,
    },
    {
      key: `${key}-p99`,
      label: `${label}: latency p99`,
      unit: 'ms',
      better: 'lower',
      value: loss ? null : r.p99Ms,
      loss,
      ...cpu,
    },
  ];
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

function httpBase(ctx: ScenarioContext): string {
  if (!ctx.http) throw new Error('the /update scenarios need Halyard with its HTTP API (halyard.http)');
  return `http://127.0.0.1:${ctx.http.port}`;
}

async function form<T>(base: string, route: string, fields: Record<string, string>): Promise<T> {
  const res = await fetch(base + route, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * Channels belong to the user's tenant, and a platform admin has none: log in
 * as the admin, create a tenant and an admin user of it, and return that
 * user's session token, which serves as the ThingSpeak user API key (and
 * may create the tenant's devices).
 */
async function setUpUser(base: string, ctx: ScenarioContext): Promise<string> {
  const password = `bench-${Math.random().toString(36).slice(2)}-password`;
  const admin = await postApi<{ token: string }>(base, '/auth/login', {
    username: 'admin',
    password: ctx.http?.adminPassword,
  });
  await postApi(base, '/tenants', { id: TENANT, name: 'Benchmark' }, admin.token);
  await postApi(base, '/users', { username: USER, role: 'admin', password, tenantId: TENANT }, admin.token);
  const user = await postApi<{ token: string }>(base, '/auth/login', { username: USER, password });
  return user.token;
}
