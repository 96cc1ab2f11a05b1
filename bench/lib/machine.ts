/** What the figures were measured on, for the results file. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { hasTaskset, MOSQUITTO } from './brokers.js';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memory: string;
  node: string;
  mosquitto: string;
  aedes: string;
  halyard: string;
  pinning: string;
  fdLimit: string;
}

export function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const mosq = spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' });
  return {
    cpus: os.availableParallelism(),
    cpuModel: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    memory: `${(memKb / 2 ** 20).toFixed(1)} GiB`,
    node: process.version,
    mosquitto: /mosquitto version (\S+)/.exec(mosq.stdout ?? '')?.[1] ?? 'not installed',
    aedes: aedesVersion(),
    halyard: halyardCommit(),
    pinning: hasTaskset ? 'broker on CPU 0, generator on CPU 1 (taskset)' : 'none (taskset missing)',
    fdLimit: sh('bash', ['-c', 'ulimit -n']) ?? 'unknown',
  };
}

function aedesVersion(): string {
  try {
    // aedes exports only ".", so its package.json is read beside the entry point.
    const entry = createRequire(import.meta.url).resolve('aedes');
    const pkg = JSON.parse(readFileSync(path.join(path.dirname(entry), 'package.json'), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'not installed';
  }
}

function halyardCommit(): string {
  const commit = sh('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty = sh('git', ['status', '--porcelain', '--', 'src']);
  return dirty ? `${commit} + uncommitted changes in src/` : commit;
}

function sh(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
