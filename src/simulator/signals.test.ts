import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dailyTemperature,
  energyRegister,
  gated,
  loadProfile,
  meterPower,
  namedSignal,
  onOff,
  randomWalk,
  SIGNAL_NAMES,
  sineWave,
  type Signal,
} from './signals.js';

const T0 = Date.UTC(2025, 5, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** `count` times from `from`, `stepMs` apart. */
const times = (from: number, count: number, stepMs: number) =>
  Array.from({ length: count }, (_, i) => from + i * stepMs);

const numbers = (signal: Signal, ts: number[]) =>
  ts.map((t) => {
    const v = signal.at(t);
    assert.equal(typeof v, 'number');
    return v as number;
  });

describe('sine wave', () => {
  it('has the amplitude, offset, period and phase it is given', () => {
    const s = sineWave({ periodMs: 60_000, amplitude: 10, offset: 5 });
    assert.equal(s.key, 'sine');
    assert.equal(s.at(0), 5);
    assert.equal(s.at(15_000), 15);
    assert.equal(s.at(45_000), -5);
    assert.equal(s.at(75_000), s.at(15_000));
    const shifted = sineWave({ periodMs: 60_000, amplitude: 10, phase: 0.25 });
    assert.equal(shifted.at(0), 10);
  });

  it('stays within offset ± amplitude', () => {
    const values = numbers(sineWave({ amplitude: 3, offset: 1 }), times(T0, 5000, 137));
    assert.ok(Math.min(...values) >= -2 && Math.max(...values) <= 4);
    assert.ok(Math.max(...values) > 3.99 && Math.min(...values) < -1.99, 'reaches its peaks');
  });
});

describe('daily temperature', () => {
  const s = dailyTemperature({ seed: 7, mean: 15, dailySwing: 5, noise: 0.5, warmestHourUtc: 14 });

  it('stays within mean ± (swing + noise)', () => {
    const values = numbers(s, times(T0, 10_000, 61_000));
    assert.ok(Math.min(...values) >= 9.5 && Math.max(...values) <= 20.5);
  });

  it('is warm in the afternoon and cold before dawn, every day', () => {
    for (let day = 0; day < 30; day++) {
      const midnight = T0 + day * DAY;
      assert.ok(
        (s.at(midnight + 14 * HOUR) as number) - (s.at(midnight + 2 * HOUR) as number) > 8,
        `day ${day}`,
      );
    }
  });

  it('has noise: consecutive minutes differ, but only a little', () => {
    const values = numbers(s, times(T0, 600, 60_000));
    const steps = values.slice(1).map((v, i) => Math.abs(v - values[i]));
    assert.ok(steps.some((d) => d > 0));
    assert.ok(Math.max(...steps) < 0.5, `largest minute-to-minute step ${Math.max(...steps)}`);
  });
});

describe('random walk', () => {
  const s = randomWalk({ seed: 3, min: 30, max: 90, scaleMs: 300_000 });

  it('never leaves [min, max], yet wanders over much of it', () => {
    const values = numbers(s, times(T0, 20_000, 7_000));
    assert.ok(Math.min(...values) >= 30 && Math.max(...values) <= 90);
    assert.ok(Math.max(...values) - Math.min(...values) > 25, 'covers a good part of the range');
  });

  it('moves in small steps from one second to the next', () => {
    const values = numbers(s, times(T0, 3600, 1000));
    const steps = values.slice(1).map((v, i) => Math.abs(v - values[i]));
    assert.ok(Math.max(...steps) < 3, `largest step ${Math.max(...steps)}`);
    assert.ok(steps.filter((d) => d > 0).length > 1000, 'and it does move');
  });
});

describe('smart meter', () => {
  const profile = loadProfile(11);
  const register = energyRegister({ profile, startKwh: 1234 });
  const power = meterPower({ profile });

  it('never goes down, whatever the spacing of the readings', () => {
    for (const step of [1, 7, 1000, 60_000, HOUR]) {
      const values = numbers(register, times(T0, 3000, step));
      for (let i = 1; i < values.length; i++) {
        assert.ok(
          values[i] >= values[i - 1],
          `step ${step} ms, reading ${i}: ${values[i - 1]} → ${values[i]}`,
        );
      }
    }
  });

  it('counts the energy its power readings add up to', () => {
    const from = T0 + 3 * HOUR;
    const watts = numbers(power, times(from, 3600, 1000));
    assert.ok(Math.min(...watts) > 0);
    const expectedKwh = watts.reduce((a, b) => a + b, 0) / 1000 / 3600;
    const counted = (register.at(from + HOUR) as number) - (register.at(from) as number);
    assert.ok(Math.abs(counted - expectedKwh) < 0.01 * expectedKwh + 0.002, `${counted} vs ${expectedKwh}`);
  });

  it('reads like a meter: kWh with three decimals, from its start value', () => {
    const v = register.at(Date.UTC(2024, 0, 1));
    assert.equal(v, 1234);
    const later = register.at(T0) as number;
    assert.ok(later > 1234 && later < 1234 + 50_000);
    assert.equal(Math.round(later * 1000) / 1000, later);
  });
});

describe('on/off', () => {
  const s = onOff({ seed: 5, periodMs: 60_000, duty: 0.6 });

  it('is a boolean that changes only at slot boundaries', () => {
    for (const start of times(T0, 50, 60_000)) {
      const inSlot = times(start, 10, 5_999).map((t) => s.at(t));
      assert.ok(inSlot.every((v) => typeof v === 'boolean' && v === inSlot[0]));
    }
  });

  it('is on for about its duty cycle', () => {
    const on = times(T0, 4000, 60_000).filter((t) => s.at(t) === true).length;
    assert.ok(Math.abs(on / 4000 - 0.6) < 0.04, `on ${on} of 4000`);
  });

  it('gates another signal: its off value while off', () => {
    const flow = gated(randomWalk({ seed: 1, key: 'flow', min: 20, max: 60 }), s);
    assert.equal(flow.key, 'flow');
    for (const t of times(T0, 500, 60_000)) {
      const v = flow.at(t) as number;
      if (s.at(t)) assert.ok(v >= 20 && v <= 60);
      else assert.equal(v, 0);
    }
  });
});

describe('seeds', () => {
  it('the same seed gives the same values; another seed others', () => {
    for (const name of SIGNAL_NAMES) {
      const ts = times(T0, 200, 613_000);
      const a = ts.map((t) => namedSignal(name, 42).at(t));
      assert.deepEqual(
        ts.map((t) => namedSignal(name, 42).at(t)),
        a,
        name,
      );
      assert.notDeepEqual(
        ts.map((t) => namedSignal(name, 43).at(t)),
        a,
        name,
      );
    }
  });

  it('every named signal has a key and values of one type', () => {
    const keys = SIGNAL_NAMES.map((name) => namedSignal(name, 1).key);
    assert.deepEqual(keys, ['sine', 'temperature', 'walk', 'energy_kwh', 'on']);
    assert.equal(typeof namedSignal('on-off', 1).at(T0), 'boolean');
    assert.equal(typeof namedSignal('meter', 1).at(T0), 'number');
  });
});
