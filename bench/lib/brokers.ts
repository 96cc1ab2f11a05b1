/**
 * Starts the brokers under test, each as its own fresh process on a free
 * loopback port, pinned to one CPU when taskset exists (the generator gets the
 * other), and stops them with SIGKILL: every run starts from an empty broker.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BROKERS = ['halyard', 'aedes', 'mosquitto'] as const;
export type BrokerName = (typeof BROKERS)[number];

export const MOSQUITTO = '/usr/sbin/mosquitto';
const here = path.dirname(fileURLToPath(import.meta.url));
const HALYARD_CLI = path.join(here, '../../src/cli/main.js');
const AEDES_SERVER = path.join(here, 'aedes-server.js');

export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** Prefixes a command with `taskset -c <cpus>` (a CPU, or a list such as `0-1`) when pinning is possible. */
export function pinned(cpus: number | string, command: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(cpus), command, ...args]] : [command, args];
}

export interface RunningBroker {
  name: BrokerName;
  pid: number;
  port: number;
  /** Halyard with `http`: its REST API port and the platform admin's first-start password. */
  http?: { port: number; adminPassword: string };
  /** The broker's temporary data directory (removed by stop()). */
  dataDir: string;
  stop(): Promise<void>;
}

/** Halyard only: what a scenario needs beyond the broker (e.g. the REST API to set up devices). */
export interface HalyardOptions {
  /** Enables the HTTP listener on a free loopback port and reads the admin password from stdout. */
  http?: boolean;
  /** `--database`: the registry (and telemetry) in this PostgreSQL database. */
  databaseUrl?: string;
  /** The runner starts a throw-away PostgreSQL cluster (bench/lib/postgres.ts) and sets databaseUrl. */
  postgres?: boolean;
}

export function available(name: BrokerName): string | null {
  if (name === 'mosquitto' && !existsSync(MOSQUITTO)) return `${MOSQUITTO} not installed`;
  return null;
}

