import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { TelemetryStore } from './store.js';

/**
 * The telemetry store the configuration asks for: PostgreSQL when a database
 * URL is set, else SQLite (telemetry.db) in the data directory. The PostgreSQL
 * driver is loaded only when used.
 */
export async function openTelemetryStore(
  databaseUrl: string | undefined,
  dataDir: string,
  logger?: Logger,
): Promise<TelemetryStore> {
  if (databaseUrl !== undefined) {
    const { PostgresTelemetryStore } = await import('./postgres/telemetry-store.js');
    return PostgresTelemetryStore.open(databaseUrl);
  }
  const { SqliteTelemetryStore } = await import('./sqlite/telemetry-store.js');
  // The logger reports a failed background fold (the write path reports its own errors to its callers).
  return SqliteTelemetryStore.open(join(dataDir, 'telemetry.db'), { logger });
}
