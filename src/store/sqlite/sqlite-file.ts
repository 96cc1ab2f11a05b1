import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { Migration } from './migrations.js';
import { openSqliteDatabase, sqliteStoreError, type SqliteOpenOptions } from './open-database.js';
import { WalSync } from './wal-sync.js';

/**
 * One SQLite file of a store on the hot write path (telemetry, ThingSpeak):
 * statements prepared once per SQL text, work run synchronously with its
 * errors turned into HalyardErrors, and writes that resolve only once durable.
 *
 * Durability `full` (the default) is kept by syncing the WAL off the event
 * loop (wal-sync.ts says how) rather than by SQLite's synchronous=FULL, so
 * one store's disk wait does not hold up every other client.
 */
export class SqliteFile {
  private readonly statements = new Map<string, Statement>();

  private constructor(
    readonly db: Database.Database,
    private readonly path: string,
    private readonly wal: WalSync | undefined,
  ) {}

  static open(
    path: string,
    schema: { name: string; migrations: readonly Migration[]; foreignKeys?: boolean },
    opts: SqliteOpenOptions = {},
  ): SqliteFile {
    const full = (opts.synchronous ?? 'full') === 'full' && path !== ':memory:';
    const db = openSqliteDatabase(path, schema, { ...opts, synchronous: 'normal' });
    return new SqliteFile(db, path, full ? new WalSync(`${path}-wal`) : undefined);
  }

  /** Runs `fn` now; its result or error (as a HalyardError) in a promise, as the store interfaces want. */
  run<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(sqliteStoreError(`could not ${what}`, this.path, err));
    }
  }

  /** Like run() for work that commits: resolves once the commit is durable. */
  async write<T>(what: string, fn: () => T): Promise<T> {
    const result = await this.run(what, fn);
    if (this.wal) await this.wal.durable();
    return result;
  }

  statement(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  async close(): Promise<void> {
    await this.wal?.close();
    this.statements.clear();
    if (this.db.open) this.db.close();
  }
}
