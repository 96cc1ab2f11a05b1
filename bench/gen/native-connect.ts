/**
 * The C connector (bench/gen/connect-storm.c) for the connection scenarios.
 * Opening a TCP connection from Node costs the generator ~110 µs of CPU, so a
 * Node generator on one core tops out near 8,000 connects/s; the C connector
 * (epoll, non-blocking sockets, a pre-encoded CONNECT) costs a fraction of
 * that. bench/run.sh compiles it to dist/bench/gen/connect-storm when it is
 * missing or older than its source. It runs as a child of the generator
 * process and so inherits its CPU pinning; its CPU (getrusage) is counted as
 * the generator's.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(here, '../../..');
export const CONNECTOR_SOURCE = path.join(ROOT, 'bench/gen/connect-storm.c');
export const CONNECTOR = path.join(here, 'connect-storm');

/** What the connector prints (one JSON line). */
export interface ConnectorResult {
  connected: number;
  failed: number;
  /** From the first socket() to the last attempt settled. */
  seconds: number;
  rate: number;
  cpuUserMs: number;
  cpuSysMs: number;
  refused: number;
  reset: number;
  closed: number;
  badConnack: number;
  timeout: number;
  other: number;
  firstError: string | null;
}

/** Why the connector cannot be used (not built, or stale), or null when it can. */
export function connectorMissing(): string | null {
  if (!existsSync(CONNECTOR)) {
    return `${path.relative(ROOT, CONNECTOR)} is not built (bench/run.sh compiles it with cc; is cc installed?)`;
  }
  if (existsSync(CONNECTOR_SOURCE) && statSync(CONNECTOR_SOURCE).mtimeMs > statSync(CONNECTOR).mtimeMs) {
    return `${path.relative(ROOT, CONNECTOR)} is older than bench/gen/connect-storm.c (run bench/run.sh to rebuild it)`;
  }
  return null;
}

/**
 * The Node fallback is allowed only outside CI: under CI=true a missing
 * connector is an error, so a generator-bound figure is never published
 * unnoticed.
 */
export function nodeFallbackAllowed(): boolean {
  return process.env.CI !== 'true';
}

export interface ConnectorRun {
  result: ConnectorResult;
  /** Closes the held connections (hold mode) and waits, bounded, for the connector to exit. */
  release: () => Promise<void>;
}

export interface ConnectorOptions {
  port: number;
  count: number;
  concurrency: number;
  protocolVersion?: 4 | 5;
  /** Keep the connections open until release(). */
  hold?: boolean;
  timeoutMs?: number;
}

/** Runs the connector against 127.0.0.1:port; resolves once it has printed its result. */
export function runConnector(opts: ConnectorOptions): Promise<ConnectorRun> {
  const args = [
    '127.0.0.1',
    String(opts.port),
    String(opts.count),
    String(opts.concurrency),
    String(opts.protocolVersion ?? 4),
  ];
  if (opts.hold) args.push('hold');
  // In hold mode the EOF of stdin tells the connector to close everything and exit.
  const child = spawn(CONNECTOR, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // EPIPE when it has exited already
  if (!opts.hold) child.stdin.end();
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const release = async (): Promise<void> => {
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`connect-storm: ${why}${err.trim() ? `: ${err.trim()}` : ''}`));
    };
    // The connector bounds itself (10 s per attempt, 120 s per storm); this is the backstop.
    const timer = setTimeout(() => fail('no result in time'), opts.timeoutMs ?? 150_000);
    child.on('error', (e) => fail(e.message));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0 || settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        resolve({ result: JSON.parse(out.slice(0, nl)) as ConnectorResult, release });
      } catch (e) {
        child.kill('SIGKILL');
        reject(new Error(`connect-storm: unreadable result ${out.slice(0, 200)}: ${(e as Error).message}`));
      }
    });
    child.on('exit', (code, signal) => fail(`exited (${code ?? signal}) without a result`));
  });
}

/** CPU the connector used, in ms. */
export const connectorCpuMs = (r: ConnectorResult): number => r.cpuUserMs + r.cpuSysMs;

/** "reached N/M (F failed: …)" when anything failed. */
export function failureNote(r: ConnectorResult, target: number): string | undefined {
  if (r.failed === 0) return undefined;
  const kinds = (['refused', 'reset', 'closed', 'badConnack', 'timeout', 'other'] as const)
    .filter((k) => r[k] > 0)
    .map((k) => `${k} ${r[k]}`)
    .join(', ');
  return `reached ${r.connected}/${target} (${r.failed} failed: ${kinds}; first: ${r.firstError ?? '?'})`;
}
