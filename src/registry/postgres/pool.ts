import pg from 'pg';
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
  const pool = new pg.Pool({ connectionString: url, types: typeParsers(), max: opts.size ?? 10 });
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
