import { join } from 'node:path';
import type { RegistryStore } from './store.js';

/**
 * The registry store the configuration asks for: PostgreSQL when a database URL
 * is set (several nodes can share it), else SQLite in the data directory. The
 * PostgreSQL driver is loaded only when used.
 */
export async function openRegistryStore(
  databaseUrl: string | undefined,
  dataDir: string,
): Promise<RegistryStore> {
  if (databaseUrl !== undefined) {
    const { PostgresRegistryStore } = await import('./postgres/registry-store.js');
    return PostgresRegistryStore.open(databaseUrl);
  }
  const { SqliteRegistryStore } = await import('./sqlite/registry-store.js');
  return SqliteRegistryStore.open(join(dataDir, 'registry.db'));
}
