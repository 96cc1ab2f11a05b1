import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DataPoint } from '../telemetry/model.js';
import { csvCell } from './routes/telemetry-query.js';
import { openTelemetryHarness, type TelemetryHarness } from './telemetry-api-harness.js';

interface ErrorJson {
  error: string;
  message: string;
  field?: string;
}
interface PointsJson {
  points: Array<{ ts: number; key: string; value: unknown }>;
  next?: string;
}
interface BucketsJson {
  fn: string;
  bucketMs: number;
  buckets: Array<{ key: string; ts: number; value: unknown; count: number }>;
}

const HOUR = 3_600_000;

describe('telemetry queries over HTTP', () => {
  let h: TelemetryHarness;
  let t0: number;
  before(async () => {
    h = await openTelemetryHarness();
    t0 = h.clock.now - 3 * HOUR; // aligned to the hour
    const point = (key: string, ts: number, value: DataPoint['value']): DataPoint => ({
      tenantId: 'acme',
      seriesId: h.deviceId,
      key,
      ts,
      value,
    });
    await h.telemetry.write([
      point('temp', t0, 20),
      point('temp', t0 + 60_000, 22),
      point('temp', t0 + HOUR, 30),
      point('temp', t0 + HOUR + 1000, 10),
      point('status', t0 + 2 * HOUR, 'ok, "fine"'),
      point('temp', h.clock.now - 30 * HOUR, 99), // older than the default 24 h
    ]);
  });
  after(() => h.close());

  const get = (path: string, token = h.acmeViewer) => h.fetch(path, { token });
  const dev = () => `/api/devices/${h.deviceId}/telemetry`;

  it('latest values and keys', async () => {
    const latest = await get(`${dev()}/latest`);
    assert.equal(latest.status, 200);
    assert.deepEqual(await latest.json(), {
      temp: { ts: t0 + HOUR + 1000, value: 10 },
      status: { ts: t0 + 2 * HOUR, value: 'ok, "fine"' },
    });
    assert.deepEqual(await (await get(`${dev()}/latest?keys=status`)).json(), {
      status: { ts: t0 + 2 * HOUR, value: 'ok, "fine"' },
    });
    assert.deepEqual(((await (await get(`${dev()}/keys`)).json()) as { keys: string[] }).keys.sort(), [
      'status',
      'temp',
    ]);
  });

  it('raw points: last 24 h by default, ISO or ms ranges, order and paging', async () => {
    const all = (await (await get(dev())).json()) as PointsJson;
    assert.deepEqual(
      all.points.map((p) => p.ts),
      [t0, t0 + 60_000, t0 + HOUR, t0 + HOUR + 1000, t0 + 2 * HOUR],
    );
    const from = new Date(t0 + 1).toISOString();
    const page1 = (await (
      await get(`${dev()}?keys=temp&from=${from}&to=${t0 + 2 * HOUR}&limit=2`)
    ).json()) as PointsJson;
    assert.deepEqual(
      page1.points.map((p) => p.value),
      [22, 30],
    );
    assert.ok(page1.next);
    const page2 = (await (
      await get(
        `${dev()}?keys=temp&from=${from}&to=${t0 + 2 * HOUR}&limit=2&cursor=${encodeURIComponent(page1.next)}`,
      )
    ).json()) as PointsJson;
    assert.deepEqual(
      page2.points.map((p) => p.value),
      [10],
    );
    assert.equal(page2.next, undefined);
    const desc = (await (await get(`${dev()}?keys=temp&order=desc&limit=1`)).json()) as PointsJson;
    assert.equal(desc.points[0].value, 10);
  });

  it('exports CSV with ISO timestamps and quoted strings', async () => {
    const res = await get(`${dev()}?format=csv&from=${t0 + HOUR}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.equal(
      await res.text(),
      [
        'ts,key,value',
        `${new Date(t0 + HOUR).toISOString()},temp,30`,
        `${new Date(t0 + HOUR + 1000).toISOString()},temp,10`,
        `${new Date(t0 + 2 * HOUR).toISOString()},status,"ok, ""fine"""`,
        '',
      ].join('\r\n'),
    );
    assert.equal(csvCell(true), 'true');
    assert.equal(csvCell(null), '');
    assert.equal(csvCell('a\nb'), '"a\nb"');
  });

  it('aggregates in buckets, as JSON and CSV', async () => {
    const res = await get(`${dev()}/aggregate?keys=temp&from=${t0}&to=${t0 + 2 * HOUR}&bucket=1h&fn=avg`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      fn: 'avg',
      bucketMs: HOUR,
      buckets: [
        { key: 'temp', ts: t0, value: 21, count: 2 },
        { key: 'temp', ts: t0 + HOUR, value: 20, count: 2 },
      ],
    });
    const max = (await (
      await get(`${dev()}/aggregate?from=${t0}&bucket=7200000&fn=max`)
    ).json()) as BucketsJson;
    assert.deepEqual(
      max.buckets.filter((b) => b.key === 'temp').map((b) => [b.ts, b.value]),
      // 2 h buckets align to the epoch: t0 (09:00) falls into the one of 08:00.
      [
        [t0 - HOUR, 22],
        [t0 + HOUR, 30],
      ],
    );
    assert.ok(max.buckets.some((b) => b.key === 'status' && b.value === null && b.count === 1));
    const csv = await (
      await get(`${dev()}/aggregate?keys=temp&from=${t0}&bucket=1h&fn=count&format=csv`)
    ).text();
    assert.equal(
      csv,
      [
        'ts,key,value,count',
        `${new Date(t0).toISOString()},temp,2,2`,
        `${new Date(t0 + HOUR).toISOString()},temp,2,2`,
        '',
      ].join('\r\n'),
    );
  });

  it('names the query field that is wrong', async () => {
    const cases: Array<[string, string]> = [
      [`${dev()}?from=yesterday`, 'query.from'],
      [`${dev()}?to=2024-99-99T00:00:00Z`, 'query.to'],
      [`${dev()}?from=${t0}&to=${t0}`, 'query.from'],
      [`${dev()}?limit=0`, 'query.limit'],
      [`${dev()}?order=up`, 'query.order'],
      [`${dev()}?format=xml`, 'query.format'],
      [`${dev()}?keys=${'k'.repeat(200)}`, 'query.keys'],
      [`${dev()}/aggregate?bucket=10`, 'query.bucket'],
      [`${dev()}/aggregate?bucket=1y`, 'query.bucket'],
      [`${dev()}/aggregate?bucket=1s&from=0`, 'query.bucket'],
      [`${dev()}/aggregate?fn=mode`, 'query.fn'],
    ];
    for (const [url, field] of cases) {
      const res = await get(url);
      assert.equal(res.status, 400, url);
      const json = (await res.json()) as ErrorJson;
      assert.equal(json.error, 'INVALID_INPUT', url);
      assert.equal(json.field, field, url);
    }
  });

  it('needs a signed-in user of the device’s tenant', async () => {
    assert.equal((await h.fetch(`${dev()}/latest`)).status, 401);
    assert.equal((await get(`${dev()}/latest`, h.deviceToken)).status, 401, 'a device token is no user');
    for (const path of ['/latest', '/keys', '', '/aggregate']) {
      const res = await get(`${dev()}${path}`, h.globexAdmin);
      assert.equal(res.status, 404, path);
    }
  });

  it('lists the routes in the OpenAPI document', async () => {
    const doc = (await (await h.fetch('/api/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of [
      '/api/v1/telemetry',
      '/api/v1/{token}/telemetry',
      '/api/devices/{id}/telemetry',
      '/api/devices/{id}/telemetry/latest',
      '/api/devices/{id}/telemetry/aggregate',
      '/api/devices/{id}/telemetry/keys',
    ]) {
      assert.ok(doc.paths[path], path);
    }
  });
});
