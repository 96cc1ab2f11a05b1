import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './errors.js';
import { durationFlag, parseMix, parseSignals, trafficFromFlags } from './simulate.js';

const defaults = { devices: 10, ratePerSecond: 1, prefix: 'sim', dropoutFor: '10s' };

describe('simulate flags', () => {
  it('durations take a unit, seconds without one', () => {
    assert.equal(durationFlag('--duration', '500ms'), 500);
    assert.equal(durationFlag('--duration', '90'), 90_000);
    assert.equal(durationFlag('--duration', '1.5m'), 90_000);
    assert.equal(durationFlag('--duration', '2h'), 7_200_000);
    assert.equal(durationFlag('--duration', '1d'), 86_400_000);
    assert.equal(durationFlag('--duration', undefined), undefined);
    for (const bad of ['', '0', '-1s', '5 weeks', '1y', 'soon']) {
      assert.throws(() => durationFlag('--duration', bad), /--duration must be a time such as/, bad);
    }
  });

  it('--mix takes kind=weight, a bare kind counting 1', () => {
    assert.deepEqual(
      parseMix('weather=3,meter,pump=0.5').map((e) => [e.kind.id, e.weight]),
      [
        ['weather', 3],
        ['meter', 1],
        ['pump', 0.5],
      ],
    );
    assert.throws(() => parseMix('boiler=1'), /unknown kind "boiler"; expected weather, meter, pump, sine/);
    assert.throws(() => parseMix('weather=x'), /--mix weather must be a number/);
    assert.throws(() => parseMix('weather=1=2'), /kind=weight/);
    assert.throws(() => parseMix('weather,weather'), /twice/);
    assert.throws(() => parseMix('weather=0'), /a weight above 0/);
  });

  it('--signals names known signals', () => {
    assert.deepEqual(parseSignals('sine, meter'), ['sine', 'meter']);
    assert.throws(() => parseSignals('sine,square'), /unknown signal "square"/);
  });

  it('builds the plan and traffic, with defaults', () => {
    const plan = trafficFromFlags({ seed: '7' }, defaults);
    assert.equal(plan.devices.length, 10);
    assert.equal(plan.seed, 7);
    assert.deepEqual(plan.traffic, { ratePerSecond: 1, jitter: 0.1, qos: 1, dropout: undefined });
    const custom = trafficFromFlags(
      {
        devices: '2',
        signals: 'sine',
        rate: '0.5',
        jitter: '0',
        qos: '2',
        'dropout-every': '1m',
        'dropout-mode': 'offline',
      },
      defaults,
    );
    assert.deepEqual(
      custom.devices.map((d) => d.id),
      ['sim-custom-1', 'sim-custom-2'],
    );
    assert.deepEqual(custom.traffic, {
      ratePerSecond: 0.5,
      jitter: 0,
      qos: 2,
      dropout: { everyMs: 60_000, forMs: 10_000, mode: 'offline' },
    });
  });

  it('a default drop-out can be turned off with 0', () => {
    const withDefault = { ...defaults, dropoutEvery: '5m' };
    assert.equal(trafficFromFlags({}, withDefault).traffic.dropout?.everyMs, 300_000);
    assert.equal(trafficFromFlags({ 'dropout-every': '0' }, withDefault).traffic.dropout, undefined);
  });

  it('refuses contradictions and out-of-range values, naming the flag', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ mix: 'weather', signals: 'sine' }, /--mix or --signals, not both/],
      [{ devices: '0' }, /--devices must be an integer from 1 to 10000/],
      [{ rate: '1000' }, /--rate must be a number from 0.001 to 100/],
      [{ jitter: '1' }, /--jitter must be a number from 0 to 0.9/],
      [{ qos: '3' }, /-q\/--qos/],
      [{ 'dropout-for': '5s' }, /need --dropout-every/],
      [
        { 'dropout-every': '1m', 'dropout-mode': 'sometimes' },
        /--dropout-mode must be one of silent, offline, mixed/,
      ],
    ];
    for (const [values, message] of bad) {
      assert.throws(
        () => trafficFromFlags(values, defaults),
        (err) => err instanceof UsageError && message.test(err.message),
      );
    }
  });
});
