import { BROKERS, type BrokerName } from './brokers.js';
import { scenarios, findScenario } from '../scenarios/index.js';
import type { Scenario } from '../scenarios/types.js';

export interface BenchArgs {
  quick: boolean;
  runs: number;
  scenarios: Scenario[];
  brokers: BrokerName[];
  write: boolean;
  strict: boolean;
}

export const USAGE = `Usage: bench/run.sh [--quick] [--runs N] [--only s1,s2] [--brokers halyard,aedes,mosquitto] [--no-write] [--strict]
  --quick     the CI subset: ${scenarios
    .filter((s) => s.quick)
    .map((s) => s.name)
    .join(', ')}; short phases, 1 run, nothing written
  --strict    exit 1 when any run lost messages or failed
Scenarios: ${scenarios.map((s) => s.name).join(', ')}`;

export function parseArgs(argv: string[]): BenchArgs {
  const quick = argv.includes('--quick');
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = value('--only');
  const brokers = (value('--brokers')?.split(',') ?? [...BROKERS]) as BrokerName[];
  for (const b of brokers) if (!BROKERS.includes(b)) throw new Error(`unknown broker ${b}`);
  const runs = Number(value('--runs') ?? (quick ? 1 : 3));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');
  return {
    quick,
    runs,
    scenarios: only ? only.split(',').map(findScenario) : scenarios.filter((s) => !quick || s.quick),
    brokers,
    write: !quick && !argv.includes('--no-write'),
    strict: argv.includes('--strict'),
  };
}
