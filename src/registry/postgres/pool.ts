import pg from 'pg';
import { HalyardError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';

/**
 * BIGINT columns (times, counts, audit ids) come back as JS numbers for this
 * pool's clients only; pg's global default is a string, and other users of pg
 * in the process keep it. Millisecond times stay far below 2^53.
 */
function typeParsers(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, Number);
  return types;
}

export interface RegistryPool {
  readonly pool: pg.Pool;
  /** Ends the pool and resolves once every connection is closed (pg's own end() resolves before). */
  end(): Promise<void>;
}

export function createPool(url: string, opts: { size?: number; logger?: Logger } = {}): RegistryPool {
  const log = opts.logger ?? silentLogger();
  const pool = new pg.Pool({
    connectionString: url,
    types: typeParsers(),
    max: opts.size ?? 10,
    // pg closes idle connections after 10 s by default; an occasional query (a dashboard opened
    // now and then) would then pay for a new connection and its authentication every time.
    idleTimeoutMillis: 5 * 60_000,
  });
  // An idle client whose server went away reports here; unheard, the error would end the process.
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL connection failed'));
  let open = 0;
  let closed: (() => void) | undefined;
  pool.on('connect', () => open++);
  pool.on('remove', () => {
    if (--open === 0) closed?.();
  });
  let ending: Promise<void> | undefined;
  return {
    pool,
    end: () =>
      (ending ??= (async () => {
        const allClosed = new Promise<void>((resolve) => (closed = resolve));
        await pool.end();
        if (open > 0) await allClosed;
      })()),
  };
}

/**
 * A pool whose schema is brought up to date first: how every PostgreSQL store
 * of Halyard (registry, telemetry, ThingSpeak) opens. On failure nothing stays open.
 */
export async function openMigratedPool(
  url: string,
  schema: { name: string; migrate: (pool: pg.Pool) => Promise<{ from: number; to: number }> },
  opts: { size?: number; logger?: Logger } = {},
): Promise<RegistryPool> {
  const log = opts.logger ?? silentLogger();
  const connections = createPool(url, { size: opts.size, logger: log });
  try {
    const { from, to } = await schema.migrate(connections.pool);
    if (from !== to) log.info({ from, to }, `postgres ${schema.name} schema migrated`);
    return connections;
  } catch (err) {
    await connections.end().catch(() => undefined);
    throw pgStoreError(`could not open the PostgreSQL ${schema.name} store`, err);
  }
}

/** `fn` in one transaction on one client of the pool: committed if it resolves, rolled back if not. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  mode = '',
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`BEGIN${mode}`);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A HalyardError STORE_FAILURE for a failed PostgreSQL operation; HalyardErrors pass through. */
export function pgStoreError(what: string, err: unknown): HalyardError {
  if (err instanceof HalyardError) return err;
  const detail = err instanceof Error ? err.message : undefined;
  return new HalyardError('STORE_FAILURE', detail ? `${what}: ${detail}` : what, {}, { cause: err });
}
