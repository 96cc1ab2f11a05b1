import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino, type Logger } from 'pino';

/** The rows of a table, counted through a connection of its own (what is committed). */
export function countRows(path: string, table: string): number {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

/** A logger that keeps its lines, and whose first error line (pino level 50) a test can wait for. */
export function capturingLogger(): {
  logger: Logger;
  lines: Record<string, unknown>[];
  firstError: Promise<Record<string, unknown>>;
} {
  const lines: Record<string, unknown>[] = [];
  let caught: (line: Record<string, unknown>) => void = () => undefined;
  const firstError = new Promise<Record<string, unknown>>((resolve) => (caught = resolve));
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const line = JSON.parse(chunk.toString()) as Record<string, unknown>;
      lines.push(line);
      if (line.level === 50) caught(line);
      done();
    },
  });
  return { logger: pino(sink), lines, firstError };
}
