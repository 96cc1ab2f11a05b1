// Shared helpers for this folder's tests; nothing in production imports this file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import type { ConnectionInfo } from '../broker/connection-info.js';
import { BrokerStats } from '../broker/stats.js';
import type { Logger } from '../core/logger.js';
import type { ConnectionSink } from './connection-sink.js';
import type { ListenersConfig } from './listener-config.js';

export interface Accepted {
  stream: Duplex;
  info: ConnectionInfo;
}

/** Stands in for the broker: echoes every byte back and lets a test await each arrival. */
export class EchoSink implements ConnectionSink {
  readonly stats = new BrokerStats();
  readonly accepted: Accepted[] = [];
  private unclaimed: Accepted[] = [];
  private waiters: ((a: Accepted) => void)[] = [];

  handleConnection(stream: Duplex, info: ConnectionInfo): void {
    stream.on('data', (chunk: Buffer) => stream.write(chunk));
    const arrival = { stream, info };
    this.accepted.push(arrival);
    const waiter = this.waiters.shift();
    if (waiter) waiter(arrival);
    else this.unclaimed.push(arrival);
  }

  /** Resolves with the next connection not yet claimed by an earlier next(). */
  next(): Promise<Accepted> {
    const ready = this.unclaimed.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export function disabledListeners(): ListenersConfig {
  const base = { enabled: false, host: '127.0.0.1', port: 0, allowAnonymous: false };
  return {
    mqtt: { ...base },
    mqtts: { ...base, requestClientCert: false },
    http: { ...base },
    https: { ...base, requestClientCert: false },
  };
}

/** A debug-level logger whose lines a test can inspect. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'halyard-transport-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
