import type { CpuFigures } from '../gen/timing.js';
import type { BrokerName, HalyardOptions, RunningBroker } from '../lib/brokers.js';

/** One figure a scenario produces in one run against one broker. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  /** null when the run could not produce a trustworthy figure (see `loss`). */
  value: number | null;
  /** Why the run is not a rate: messages lost, duplicated, a broken connection… */
  loss: string | null;
  /** CPU used during the measured interval, as a fraction of one core. */
  genCpu: number;
  brokerCpu: number;
  /** The rest of the machine (other processes, kernel network work) meanwhile. */
  otherCpu: number;
  /** The broker lacks the feature (e.g. `$share` in Aedes): neither a rate nor a loss. */
  unsupported?: boolean;
  /** Secondary figures worth printing beside the value (e.g. MB/s, connections reached). */
  extra?: string;
}

export interface ScenarioContext {
  port: number;
  brokerPid: number;
  quick: boolean;
  /** Halyard started with `halyard.http`: its REST API and admin password. */
  http?: RunningBroker['http'];
  /** The broker's data directory (e.g. to read Halyard's telemetry.db back). */
  dataDir?: string;
  /** Halyard started with `--database` (halyard.postgres): that database. */
  databaseUrl?: string;
}

export interface Scenario {
  name: string;
  title: string;
  /** Part of `npm run bench:quick`. */
  quick: boolean;
  /** The brokers it runs against, when not all (e.g. Halyard against itself). */
  brokers?: readonly BrokerName[];
  /** Top-level sections added to Halyard's config file for this scenario (e.g. `users`); made in the runner. */
  halyardConfig?(): Promise<Record<string, unknown>>;
  /** How Halyard is started for this scenario beyond its config file (e.g. with its HTTP API). */
  halyard?: HalyardOptions;
  /**
   * Where the broker runs: pinned to one CPU (the default: the comparisons
   * with the single-threaded Mosquitto need it), or `all`, free on every CPU
   * of the machine, the generator's included (a platform figure for the
   * whole machine; the generator stays pinned to its own CPU).
   */
  brokerCpus?: 'one' | 'all';
  /** Bound on one generator run (default 180 s, 60 s in the quick subset). */
  timeoutMs?: number;
  run(ctx: ScenarioContext): Promise<Metric[]>;
}

export function cpuFigures(c: CpuFigures): Pick<Metric, 'genCpu' | 'brokerCpu' | 'otherCpu'> {
  return { genCpu: c.genCpu, brokerCpu: c.brokerCpu, otherCpu: c.otherCpu };
}

/** Measurement phases: short in the quick subset, still past JIT warm-up. */
export const phases = (quick: boolean): { warmupMs: number; durationMs: number } =>
  quick ? { warmupMs: 400, durationMs: 1500 } : { warmupMs: 700, durationMs: 3000 };
