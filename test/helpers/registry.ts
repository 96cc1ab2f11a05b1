import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { Registry, type RegistryOptions } from '../../src/registry/registry.js';
import { SqliteRegistryStore } from '../../src/registry/sqlite/registry-store.js';
import type { User } from '../../src/registry/model.js';
import type { Actor } from '../../src/registry/service.js';
import type { RegistryStore } from '../../src/registry/store.js';
import { createCertificateAuthority, type CertificateAuthority } from '../../src/transport/pki.js';
import { tempDir } from './temp-dir.js';

export interface TestRegistry {
  registry: Registry;
  store: RegistryStore;
  ca: CertificateAuthority;
  secretKey: Buffer;
  /** Closes the store, unless it was passed in (then its owner closes it). */
  close(): Promise<void>;
}

/** Creating an EC CA takes a few milliseconds; one per process is plenty for tests. */
let sharedCa: Promise<CertificateAuthority> | undefined;

/**
 * A Registry on a real SQLite store in a fresh temp directory, with a platform
 * CA and a random secret key. `overrides` replace any constructor option: a
 * clock, a lockout policy, or another store (e.g. PostgreSQL, or a second
 * registry over the same store).
 */
export async function openTestRegistry(overrides: Partial<RegistryOptions> = {}): Promise<TestRegistry> {
  const ownStore = overrides.store === undefined;
  const store =
    overrides.store ??
    SqliteRegistryStore.open(join(tempDir('halyard-registry-'), 'registry.db'), { synchronous: 'normal' });
  sharedCa ??= createCertificateAuthority({ commonName: 'Halyard Test CA', days: 30 });
  const ca = overrides.ca ?? (await sharedCa);
  const secretKey = overrides.secretKey ?? randomBytes(32);
  const registry = new Registry({
    logger: silentLogger(),
    lockout: { maxFailures: 5, windowMs: 300_000, lockMs: 900_000 },
    sessionTtlMs: 12 * 3_600_000,
    ...overrides,
    store,
    ca,
    secretKey,
  });
  return { registry, store, ca, secretKey, close: () => (ownStore ? store.close() : Promise.resolve()) };
}

/** The person as an Actor, for registry calls made in their name. */
export function actorOfUser(user: User, address = '198.51.100.7'): Actor {
  return {
    type: 'user',
    id: user.id,
    name: user.username,
    tenantId: user.tenantId,
    role: user.role,
    address,
  };
}
