import { afterEach, beforeEach, describe } from 'node:test';
import type { RegistryStore } from './store.js';
import { apiTokenTests, sessionTests } from './store-suite/access.js';
import { auditTests } from './store-suite/audit.js';
import { credentialTests, tenantCaTests } from './store-suite/credentials.js';
import { deviceListTests } from './store-suite/device-list.js';
import { deviceTests, profileTests } from './store-suite/devices.js';
import type { SuiteContext } from './store-suite/fixtures.js';
import { lifecycleTests } from './store-suite/lifecycle.js';
import { tenantTests, userTests } from './store-suite/tenants-users.js';

/**
 * What `open` gives for each test: a fresh, empty store; `reopen`, when given,
 * opens the same data again after the store has been closed; `cleanup` runs
 * after the test's store is closed (drop a database, remove a file).
 */
export interface OpenedRegistryStore {
  store: RegistryStore;
  reopen?: () => Promise<RegistryStore>;
  cleanup?: () => Promise<void>;
}

/**
 * The behaviour every RegistryStore must show (store.ts), run against each
 * implementation, SQLite and PostgreSQL. The tests live in store-suite/, one
 * file per kind of record. `skip` (a reason) skips them all, e.g. when no
 * PostgreSQL server can be started.
 */
export function describeRegistryStoreConformance(
  name: string,
  open: () => Promise<OpenedRegistryStore>,
  options: { skip?: string } = {},
): void {
  describe(`RegistryStore conformance: ${name}`, { skip: options.skip }, () => {
    const ctx = { reopen: undefined } as SuiteContext;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const opened = await open();
      ctx.store = opened.store;
      const { reopen } = opened;
      ctx.reopen = reopen
        ? async () => {
            await ctx.store.close();
            return reopen();
          }
        : undefined;
      cleanup = opened.cleanup;
    });
    afterEach(async () => {
      await ctx.store.close();
      await cleanup?.();
    });

    describe('tenants', () => tenantTests(ctx));
    describe('users', () => userTests(ctx));
    describe('profiles', () => profileTests(ctx));
    describe('devices', () => deviceTests(ctx));
    describe('listDevices', () => deviceListTests(ctx));
    describe('credentials', () => credentialTests(ctx));
    describe('tenant CAs', () => tenantCaTests(ctx));
    describe('API tokens', () => apiTokenTests(ctx));
    describe('browser sessions', () => sessionTests(ctx));
    describe('audit log', () => auditTests(ctx));
    describe('lifecycle', () => lifecycleTests(ctx));
  });
}
