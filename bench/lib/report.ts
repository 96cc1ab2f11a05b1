/** Markdown for the console, bench/results/<date>.md and the summary in BENCHMARKS.md. */
import type { BrokerName } from './brokers.js';
import type { MachineInfo } from './machine.js';
import { ratio, type Cell, type Row } from './stats.js';
import type { TargetResult } from './targets.js';

const NAMES: Record<BrokerName, string> = { halyard: 'Halyard', aedes: 'Aedes', mosquitto: 'Mosquitto' };

export function formatValue(x: number, unit: string): string {
  if (unit === 'ms') return x < 10 ? x.toFixed(2) : x.toFixed(0);
  if (unit === '×') return x.toFixed(2);
  return Math.round(x).toLocaleString('en-US');
}

const pct = (x: number | null): string => (x === null ? '—' : `${Math.round(x * 100)}%`);

function cellText(cell: Cell | undefined, unit: string): string {
  if (!cell) return '—';
  if (cell.unsupported) return 'unsupported';
  const runs = cell.values.length + (cell.failed - cell.values.filter((v) => v === null).length);
  if (cell.median === null) return `**LOSS** (${cell.failed}/${runs})`;
  const base = formatValue(cell.median, unit);
  return cell.failed ? `${base} (**LOSS** in ${cell.failed}/${runs})` : base;
}

export function summaryTable(rows: Row[], brokers: readonly BrokerName[]): string {
  const others = brokers.filter((b) => b !== 'halyard');
  const head = [
    'Scenario',
    'Unit',
    ...brokers.map((b) => NAMES[b]),
    ...others.map((b) => `Halyard/${NAMES[b]}`),
  ];
  const lines = [row(head), row(head.map(() => '---'))];
  for (const r of rows) {
    const ratios = others.map((b) => {
      const x = ratio(r, 'halyard', b);
      return x === null ? '—' : `${x.toFixed(2)}×`;
    });
    lines.push(
      row([
        r.label,
        `${r.unit} (${r.better === 'higher' ? '↑' : '↓'})`,
        ...brokers.map((b) => cellText(r.cells[b], r.unit)),
        ...ratios,
      ]),
    );
  }
  return lines.join('\n');
}

export function targetsTable(targets: TargetResult[]): string {
  return [
    row(['Target', 'Measured (medians)', 'Verdict']),
    row(['---', '---', '---']),
    ...targets.map((t) => row([t.target, t.measured, t.verdict === 'met' ? 'met' : `**${t.verdict}**`])),
  ].join('\n');
}

/** Every run's figure with the generator's and the broker's CPU, so a saturated generator shows. */
export function detailTable(rows: Row[], brokers: readonly BrokerName[]): string {
  const lines = [
    row(['Scenario', 'Broker', 'Runs', 'Generator CPU', 'Broker CPU', 'Other CPU', 'Notes']),
    row(['---', '---', '---', '---', '---', '---', '---']),
  ];
  for (const r of rows) {
    for (const b of brokers) {
      const c = r.cells[b];
      if (!c) continue;
      const runs = c.unsupported
        ? 'unsupported'
        : c.values.map((v) => (v === null ? 'LOSS' : formatValue(v, r.unit))).join(', ');
      const notes = [c.extra, c.firstFailure].filter((x) => x !== null).join('; ');
      lines.push(
        row([r.label, NAMES[b], runs || 'LOSS', pct(c.genCpu), pct(c.brokerCpu), pct(c.otherCpu), notes]),
      );
    }
  }
  return lines.join('\n');
}

export function machineList(m: MachineInfo): string {
  return [
    `- Machine: ${m.cpus} CPUs (\`nproc\`), ${m.cpuModel}, ${m.memory} RAM; open-file limit ${m.fdLimit}`,
    `- Pinning: ${m.pinning}`,
    `- Node.js ${m.node}; Mosquitto ${m.mosquitto}; Aedes ${m.aedes}; Halyard commit ${m.halyard}`,
  ].join('\n');
}

export interface ReportInput {
  date: string;
  machine: MachineInfo;
  runs: number;
  quick: boolean;
  rows: Row[];
  targets: TargetResult[];
  brokers: readonly BrokerName[];
  minutes: number;
}

export function resultsFile(r: ReportInput): string {
  return [
    `# Benchmark results ${r.date}`,
    '',
    machineList(r.machine),
    `- Runs: ${r.runs} per scenario and broker, interleaved, each against a freshly started broker; medians below (${r.minutes.toFixed(1)} min in all)`,
    '',
    '## Medians',
    '',
    summaryTable(r.rows, r.brokers),
    '',
    '↑ higher is better, ↓ lower is better; a ratio below 1 is better for ↓ rows.',
    '',
    '## Targets',
    '',
    targetsTable(r.targets),
    '',
    '## Every run',
    '',
    'CPU is a fraction of one core over the measured interval (medians of the runs): the generator',
    "process, the broker process, and everything else on the machine (other processes and the kernel's",
    'loopback network work, which no process is charged for).',
    '',
    detailTable(r.rows, r.brokers),
    '',
  ].join('\n');
}

/** The generated part of BENCHMARKS.md, between its markers. */
export function benchmarksSummary(r: ReportInput, resultsPath: string): string {
  return [
    `Last full run: ${r.date} ([${resultsPath}](${resultsPath}), every run and CPU figures there).`,
    '',
    machineList(r.machine),
    `- ${r.runs} runs per scenario and broker, interleaved; medians`,
    '',
    summaryTable(r.rows, r.brokers),
    '',
    '### Targets',
    '',
    targetsTable(r.targets),
  ].join('\n');
}

const row = (cells: string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
