/**
 * The interleaved loop: for each scenario, run 1..N, each broker in turn
 * (A B C A B C …), each time a fresh broker process and a fresh generator.
 */
import os from 'node:os';
import { available, startBroker, type BrokerName, type HalyardOptions } from './brokers.js';
import { runGenerator } from './generator.js';
import { startPostgres, type BenchPostgres } from './postgres.js';
import { waitForQuiet } from './quiet.js';
import { formatValue } from './report.js';
import type { RunRecord } from './stats.js';
import type { Scenario } from '../scenarios/types.js';

const BROKER_CPU = 0;
const GENERATOR_CPU = 1;
/** A scenario with `brokerCpus: 'all'`: the broker may run on every CPU (the generator's too). */
const ALL_CPUS = `0-${os.availableParallelism() - 1}`;
/** Other CPU (fraction of a core) above which a run counts as disturbed by a neighbour. */
const DISTURBED = 0.35;
const MAX_REPEATS = 2;

export interface RunPlan {
  scenarios: Scenario[];
  brokers: BrokerName[];
  runs: number;
  quick: boolean;
  log: (line: string) => void;
}

export async function runAll(plan: RunPlan): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  const brokers = plan.brokers.filter((b) => {
    const why = available(b);
    if (why) plan.log(`skipping ${b}: ${why}`);
    return why === null;
  });
  for (const scenario of plan.scenarios) {
    const targets = brokers.filter((b) => scenario.brokers?.includes(b) ?? true);
    for (let run = 1; run <= plan.runs; run++) {
      for (const broker of targets) {
        records.push(await runUndisturbed(scenario, broker, run, plan));
      }
    }
  }
  return records;
}

/** Runs once, and again (at most MAX_REPEATS times) when other processes took a real share of the CPUs meanwhile. */
async function runUndisturbed(
  scenario: Scenario,
  broker: BrokerName,
  run: number,
  plan: RunPlan,
): Promise<RunRecord> {
  for (let attempt = 0; ; attempt++) {
    // The quick subset (CI) must stay short: a brief wait and no repeats.
    const waited = await waitForQuiet(plan.quick ? 3000 : 60_000);
    if (waited < 0) plan.log('machine still busy (other processes); running anyway');
    const record = await runOnce(scenario, broker, run, plan.quick);
    plan.log(describe(record));
    const other = Math.max(0, ...record.metrics.map((m) => m.otherCpu).filter(Number.isFinite));
    if (other <= DISTURBED || attempt >= (plan.quick ? 0 : MAX_REPEATS)) return record;
    plan.log(`  other processes used ${Math.round(other * 100)}% of a CPU meanwhile: repeating`);
  }
}

async function runOnce(
  scenario: Scenario,
  broker: BrokerName,
  run: number,
  quick: boolean,
): Promise<RunRecord> {
  const record: RunRecord = { scenario: scenario.name, broker, run, metrics: [], error: null };
  let running;
  let postgres: BenchPostgres | undefined;
  try {
    const config = broker === 'halyard' ? await scenario.halyardConfig?.() : undefined;
    const options: HalyardOptions = broker === 'halyard' ? { ...scenario.halyard } : {};
    if (options.postgres) {
      // On the broker's CPU: Halyard and its database share one core, as Halyard and SQLite do.
      postgres = await startPostgres(BROKER_CPU);
      options.databaseUrl = postgres.url;
    }
    running = await startBroker(
      broker,
      scenario.brokerCpus === 'all' ? ALL_CPUS : BROKER_CPU,
      config,
      options,
    );
    record.metrics = await runGenerator({
      scenario: scenario.name,
      port: running.port,
      brokerPid: running.pid,
      quick,
      ...(running.http ? { http: running.http } : {}),
      dataDir: running.dataDir,
      ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
      cpu: GENERATOR_CPU,
      timeoutMs: scenario.timeoutMs ?? (quick ? 60_000 : 180_000),
    });
  } catch (err) {
    record.error = (err as Error).message;
  } finally {
    await running?.stop();
    await postgres?.stop();
  }
  return record;
}

function describe(r: RunRecord): string {
  const head = `${r.scenario} #${r.run} ${r.broker.padEnd(9)}`;
  if (r.error !== null) return `${head} ERROR ${r.error}`;
  return r.metrics
    .map((m) => {
      const pct = (x: number): number => Math.round(x * 100);
      const cpu = `CPU: gen ${pct(m.genCpu)}%, broker ${pct(m.brokerCpu)}%, other ${pct(m.otherCpu)}%`;
      const value = m.unsupported
        ? 'unsupported'
        : m.value === null
          ? `LOSS: ${m.loss}`
          : `${formatValue(m.value, m.unit)} ${m.unit}`;
      return `${head} ${m.key}: ${value}${Number.isFinite(m.genCpu) ? ` (${cpu})` : ''}${m.extra ? `; ${m.extra}` : ''}`;
    })
    .join('\n');
}
