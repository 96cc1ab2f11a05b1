import type { BrokerName } from './brokers.js';
import type { Metric } from '../scenarios/types.js';

/** One scenario run against one broker: its metrics, or why there are none. */
export interface RunRecord {
  scenario: string;
  broker: BrokerName;
  run: number;
  metrics: Metric[];
  error: string | null;
}

export interface Cell {
  median: number | null;
  values: (number | null)[];
  /** Runs that lost messages or failed, with the first reason. */
  failed: number;
  firstFailure: string | null;
  genCpu: number | null;
  brokerCpu: number | null;
  otherCpu: number | null;
  extra: string | null;
  unsupported: boolean;
}

export interface Row {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  cells: Partial<Record<BrokerName, Cell>>;
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/** Groups records into one row per metric key (in first-seen order) and one cell per broker. */
export function summarise(records: RunRecord[], brokers: readonly BrokerName[]): Row[] {
  const rows = new Map<string, Row>();
  const byCell = new Map<string, Metric[]>();
  const errors = new Map<string, string[]>();
  for (const r of records) {
    if (r.error !== null) {
      const list = errors.get(r.scenario + '\0' + r.broker) ?? [];
      list.push(r.error);
      errors.set(r.scenario + '\0' + r.broker, list);
    }
    for (const m of r.metrics) {
      if (!rows.has(m.key))
        rows.set(m.key, { key: m.key, label: m.label, unit: m.unit, better: m.better, cells: {} });
      const id = m.key + '\0' + r.broker;
      byCell.set(id, [...(byCell.get(id) ?? []), m]);
    }
  }
  const scenarioOf = new Map<string, string>();
  for (const r of records) for (const m of r.metrics) scenarioOf.set(m.key, r.scenario);
  for (const row of rows.values()) {
    for (const b of brokers) {
      const ms = byCell.get(row.key + '\0' + b) ?? [];
      const errs = errors.get((scenarioOf.get(row.key) ?? '') + '\0' + b) ?? [];
      if (ms.length === 0 && errs.length === 0) continue;
      const good = ms.filter((m) => finite(m.value));
      const failed = ms.filter((m) => !finite(m.value) && !m.unsupported);
      const failures = [...errs, ...failed.map((m) => m.loss ?? 'no figure')];
      row.cells[b] = {
        median: median(good.map((m) => m.value as number)),
        values: ms.map((m) => (finite(m.value) ? m.value : null)),
        failed: failures.length,
        firstFailure: failures[0] ?? null,
        genCpu: median(ms.map((m) => m.genCpu).filter(finite)),
        brokerCpu: median(ms.map((m) => m.brokerCpu).filter(finite)),
        otherCpu: median(ms.map((m) => m.otherCpu).filter(finite)),
        extra: ms.map((m) => m.extra).find((e) => e !== undefined) ?? null,
        unsupported: ms.length > 0 && ms.every((m) => m.unsupported),
      };
    }
  }
  return [...rows.values()];
}

export function ratio(row: Row, a: BrokerName, b: BrokerName): number | null {
  const x = row.cells[a]?.median;
  const y = row.cells[b]?.median;
  return finite(x) && finite(y) && y > 0 ? x / y : null;
}
