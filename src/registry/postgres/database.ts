import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { HalyardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { patchAssignments, type Insert, type PatchColumn } from '../sql/rows.js';
import { CONSTRAINT_FIELDS, migratePostgres } from './migrations.js';
import { inTransaction, openMigratedPool, pgStoreError, type RegistryPool } from './pool.js';

export interface RegistryDatabaseOptions {
  /** Connections in the pool; default 10. */
  poolSize?: number;
  logger?: Logger;
}

/** The pool, or one client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | PoolClient;

/** `?` placeholders (the filter code shared with SQLite) → $1, $2, … from `first`. */
export function numbered(sql: string, first = 1): string {
  let n = first;
  return sql.replace(/\?/g, () => `$${n++}`);
}

/**
 * The registry's PostgreSQL pool and the few ways the store uses it: queries
 * that decode their rows, transactions, and errors turned into HalyardErrors.
 */
export class RegistryDatabase {
  readonly pool: pg.Pool;

  private constructor(private readonly connections: RegistryPool) {
    this.pool = connections.pool;
  }

  /** Connects and brings the schema up to date. */
  static async open(url: string, opts: RegistryDatabaseOptions = {}): Promise<RegistryDatabase> {
    const connections = await openMigratedPool(
      url,
      { name: 'registry', migrate: (pool) => migratePostgres(pool) },
      { size: opts.poolSize, logger: opts.logger },
    );
    return new RegistryDatabase(connections);
  }

  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storeError(`could not ${what}`, err);
    }
  }

  tx<T>(fn: (c: PoolClient) => Promise<T>, mode = ''): Promise<T> {
    return inTransaction(this.pool, fn, mode);
  }

  async one<R extends QueryResultRow, T>(
    sql: string,
    params: unknown[],
    decode: (row: R) => T,
    db: Queryable = this.pool,
  ): Promise<T | undefined> {
    const { rows } = await db.query<R>(sql, params);
    return rows.length ? decode(rows[0]) : undefined;
  }

  async list<R extends QueryResultRow, T>(
    sql: string,
    params: unknown[],
    decode: (row: R) => T,
    db: Queryable = this.pool,
  ): Promise<T[]> {
    return (await db.query<R>(sql, params)).rows.map(decode);
  }

  /** Returns the number of rows changed. */
  async exec(sql: string, params: unknown[], db: Queryable = this.pool): Promise<number> {
    return (await db.query(sql, params)).rowCount ?? 0;
  }

  async count(sql: string, params: unknown[] = [], db: Queryable = this.pool): Promise<number> {
    return (await db.query<{ n: number }>(sql, params)).rows[0].n;
  }

  async insert(i: Insert, db: Queryable = this.pool): Promise<void> {
    await db.query(insertSql(i), i.values);
  }

  async insertReturning<R extends QueryResultRow>(i: Insert): Promise<R> {
    return (await this.pool.query<R>(`${insertSql(i)} RETURNING *`, i.values)).rows[0];
  }

  /** Applies a patch to the row with this id; the updated record, or undefined when there is none. */
  patch<R extends QueryResultRow, T>(
    table: string,
    id: string,
    patch: object,
    spec: readonly PatchColumn[],
    decode: (row: R) => T,
  ): Promise<T | undefined> {
    const sets = patchAssignments(patch, spec);
    if (sets.length === 0) return this.one(`SELECT * FROM ${table} WHERE id = $1`, [id], decode);
    const assignments = sets.map((s, n) => `${s.column} = $${n + 2}`).join(', ');
    return this.one(
      `UPDATE ${table} SET ${assignments} WHERE id = $1 RETURNING *`,
      [id, ...sets.map((s) => s.value)],
      decode,
    );
  }

  /** Locks the row for the rest of the transaction; false when there is none. */
  async lockRow(c: PoolClient, table: string, id: string): Promise<boolean> {
    return ((await c.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id])).rowCount ?? 0) > 0;
  }

  end(): Promise<void> {
    return this.connections.end();
  }
}

function insertSql(i: Insert): string {
  const placeholders = i.columns.map((_, n) => `$${n + 1}`).join(', ');
  return `INSERT INTO ${i.table} (${i.columns.join(', ')}) VALUES (${placeholders})`;
}

function storeError(what: string, err: unknown): HalyardError {
  if (err instanceof HalyardError) return err;
  if (err instanceof pg.DatabaseError && (err.code === '23505' || err.code === '23503')) {
    // unique_violation → CONFLICT; foreign_key_violation (a reference to a missing record) → NOT_FOUND.
    const name = err.constraint ?? '';
    const field = CONSTRAINT_FIELDS[name] ?? (name.endsWith('_pkey') ? 'id' : name);
    return err.code === '23505'
      ? new HalyardError('CONFLICT', `${what}: the ${field} is taken`, { field }, { cause: err })
      : new HalyardError(
          'NOT_FOUND',
          `${what}: ${field} names no existing record`,
          { field },
          { cause: err },
        );
  }
  return pgStoreError(what, err);
}
