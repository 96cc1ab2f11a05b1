import { join } from 'node:path';
import type { ChannelStore } from './store.js';

/**
 * The ThingSpeak channel store the configuration asks for: PostgreSQL when a
 * database URL is set, else SQLite (thingspeak.db) in the data directory.
 */
export async function openChannelStore(
  databaseUrl: string | undefined,
  dataDir: string,
): Promise<ChannelStore> {
  if (databaseUrl !== undefined) {
    const { PostgresChannelStore } = await import('./postgres/channel-store.js');
    return PostgresChannelStore.open(databaseUrl);
  }
  const { SqliteChannelStore } = await import('./sqlite/channel-store.js');
  return SqliteChannelStore.open(join(dataDir, 'thingspeak.db'));
}