/** `halyardConfig`: top-level sections added to Halyard's config file (ignored for the others). */
export async function startBroker(
  name: BrokerName,
  cpus: number | string,
  halyardConfig: Record<string, unknown> = {},
  halyardOptions: HalyardOptions = {},
): Promise<RunningBroker> {
  const delayUs = syncDelayUs(name);
  const dir = mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
  const port = await freePort();
  const httpPort = name === 'halyard' && halyardOptions.http ? await freePort() : undefined;
  const [command, args] = withSyncDelay(
    delayUs,
    ...pinned(cpus, ...commandFor(name, port, dir, halyardConfig, { ...halyardOptions, httpPort })),
  );
  const child = spawn(command, args, {
    stdio: ['ignore', httpPort === undefined ? 'ignore' : 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  // Only the first-start banner matters (the admin password); later output is read and dropped.
  child.stdout?.on('data', (d: Buffer) => {
    if (stdout.length < 8192) stdout += d.toString();
  });
  const traced = delayUs !== undefined;
  const stop = async (): Promise<void> => {
    // A traced broker outlives its tracer's death: it is killed first.
    if (traced && child.pid !== undefined) killTracedChild(child.pid);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let http: RunningBroker['http'];
  try {
    await waitForPort(port, child);
    if (httpPort !== undefined) {
      await waitForPort(httpPort, child);
      const adminPassword = await waitForPassword(() => stdout, child);
      http = { port: httpPort, adminPassword };
    }
  } catch (err) {
    await stop();
    throw new Error(`${name} did not start: ${(err as Error).message} ${stderr.trim()}`);
  }
  let pid = child.pid;
  try {
    if (traced && pid !== undefined) pid = tracedChild(pid);
  } catch (err) {
    await stop();
    throw err;
  }
  if (pid === undefined) throw new Error(`${name} has no pid`);
  return { name, pid, port, ...(http ? { http } : {}), dataDir: dir, stop };
}

/**
 * `BENCH_SYNC_DELAY_US=N`: every `fdatasync` of Halyard returns N µs later,
 * as on a disk slower than this machine's, so that a commit policy can be
 * judged where syncs are slow (its worth depends on how long one takes).
 * strace injects the delay; with seccomp it stops Halyard at that call only.
 */
function syncDelayUs(name: BrokerName): string | undefined {
  const us = process.env.BENCH_SYNC_DELAY_US;
  if (us === undefined || name !== 'halyard') return undefined;
  if (!/^\d{1,7}$/.test(us)) throw new Error(`BENCH_SYNC_DELAY_US must be microseconds, not ${us}`);
  if (spawnSync('strace', ['-V']).status !== 0)
    throw new Error('BENCH_SYNC_DELAY_US needs strace (apt-get install -y strace)');
  return us;
}

function withSyncDelay(us: string | undefined, command: string, args: string[]): [string, string[]] {
  if (us === undefined) return [command, args];
  const trace = ['--seccomp-bpf', '-f', '-qq', '-o', '/dev/null', '-e', 'trace=fdatasync'];
  return ['strace', [...trace, '-e', `inject=fdatasync:delay_exit=${us}`, command, ...args]];
}

/** The process strace runs (taskset execs the broker in place): the one to measure and to kill. */
function tracedChild(tracer: number): number {
  const children = readFileSync(`/proc/${tracer}/task/${tracer}/children`, 'utf8').trim().split(' ');
  if (children.length !== 1 || !/^\d+$/.test(children[0]))
    throw new Error(`strace ${tracer} runs ${children.length} processes, expected one`);
  return Number(children[0]);
}

function killTracedChild(tracer: number): void {
  try {
    process.kill(tracedChild(tracer), 'SIGKILL');
  } catch {
    // the tracer or the broker is gone already
  }
}

/** The `  password: <pw>` line Halyard prints on its first start, after "First start: created the platform admin". */
async function waitForPassword(
  stdout: () => string,
  child: ChildProcess,
  timeoutMs = 15_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = stdout();
    const at = text.indexOf('First start: created the platform admin');
    const match = at >= 0 ? /^ {2}password: (\S+)$/m.exec(text.slice(at)) : null;
    if (match) return match[1];
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error('exited before printing the admin password');
    if (Date.now() > deadline) throw new Error(`no admin password on stdout after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function commandFor(
  name: BrokerName,
  port: number,
  dir: string,
  halyardConfig: Record<string, unknown>,
  opts: HalyardOptions & { httpPort?: number },
): [string, string[]] {
  switch (name) {
    case 'halyard': {
      const conf = path.join(dir, 'halyard.json');
      // Every connection comes from 127.0.0.1: the per-address connect rate limit would throttle the generator.
      const security = {
        ...(halyardConfig.security as Record<string, unknown> | undefined),
        connectRate: { perAddressPerSecond: 0 },
      };
      // The line listeners only where a scenario opens them (fixed ports would collide between runs).
      const listeners = {
        line: { enabled: false },
        lines: { enabled: false },
        ...(halyardConfig.listeners as Record<string, unknown> | undefined),
      };
      const config = { ...halyardConfig, security, listeners };
      writeFileSync(conf, JSON.stringify(config));
      const http =
        opts.httpPort === undefined
          ? ['--listeners.http.enabled', 'false']
          : ['--listeners.http.host', '127.0.0.1', '--listeners.http.port', String(opts.httpPort)];
      return [
        process.execPath,
        [
          // e.g. BENCH_HALYARD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile Halyard under a scenario's load.
          ...(process.env.BENCH_HALYARD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          HALYARD_CLI,
          'start',
          '--config',
          conf,
          '--data-dir',
          dir,
          '--port',
          String(port),
          '--listeners.mqtt.host',
          '127.0.0.1',
          '--listeners.mqtt.allow-anonymous',
          '--listeners.mqtts.enabled',
          'false',
          ...http,
          ...(opts.databaseUrl === undefined ? [] : ['--database', opts.databaseUrl]),
          '--listeners.https.enabled',
          'false',
          '--log-level',
          'warn',
        ],
      ];
    }
    case 'aedes':
      return [process.execPath, [AEDES_SERVER, String(port)]];
    case 'mosquitto': {
      const conf = path.join(dir, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          `listener ${port} 127.0.0.1`,
          'allow_anonymous true',
          'set_tcp_nodelay true',
          'max_inflight_messages 1000',
          'max_queued_messages 100000',
          'persistence false',
          'log_dest stderr',
          'log_type error',
          '',
        ].join('\n'),
      );
      return [MOSQUITTO, ['-c', conf]];
    }
  }
}

/** A loopback port free right now (for a listener the broker is about to open). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited with ${child.exitCode ?? child.signalCode}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} not open after ${timeoutMs} ms`);
}
