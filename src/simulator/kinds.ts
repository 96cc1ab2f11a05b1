import { hashUnit, seedFromText } from './random.js';
import {
  dailyTemperature,
  energyRegister,
  gated,
  loadProfile,
  meterPower,
  namedSignal,
  onOff,
  randomWalk,
  sineWave,
  type Signal,
  type SignalName,
} from './signals.js';

/**
 * Kinds of simulated device (a weather station, a smart meter…): which
 * signals one publishes, and the registry type and name it gets. Every device
 * draws its own parameters from its seed, so no two weather stations agree.
 */
export interface DeviceKind {
  /** In device ids and in --mix: `<prefix>-<id>-<n>`. */
  id: string;
  /** The registry's device type. */
  type: string;
  /** Display names are "<label> <n>". */
  label: string;
  signals(seed: number): Signal[];
}

export const KINDS: readonly DeviceKind[] = [
  {
    id: 'weather',
    type: 'weather-station',
    label: 'Weather station',
    signals: (seed) => [
      dailyTemperature({ seed, mean: 8 + 14 * hashUnit(seed, 20), dailySwing: 3 + 4 * hashUnit(seed, 21) }),
      randomWalk({ seed: seed + 1, key: 'humidity', min: 30, max: 95, digits: 1 }),
      randomWalk({ seed: seed + 2, key: 'pressure', min: 990, max: 1035, scaleMs: 3_600_000, digits: 1 }),
    ],
  },
  {
    id: 'meter',
    type: 'smart-meter',
    label: 'Smart meter',
    signals: (seed) => {
      const profile = loadProfile(seed);
      const startKwh = Math.round(1000 + 30_000 * hashUnit(seed, 22));
      return [energyRegister({ profile, startKwh }), meterPower({ profile })];
    },
  },
  {
    id: 'pump',
    type: 'pump',
    label: 'Pump',
    signals: (seed) => {
      const running = onOff({ seed, key: 'running', periodMs: 120_000, duty: 0.6 });
      const flow = randomWalk({
        seed: seed + 1,
        key: 'flow_lpm',
        min: 20,
        max: 60,
        scaleMs: 60_000,
        digits: 1,
      });
      return [running, gated(flow, running)];
    },
  },
  {
    id: 'sine',
    type: 'signal-generator',
    label: 'Signal generator',
    signals: (seed) => [sineWave({ amplitude: 10, periodMs: 60_000, phase: hashUnit(seed, 23) })],
  },
];

/** The mix `halyard simulate` and `halyard demo` use unless told otherwise. */
export const DEFAULT_MIX = 'weather=8,meter=6,pump=4,sine=2';

/** A kind made of the signals named by --signals: every device publishes each of them. */
export function customKind(names: readonly SignalName[]): DeviceKind {
  return {
    id: 'custom',
    type: 'simulated',
    label: 'Simulated device',
    signals: (seed) => names.map((name, i) => namedSignal(name, seed + i)),
  };
}

export interface MixEntry {
  kind: DeviceKind;
  weight: number;
}

export interface PlannedDevice {
  id: string;
  name: string;
  kind: DeviceKind;
  /** Seeds this device's signals: the same id and run seed give the same curves. */
  seed: number;
}

/**
 * N devices shared out over the mix in proportion to the weights (largest
 * remainder, so the counts add up to N), numbered from 1 within each kind.
 * The ids depend only on the prefix, kind and number: a re-run with the same
 * options finds the same devices.
 */
export function planDevices(
  prefix: string,
  count: number,
  mix: readonly MixEntry[],
  seed: number,
): PlannedDevice[] {
  const total = mix.reduce((sum, e) => sum + e.weight, 0);
  const shares = mix.map((e) => (count * e.weight) / total);
  const counts = shares.map(Math.floor);
  let left = count - counts.reduce((a, b) => a + b, 0);
  const byRemainder = shares
    .map((s, i) => ({ i, r: s - Math.floor(s) }))
    .sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    counts[i]++;
    left--;
  }
  return mix.flatMap(({ kind }, k) =>
    Array.from({ length: counts[k] }, (_, n) => {
      const id = `${prefix}-${kind.id}-${n + 1}`;
      return { id, name: `${kind.label} ${n + 1}`, kind, seed: seedFromText(id, seed) };
    }),
  );
}
