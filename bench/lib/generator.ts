/** Runs one scenario in a generator child process against a running broker. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metric } from '../scenarios/types.js';
import { pinned, type RunningBroker } from './brokers.js';

const GENERATOR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../gen/main.js');

export interface GeneratorRun {
  scenario: string;
  port: number;
  brokerPid: number;
  quick: boolean;
  http?: RunningBroker['http'];
  dataDir?: string;
  databaseUrl?: string;
  cpu: number;
  timeoutMs: number;
}

export function runGenerator(run: GeneratorRun): Promise<Metric[]> {
  const { cpu, timeoutMs, ...ctx } = run;
  const [command, args] = pinned(cpu, process.execPath, [GENERATOR, JSON.stringify(ctx)]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`generator timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line)
        return reject(new Error(`generator exited (${code ?? signal}) without a result: ${err.trim()}`));
      const parsed = JSON.parse(line.slice(7)) as { metrics?: Metric[]; error?: string };
      if (parsed.error !== undefined) return reject(new Error(parsed.error));
      resolve(parsed.metrics ?? []);
    });
  });
}
