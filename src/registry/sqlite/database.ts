import Database, { type Statement } from 'better-sqlite3';
import { HalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { fieldOf, patchAssignments, type Insert, type PatchColumn } from '../sql/rows.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';
import { openSqliteDatabase } from '../../store/sqlite/open-database.js';

export interface RegistryDatabaseOptions {
  /** 'full' (default) survives power loss; 'normal' in WAL mode survives a process crash. */
  synchronous?: 'full' | 'normal';
  /** How long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  logger?: Logger;
}

/** better-sqlite3 binds neither booleans nor undefined. */
const bind = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v);

/**
 * The registry's SQLite file and the few ways the store uses it: statements
 * prepared once per SQL text, transactions, and errors turned into HalyardErrors.
 */
export class RegistryDatabase {
  private readonly statements = new Map<string, Statement>();

  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
  ) {}

  static open(path: string, opts: RegistryDatabaseOptions = {}): RegistryDatabase {
    const db = openSqliteDatabase(
      path,
      { name: 'registry', migrations: REGISTRY_MIGRATIONS, foreignKeys: true },
      opts,
    );
    return new RegistryDatabase(db, path);
  }

  /** Runs `fn` now; its result or error (as a HalyardError) in a promise, as the interface wants. */
  run<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(storeError(`could not ${what}`, this.path, err));
    }
  }

  /** A write transaction, taking the lock up front so a read inside it cannot go stale. */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** A read transaction: one snapshot for several statements. */
  read<T>(fn: () => T): T {
    return this.db.transaction(fn).deferred();
  }

  one<R, T>(sql: string, params: unknown[], decode: (row: R) => T): T | undefined {
    const row = this.statement(sql).get(...params.map(bind)) as R | undefined;
    return row === undefined ? undefined : decode(row);
  }

  list<R, T>(sql: string, params: unknown[], decode: (row: R) => T): T[] {
    return (this.statement(sql).all(...params.map(bind)) as R[]).map(decode);
  }

  /** Returns the number of rows changed. */
  exec(sql: string, ...params: unknown[]): number {
    return this.statement(sql).run(...params.map(bind)).changes;
  }

  count(sql: string, ...params: unknown[]): number {
    return (this.statement(sql).get(...params.map(bind)) as { n: number }).n;
  }

  /** Returns the new rowid. */
  insert(i: Insert): number {
    const placeholders = i.columns.map(() => '?').join(', ');
    const sql = `INSERT INTO ${i.table} (${i.columns.join(', ')}) VALUES (${placeholders})`;
    return Number(this.statement(sql).run(...i.values.map(bind)).lastInsertRowid);
  }

  /** Applies a patch to the row with this id; the updated record, or undefined when there is none. */
  patch<R, T>(
    table: string,
    id: string,
    patch: object,
    spec: readonly PatchColumn[],
    decode: (row: R) => T,
  ): T | undefined {
    const select = `SELECT * FROM ${table} WHERE id = ?`;
    const sets = patchAssignments(patch, spec);
    if (sets.length === 0) return this.one(select, [id], decode);
    return this.write(() => {
      const assignments = sets.map((s) => `${s.column} = ?`).join(', ');
      this.exec(`UPDATE ${table} SET ${assignments} WHERE id = ?`, ...sets.map((s) => s.value), id);
      return this.one(select, [id], decode);
    });
  }

  /** NOT_FOUND naming the field when a referenced record is missing (SQLite's own error names no key). */
  requireParent(table: string, field: string, id: string | null): void {
    if (id !== null && this.count(`SELECT count(*) AS n FROM ${table} WHERE id = ?`, id) === 0) {
      throw new HalyardError('NOT_FOUND', `${field} "${id}" names no existing record`, { field });
    }
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  /** Statements are prepared once per SQL text; the filter and patch combinations are few. */
  private statement(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }
}

function storeError(what: string, path: string, err: unknown): HalyardError {
  if (err instanceof HalyardError) return err;
  if (
    err instanceof Database.SqliteError &&
    (err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
  ) {
    // "UNIQUE constraint failed: credentials.kind, credentials.lookup": the last column names the key.
    const field = fieldOf(err.message.split(/[ .]/).pop() ?? 'id');
    return new HalyardError('CONFLICT', `${what}: the ${field} is taken`, { field }, { cause: err });
  }
  const detail = err instanceof Error ? err.message : undefined;
  return new HalyardError('STORE_FAILURE', detail ? `${what}: ${detail}` : what, { path }, { cause: err });
}
