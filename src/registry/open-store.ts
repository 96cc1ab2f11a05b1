import { join } from 'node:path';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { ensureLocalCa } from '../transport/index.js';
import { Registry } from './registry.js';
import { loadOrCreateSecretKey } from './secrets.js';
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

/**
 * The Registry as the configuration describes it: its store, the platform CA
 * (created on first use), the server key sealing HMAC secrets, lockout and
 * session settings. The caller closes the store.
 */
export async function openRegistry(
  config: Config,
  logger: Logger,
): Promise<{ registry: Registry; store: RegistryStore; secretKey: Buffer }> {
  const ca = await ensureLocalCa(config.dataDir);
  const secretKey = loadOrCreateSecretKey(
    config.security.secretKeyFile ?? join(config.dataDir, 'secret.key'),
  );
  const store = await openRegistryStore(config.database.url, config.dataDir);
  const { lockout } = config.security;
  const registry = new Registry({
    store,
    logger,
    secretKey,
    ca,
    lockout: {
      maxFailures: lockout.maxFailures,
      windowMs: lockout.windowSeconds * 1000,
      lockMs: lockout.lockSeconds * 1000,
    },
    sessionTtlMs: config.security.sessionTtlHours * 3_600_000,
  });
  return { registry, store, secretKey };
}
