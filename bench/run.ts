/**
 * `npm run bench` / `npm run bench:quick`: runs the scenarios against Halyard,
 * Aedes and Mosquitto, prints the medians and ratios, and (full runs) writes
 * bench/results/<date>.md and the summary in BENCHMARKS.md. Start it through
 * bench/run.sh, which raises the open-file limit first.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE } from './lib/args.js';
import { machineInfo } from './lib/machine.js';
import {
  benchmarksSummary,
  resultsFile,
  summaryTable,
  targetsTable,
  type ReportInput,
} from './lib/report.js';
import { runAll } from './lib/runner.js';
import { summarise } from './lib/stats.js';
import { judgeTargets } from './lib/targets.js';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START = '<!-- results:start -->';
const END = '<!-- results:end -->';

if (process.argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const args = parseArgs(process.argv.slice(2));
const t0 = Date.now();
const machine = machineInfo();
console.log(
  `bench: ${args.scenarios.map((s) => s.name).join(', ')} × ${args.brokers.join(', ')} × ${args.runs} run(s)`,
);
const records = await runAll({ ...args, log: (line) => console.log(line) });
const rows = summarise(records, args.brokers);
const report: ReportInput = {
  date: new Date().toISOString().slice(0, 10),
  machine,
  runs: args.runs,
  quick: args.quick,
  rows,
  targets: judgeTargets(rows),
  brokers: args.brokers,
  minutes: (Date.now() - t0) / 60_000,
};
console.log(`\n${summaryTable(rows, args.brokers)}\n`);
if (!args.quick) console.log(`${targetsTable(report.targets)}\n`);

if (args.write) {
  const rel = `bench/results/${report.date}.md`;
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, rel), resultsFile(report));
  const mdPath = path.join(ROOT, 'BENCHMARKS.md');
  const md = readFileSync(mdPath, 'utf8');
  const a = md.indexOf(START);
  const b = md.indexOf(END);
  if (a >= 0 && b > a) {
    writeFileSync(
      mdPath,
      `${md.slice(0, a + START.length)}\n\n${benchmarksSummary(report, rel)}\n\n${md.slice(b)}`,
    );
  }
  // BENCHMARKS.md is checked by `prettier --check .` in `npm test`.
  spawnSync(path.join(ROOT, 'node_modules/.bin/prettier'), ['--write', mdPath], { stdio: 'ignore' });
  console.log(`wrote ${rel}${a >= 0 && b > a ? ' and BENCHMARKS.md' : ''}`);
}
const failed = records.some(
  (r) => r.error !== null || r.metrics.some((m) => m.value === null && !m.unsupported),
);
if (failed) console.log('some runs lost messages or failed: see LOSS / ERROR above');
process.exit(args.strict && failed ? 1 : 0);
