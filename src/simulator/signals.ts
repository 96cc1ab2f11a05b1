import { fractalNoise, hashUnit } from './random.js';

/**
 * Simulated sensor signals as pure functions of time: `at(t)` depends only on
 * the signal's parameters (seed included) and `t` in ms since the epoch, so a
 * value can be recomputed, tested and compared with what the store holds.
 */

export type SignalValue = number | boolean;

export interface Signal {
  /** The telemetry key it is published under. */
  readonly key: string;
  at(t: number): SignalValue;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const TAU = 2 * Math.PI;

const round = (value: number, digits: number) => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

/** The classic test signal: offset + amplitude · sin(2π (t / period + phase)). */
export function sineWave(opts: {
  key?: string;
  periodMs?: number;
  amplitude?: number;
  offset?: number;
  /** Fraction of a period, 0–1. */
  phase?: number;
}): Signal {
  const { key = 'sine', periodMs = 60_000, amplitude = 1, offset = 0, phase = 0 } = opts;
  return { key, at: (t) => round(offset + amplitude * Math.sin(TAU * (t / periodMs + phase)), 4) };
}

/**
 * Outdoor temperature (°C): coldest before dawn, warmest in the afternoon
 * (a cosine over the UTC day), plus noise that drifts over minutes. Stays
 * within mean ± (dailySwing + noise).
 */
export function dailyTemperature(opts: {
  seed: number;
  key?: string;
  mean?: number;
  dailySwing?: number;
  noise?: number;
  warmestHourUtc?: number;
}): Signal {
  const { seed, key = 'temperature', mean = 15, dailySwing = 5, noise = 0.5, warmestHourUtc = 14 } = opts;
  return {
    key,
    at(t) {
      const daily = Math.cos((TAU * (t / HOUR_MS - warmestHourUtc)) / 24);
      return round(mean + dailySwing * daily + noise * fractalNoise(seed, t / 600_000), 2);
    },
  };
}

/**
 * A value that wanders like a random walk, yet is a pure function of time
 * (fractal noise, one slow swing per `scaleMs`) and never leaves [min, max].
 */
export function randomWalk(opts: {
  seed: number;
  key?: string;
  min?: number;
  max?: number;
  scaleMs?: number;
  digits?: number;
}): Signal {
  const { seed, key = 'walk', min = 0, max = 100, scaleMs = 300_000, digits = 2 } = opts;
  const center = (min + max) / 2;
  const half = (max - min) / 2;
  return { key, at: (t) => round(center + half * fractalNoise(seed, t / scaleMs), digits) };
}

/**
 * A household's electrical load (kW): a base load, a daily hump and an
 * appliance cycle. Each part is ≥ 0 and has a closed-form integral, so the
 * energy register is a pure function of time that can only go up.
 */
export interface LoadProfile {
  baseKw: number;
  dailyKw: number;
  cycleKw: number;
  cycleMs: number;
  /** Phases in radians. */
  dailyPhase: number;
  cyclePhase: number;
}

export function loadProfile(seed: number): LoadProfile {
  return {
    baseKw: 0.2 + 0.3 * hashUnit(seed, 1),
    dailyKw: 0.5 + 1.5 * hashUnit(seed, 2),
    cycleKw: 0.5 + 2 * hashUnit(seed, 3),
    cycleMs: (20 + 40 * hashUnit(seed, 4)) * 60_000,
    dailyPhase: TAU * (0.6 + 0.2 * hashUnit(seed, 5)),
    cyclePhase: TAU * hashUnit(seed, 6),
  };
}

/** (1 − cos(ωt − φ)) / 2 ∈ [0, 1] and its integral over hours. */
const hump = (t: number, periodMs: number, phase: number) => (1 - Math.cos((TAU * t) / periodMs - phase)) / 2;
const humpHours = (t: number, periodMs: number, phase: number) => {
  const omegaPerHour = (TAU * HOUR_MS) / periodMs;
  return t / HOUR_MS / 2 - Math.sin((TAU * t) / periodMs - phase) / (2 * omegaPerHour);
};

function powerKw(p: LoadProfile, t: number): number {
  return p.baseKw + p.dailyKw * hump(t, DAY_MS, p.dailyPhase) + p.cycleKw * hump(t, p.cycleMs, p.cyclePhase);
}

function energyKwh(p: LoadProfile, t: number): number {
  return (
    (p.baseKw * t) / HOUR_MS +
    p.dailyKw * humpHours(t, DAY_MS, p.dailyPhase) +
    p.cycleKw * humpHours(t, p.cycleMs, p.cyclePhase)
  );
}

/** Registers count from here, so that readings look like a meter's rather than 50 years of energy. */
const METER_EPOCH = Date.UTC(2024, 0, 1);

/** A smart meter's energy register (kWh, 3 decimals): monotonic, never decreasing. */
export function energyRegister(opts: { profile: LoadProfile; startKwh?: number; key?: string }): Signal {
  const { profile, startKwh = 0, key = 'energy_kwh' } = opts;
  const origin = energyKwh(profile, METER_EPOCH);
  return { key, at: (t) => round(startKwh + energyKwh(profile, t) - origin, 3) };
}

/** The meter's instantaneous power (W): the derivative of its register. */
export function meterPower(opts: { profile: LoadProfile; key?: string }): Signal {
  const { profile, key = 'power_w' } = opts;
  return { key, at: (t) => round(powerKw(profile, t) * 1000, 1) };
}

/**
 * On/off (a pump, a relay, a door): time is cut into slots of `periodMs`; in
 * each slot the state is on with probability `duty`.
 */
export function onOff(opts: { seed: number; key?: string; periodMs?: number; duty?: number }): Signal {
  const { seed, key = 'on', periodMs = 60_000, duty = 0.5 } = opts;
  return { key, at: (t) => hashUnit(seed, Math.floor(t / periodMs)) < duty };
}

/** `signal` while `gate` is on, `offValue` otherwise (a pump's flow is 0 while it stands still). */
export function gated(signal: Signal, gate: Signal, offValue: SignalValue = 0): Signal {
  return { key: signal.key, at: (t) => (gate.at(t) === true ? signal.at(t) : offValue) };
}

/** The signals `--signals` can name, each with the parameters a generic device would have. */
export const SIGNAL_NAMES = ['sine', 'temperature', 'random-walk', 'meter', 'on-off'] as const;
export type SignalName = (typeof SIGNAL_NAMES)[number];

export function namedSignal(name: SignalName, seed: number): Signal {
  switch (name) {
    case 'sine':
      return sineWave({ phase: hashUnit(seed, 10) });
    case 'temperature':
      return dailyTemperature({ seed, mean: 10 + 10 * hashUnit(seed, 11) });
    case 'random-walk':
      return randomWalk({ seed });
    case 'meter':
      return energyRegister({
        profile: loadProfile(seed),
        startKwh: Math.round(20_000 * hashUnit(seed, 12)),
      });
    case 'on-off':
      return onOff({ seed });
  }
}
