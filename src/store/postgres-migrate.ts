import type { ClientBase, Pool } from 'pg';
import { HalyardError } from '../core/errors.js';

/**
 * Schema migrations on PostgreSQL, shared by every schema that lives there
 * (registry, telemetry). Each schema records its steps in a table of its own,
 * because they share one database but number their steps independently.
 */

export interface PgMigration {
  /** Increasing; gaps are allowed. */
  readonly version: number;
  readonly description: string;
  up(client: ClientBase): Promise<unknown>;
}

/** Only these: the name goes into SQL text. */
export type MigrationsTable =
  'halyard_schema_migrations' | 'halyard_telemetry_migrations' | 'halyard_thingspeak_migrations';

/**
 * Applies every step the database has not recorded in `table`,
 * in version order, all in one transaction: a database several versions behind
 * jumps straight to the latest schema or (if any step fails) stays as it was.
 * The transaction first takes an advisory lock, so nodes starting together
 * migrate one after the other; the later ones find nothing left to do.
 */
export async function migratePostgres(
  pool: Pool,
  migrations: readonly PgMigration[],
  table: MigrationsTable,
): Promise<{ from: number; to: number; applied: number[] }> {
  migrations.forEach((m, i) => {
    if (!Number.isInteger(m.version) || m.version < 1 || (i > 0 && m.version <= migrations[i - 1].version)) {
      throw new HalyardError('STORE_FAILURE', 'migration versions must be positive and increasing', {
        index: i,
        version: m.version,
      });
    }
  });
  const latest = migrations.at(-1)?.version ?? 0;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('${table}'))`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${table}`);
    const done = new Set(rows.map((r) => r.version));
    const from = Math.max(0, ...done);
    if (from > latest) {
      throw new HalyardError('STORE_FAILURE', 'the database was written by a newer Halyard', {
        schemaVersion: from,
        supported: latest,
      });
    }
    const pending = migrations.filter((m) => !done.has(m.version));
    for (const m of pending) {
      await m.up(client);
      await client.query(`INSERT INTO ${table} (version, applied_at) VALUES ($1, $2)`, [
        m.version,
        Date.now(),
      ]);
    }
    await client.query('COMMIT');
    return { from, to: latest, applied: pending.map((m) => m.version) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
