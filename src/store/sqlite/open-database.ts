import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { HalyardError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { migrate, type Migration } from './migrations.js';

/**
 * How every SQLite file of Halyard is opened (broker, registry, telemetry,
 * ThingSpeak): WAL, the chosen durability, a busy timeout for a second process
 * (the CLI) reading the same file, and the file's own migrations.
 */

export interface SqliteOpenOptions {
  /** `full`: a commit survives power loss; `normal`: survives a crash of the process. */
  synchronous?: 'full' | 'normal';
  busyTimeoutMs?: number;
  logger?: Logger;
}

/** A HalyardError STORE_FAILURE for a failed SQLite operation, naming the file; HalyardErrors pass through. */
export function sqliteStoreError(message: string, path: string, cause?: unknown): HalyardError {
  if (cause instanceof HalyardError) return cause;
  const detail = cause instanceof Error ? cause.message : undefined;
  return new HalyardError('STORE_FAILURE', detail ? `${message}: ${detail}` : message, { path }, { cause });
}

export function openSqliteDatabase(
  path: string,
  schema: { name: string; migrations: readonly Migration[]; foreignKeys?: boolean },
  opts: SqliteOpenOptions = {},
): Database.Database {
  const log = opts.logger ?? silentLogger();
  let db: Database.Database | undefined;
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    // Per connection, and off by default: schemas with cascades and restrictions need it.
    if (schema.foreignKeys) db.pragma('foreign_keys = ON');
    const { from, to } = migrate(db, schema.migrations);
    if (from !== to) log.info({ path, from, to }, `sqlite ${schema.name} schema migrated`);
    return db;
  } catch (err) {
    db?.close();
    throw sqliteStoreError(`could not open the SQLite ${schema.name} store`, path, err);
  }
}
