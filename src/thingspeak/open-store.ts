import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { ChannelStore } from './store.js';

/**
 * The ThingSpeak channel store the configuration asks for: PostgreSQL when a
 * database URL is set, else SQLite (thingspeak.db) in the data directory.
 */
export async function openChannelStore(
  databaseUrl: string | undefined,
  dataDir: string,
  logger?: Logger,
): Promise<ChannelStore> {
  if (databaseUrl !== undefined) {
    const { PostgresChannelStore } = await import('./postgres/channel-store.js');
    return PostgresChannelStore.open(databaseUrl);
  }
  const { SqliteChannelStore } = await import('./sqlite/channel-store.js');
  // The logger reports a failed fold of recent entries (the appends report their own errors).
  return SqliteChannelStore.open(join(dataDir, 'thingspeak.db'), { logger });
}
