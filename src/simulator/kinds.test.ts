import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { customKind, KINDS, planDevices, type MixEntry } from './kinds.js';

const kind = (id: string) => {
  const found = KINDS.find((k) => k.id === id);
  assert.ok(found, id);
  return found;
};
const mix = (...entries: [string, number][]): MixEntry[] =>
  entries.map(([id, weight]) => ({ kind: kind(id), weight }));
const countByKind = (devices: ReturnType<typeof planDevices>) =>
  Object.fromEntries(KINDS.map((k) => [k.id, devices.filter((d) => d.kind.id === k.id).length]));

describe('planDevices', () => {
  it('shares N devices out by weight, the counts adding up to N', () => {
    const demo = mix(['weather', 8], ['meter', 6], ['pump', 4], ['sine', 2]);
    // devices → [weather, meter, pump, sine]
    const expected: [number, number[]][] = [
      [20, [8, 6, 4, 2]],
      [10, [4, 3, 2, 1]],
      [7, [3, 2, 1, 1]],
      [2, [1, 1, 0, 0]],
    ];
    for (const [n, counts] of expected) {
      assert.deepEqual(Object.values(countByKind(planDevices('demo', n, demo, 1))), counts, `${n} devices`);
    }
    for (let n = 1; n <= 50; n++) assert.equal(planDevices('x', n, demo, 1).length, n);
  });

  it('gives a kind of weight 0 no device', () => {
    assert.deepEqual(countByKind(planDevices('p', 5, mix(['pump', 0], ['sine', 1]), 1)), {
      weather: 0,
      meter: 0,
      pump: 0,
      sine: 5,
    });
  });

  it('names devices <prefix>-<kind>-<n> and "<label> <n>", the same on every run', () => {
    const devices = planDevices('sim', 3, mix(['weather', 2], ['meter', 1]), 9);
    assert.deepEqual(
      devices.map((d) => [d.id, d.name]),
      [
        ['sim-weather-1', 'Weather station 1'],
        ['sim-weather-2', 'Weather station 2'],
        ['sim-meter-1', 'Smart meter 1'],
      ],
    );
    assert.deepEqual(planDevices('sim', 3, mix(['weather', 2], ['meter', 1]), 9), devices);
  });

  it('seeds each device differently, and differently per run seed', () => {
    const a = planDevices('sim', 4, mix(['weather', 1]), 1);
    assert.equal(new Set(a.map((d) => d.seed)).size, 4);
    const b = planDevices('sim', 4, mix(['weather', 1]), 2);
    assert.notEqual(a[0].seed, b[0].seed);
  });
});

describe('kinds', () => {
  it('each kind publishes distinct keys with numbers or booleans', () => {
    const t = Date.UTC(2025, 0, 1, 12);
    const expected: Record<string, string[]> = {
      weather: ['temperature', 'humidity', 'pressure'],
      meter: ['energy_kwh', 'power_w'],
      pump: ['running', 'flow_lpm'],
      sine: ['sine'],
    };
    for (const k of KINDS) {
      const signals = k.signals(123);
      assert.deepEqual(
        signals.map((s) => s.key),
        expected[k.id],
      );
      for (const s of signals) assert.ok(['number', 'boolean'].includes(typeof s.at(t)), `${k.id}.${s.key}`);
    }
  });

  it('a custom kind publishes the named signals', () => {
    const custom = customKind(['sine', 'on-off', 'random-walk']);
    assert.deepEqual(
      custom.signals(1).map((s) => s.key),
      ['sine', 'on', 'walk'],
    );
  });
});
