import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { TELEMETRY_LIMITS } from './model.js';
import { parseTelemetry, parseThingSpeakForm, type ParseResult } from './payload.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const ctx = { tenantId: 't1', seriesId: 'd1', now: NOW, maxSkewMs: 60_000 };

function ok(payload: string | Buffer) {
  const result = parseTelemetry(payload, ctx);
  assert.ok(result.ok, `expected ok, got ${JSON.stringify(result)}`);
  return result;
}

function refused(payload: string | Buffer): Extract<ParseResult, { ok: false }> {
  const result = parseTelemetry(payload, ctx);
  assert.ok(!result.ok, `expected a refusal, got ${JSON.stringify(result)}`);
  return result;
}

const pairs = (r: { points: Array<{ key: string; ts: number; value: unknown }> }) =>
  r.points.map((p) => [p.key, p.ts, p.value]);

describe('parseTelemetry', () => {
  it('reads a flat object at server time, keeping value types', () => {
    const r = ok('{"temperature": 21.5, "door": "open", "on": true, "n": "42"}');
    assert.deepEqual(pairs(r), [
      ['temperature', NOW, 21.5],
      ['door', NOW, 'open'],
      ['on', NOW, true],
      ['n', NOW, '42'],
    ]);
    assert.equal(r.clamped, 0);
    assert.deepEqual(
      { tenantId: r.points[0].tenantId, seriesId: r.points[0].seriesId },
      { tenantId: 't1', seriesId: 'd1' },
    );
  });

  it('reads {ts, values} with ms and ISO timestamps, and arrays of both forms', () => {
    const iso = '2024-05-01T11:59:30Z';
    const r = ok(
      JSON.stringify([
        { ts: NOW - 1000, values: { a: 1 } },
        { ts: iso, values: { a: 2, b: false } },
        { c: 'x' },
        { values: { d: 4 } },
      ]),
    );
    assert.deepEqual(pairs(r), [
      ['a', NOW - 1000, 1],
      ['a', Date.parse(iso), 2],
      ['b', Date.parse(iso), false],
      ['c', NOW, 'x'],
      ['d', NOW, 4],
    ]);
    assert.equal(ok(Buffer.from(`{"ts":"${NOW - 5}","values":{"a":1}}`)).points[0].ts, NOW - 5);
    // Without an offset an ISO date is UTC, whatever the server's zone.
    assert.equal(ok('{"ts":"2024-05-01T11:59:30","values":{"a":1}}').points[0].ts, NOW - 30_000);
    assert.equal(ok('{"ts":"2024-05-01 13:59:30+02:00","values":{"a":1}}').points[0].ts, NOW - 30_000);
  });

  it('replaces timestamps outside the skew by server time and counts them', () => {
    const r = ok(
      JSON.stringify([
        { ts: NOW - 61_000, values: { a: 1 } },
        { ts: NOW + 120_000, values: { a: 2 } },
        { ts: NOW + 60_000, values: { a: 3 } },
      ]),
    );
    assert.deepEqual(
      r.points.map((p) => p.ts),
      [NOW, NOW, NOW + 60_000],
    );
    assert.equal(r.clamped, 2);
  });

  it('reads the ThingSpeak form, numbers from numeric strings only', () => {
    const r = ok('&field1=21.5&field2=-3&status=ok+go%21&field4=NaN&field5=&field6=1e3');
    assert.deepEqual(pairs(r), [
      ['field1', NOW, 21.5],
      ['field2', NOW, -3],
      ['status', NOW, 'ok go!'],
      ['field4', NOW, 'NaN'],
      ['field6', NOW, 1000],
    ]);
  });

  it('accepts empty messages as zero points', () => {
    assert.equal(ok('{}').points.length, 0);
    assert.equal(ok('[]').points.length, 0);
  });

  const cases: Array<[name: string, payload: string, reason: RegExp, field?: string]> = [
    ['empty', '  ', /empty/],
    ['invalid JSON, with its position', '{"a": 1,}', /invalid JSON: .*position 8/],
    ['a scalar', '42', /must be a JSON object/],
    ['an array element that is not an object', '[{"a":1}, 3]', /must be a JSON object/, '[1]'],
    ['null', '{"a": null}', /null is not a value/, 'a'],
    ['a nested object', '{"a": {"b": 1}}', /nested objects/, 'a'],
    ['an array value', '{"ts": 5, "values": {"a": [1]}}', /arrays are not values/, 'values.a'],
    ['a non-finite number', '{"big": 1e999}', /finite/, 'big'],
    ['an empty key', '{"": 1}', /empty/, ''],
    [
      'a long key',
      `{"${'k'.repeat(TELEMETRY_LIMITS.maxKeyLength + 1)}": 1}`,
      /at most 128 characters/,
      `${'k'.repeat(40)}…`,
    ],
    [
      'a long string',
      `{"s": "${'x'.repeat(TELEMETRY_LIMITS.maxStringValueLength + 1)}"}`,
      /at most 4096 characters/,
      's',
    ],
    ['ts without values', '{"ts": 1, "a": 2}', /needs "values"/, 'ts'],
    ['a key beside ts and values', '{"ts": 1, "values": {}, "x": 1}', /unexpected key "x"/, 'x'],
    ['values not an object', '[{"values": 3}]', /"values" must be an object/, '[0].values'],
    ['an unparseable ts', '[{}, {"ts": "yesterday", "values": {"a": 1}}]', /neither ms/, '[1].ts'],
    ['an invalid date', '{"ts": "2024-13-45T00:00:00Z", "values": {"a": 1}}', /not a valid date/, 'ts'],
    ['a zero ts', '{"ts": 0, "values": {"a": 1}}', /positive/, 'ts'],
    ['a negative ts', '{"ts": -5, "values": {"a": 1}}', /positive/, 'ts'],
    ['a boolean ts', '{"ts": true, "values": {"a": 1}}', /must be ms/, 'ts'],
    ['a form pair without value', 'field1=1&field2', /no value/, 'field2'],
    ['a form key twice', 'field1=1&field1=2', /twice/, 'field1'],
    ['bad URL encoding', 'field1=%E0%A4%A', /URL encoding/, 'field1'],
  ];
  for (const [name, payload, reason, field] of cases) {
    it(`refuses ${name}`, () => {
      const r = refused(payload);
      assert.match(r.reason, reason);
      assert.equal(r.field, field);
    });
  }

  it('refuses invalid UTF-8', () => {
    assert.match(refused(Buffer.from([0x7b, 0xff, 0x7d])).reason, /UTF-8/);
  });

  it('refuses too many distinct keys and too many points', () => {
    const keys = Object.fromEntries(
      Array.from({ length: TELEMETRY_LIMITS.maxKeysPerMessage + 1 }, (_, i) => [`k${i}`, i]),
    );
    const r = refused(JSON.stringify(keys));
    assert.match(r.reason, /at most 100 distinct keys/);
    assert.equal(r.field, `k${TELEMETRY_LIMITS.maxKeysPerMessage}`);

    const many = Array.from({ length: TELEMETRY_LIMITS.maxPointsPerMessage / 2 + 1 }, (_, i) => ({
      ts: NOW - i,
      values: { a: 1, b: 2 },
    }));
    assert.match(refused(JSON.stringify(many)).reason, /at most 10000 points/);
    const flat = Array.from({ length: TELEMETRY_LIMITS.maxPointsPerMessage + 1 }, () => ({ a: 1 }));
    assert.match(refused(JSON.stringify(flat)).reason, /at most 10000 points/);
    assert.equal(ok(JSON.stringify(many.slice(1))).points.length, TELEMETRY_LIMITS.maxPointsPerMessage);
  });

  it('never throws on random bytes or mangled JSON', () => {
    const seeds = ['{"a":1,"ts":5}', '[{"ts":"2024-01-01","values":{"x":"y"}}]', 'field1=2&x=%41'];
    for (let i = 0; i < 3000; i++) {
      const bytes =
        i % 2 === 0
          ? randomBytes(1 + (i % 64))
          : Buffer.from(seeds[i % seeds.length].slice(0, i % 20) + randomBytes(i % 7).toString('latin1'));
      const result = parseTelemetry(bytes, ctx);
      assert.equal(typeof result.ok, 'boolean');
      if (!result.ok) assert.ok(result.reason.length > 0);
    }
  });
});

describe('parseThingSpeakForm', () => {
  it('keeps keys as given and skips empty pairs', () => {
    assert.deepEqual(parseThingSpeakForm('&&Field1=1&lat=52.1&'), {
      ok: true,
      values: [
        ['Field1', 1],
        ['lat', 52.1],
      ],
    });
  });
});
