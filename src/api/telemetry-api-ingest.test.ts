import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_ACTOR } from '../registry/service.js';
import { MAX_SKEW_MS, openTelemetryHarness, type TelemetryHarness } from './telemetry-api-harness.js';

interface ErrorJson {
  error: string;
  message: string;
  field?: string;
}

describe('telemetry ingest over HTTP', () => {
  let h: TelemetryHarness;
  before(async () => {
    h = await openTelemetryHarness();
  });
  after(() => h.close());

  const post = (body: string, token = h.deviceToken, headers: Record<string, string> = {}) =>
    h.fetch('/api/v1/telemetry', {
      method: 'POST',
      token,
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it('stores a JSON message and answers 200 once it is written', async () => {
    const res = await post('{"temperature": 21.5, "door": "open", "on": true}');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { accepted: 3, clamped: 0 });
    const latest = await h.telemetry.latest(h.deviceId);
    assert.deepEqual(latest.map((l) => [l.key, l.ts, l.value]).sort(), [
      ['door', h.clock.now, 'open'],
      ['on', h.clock.now, true],
      ['temperature', h.clock.now, 21.5],
    ]);
    const point = (await h.telemetry.query({ seriesId: h.deviceId, from: 0, to: h.clock.now + 1 })).points[0];
    assert.equal(point.tenantId, 'acme');
  });

  it('honours device timestamps within the skew and reports the clamped ones', async () => {
    const body = JSON.stringify([
      { ts: h.clock.now - 5000, values: { t: 1 } },
      { ts: new Date(h.clock.now - MAX_SKEW_MS - 1).toISOString(), values: { t: 2 } },
    ]);
    const res = await post(body);
    assert.deepEqual(await res.json(), { accepted: 2, clamped: 1 });
    const { points } = await h.telemetry.query({
      seriesId: h.deviceId,
      keys: ['t'],
      from: 0,
      to: h.clock.now + 1,
    });
    assert.deepEqual(
      points.map((p) => [p.ts, p.value]),
      [
        [h.clock.now - 5000, 1],
        [h.clock.now, 2],
      ],
    );
  });

  it('accepts the ThingsBoard path form and any content type (ThingSpeak form too)', async () => {
    const res = await h.fetch(`/api/v1/${h.deviceToken}/telemetry`, {
      method: 'POST',
      body: 'field1=3.5&status=ok',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { accepted: 2, clamped: 0 });
    const latest = await h.telemetry.latest(h.deviceId, ['field1']);
    assert.equal(latest[0].value, 3.5);
  });

  it('refuses bad payloads with 400, the reason and the field', async () => {
    const cases: Array<[string, RegExp, string]> = [
      ['{"a": 1,', /invalid JSON/, 'body'],
      ['{"a": {"b": 1}}', /nested objects/, 'body.a'],
      ['[{"ts": "soon", "values": {"x": 1}}]', /neither ms/, 'body[0].ts'],
      ['', /empty/, 'body'],
    ];
    for (const [body, message, field] of cases) {
      const res = await post(body);
      assert.equal(res.status, 400, body);
      const json = (await res.json()) as ErrorJson;
      assert.equal(json.error, 'INVALID_INPUT');
      assert.match(json.message, message);
      assert.equal(json.field, field, body);
    }
  });

  it('answers 401 without or with a wrong token, 403 for a deactivated device, and audits only failures', async () => {
    const audit = () => h.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.', limit: 1000 });
    const auditedBefore = (await audit()).length;
    assert.equal((await post('{"a":1}')).status, 200);
    assert.equal((await audit()).length, auditedBefore, 'a good token leaves no audit entry');

    const missing = await h.fetch('/api/v1/telemetry', { method: 'POST', body: '{"a":1}' });
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as ErrorJson).error, 'UNAUTHENTICATED');
    assert.equal((await post('{"a":1}', 'hd_not-a-token')).status, 401);
    assert.equal((await h.fetch('/api/v1/hd_nope/telemetry', { method: 'POST', body: '{}' })).status, 401);
    assert.equal((await audit()).length, auditedBefore + 2, 'each failure is audited');

    const other = await h.registry.createDevice(h.acmeOperator, { id: 'sleeper' });
    const { secret } = await h.registry.issueCredential(h.acmeOperator, other.id, { kind: 'token' });
    await h.registry.setDeviceActive(h.acmeOperator, other.id, false);
    const refused = await post('{"a":1}', secret);
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as ErrorJson).message, /deactivated/);
  });

  it('answers 503 with Retry-After while storage is behind', async () => {
    h.ingest.busy = true;
    try {
      const res = await post('{"a": 1}');
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '3');
      assert.equal(((await res.json()) as ErrorJson).error, 'QUOTA_EXCEEDED');
    } finally {
      h.ingest.busy = false;
    }
  });

  it('locks out an address that keeps guessing tokens (429 + Retry-After)', async () => {
    const guess = (token: string) =>
      h.fetch(`/api/v1/${token}/telemetry`, {
        method: 'POST',
        body: '{"a":1}',
        headers: { 'x-forwarded-for': 'ignored' },
      });
    let status = 0;
    for (let i = 0; i < 8 && status !== 429; i++) status = (await guess(`hd_guess${i}`)).status;
    assert.equal(status, 429);
    const locked = await post('{"a":1}');
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
  });
});
