import { describe } from 'node:test';
import { describeStoreConformance, type OpenedStore } from '../store/conformance-harness.js';
import type { RegistryStore } from './store.js';
import { apiTokenTests, sessionTests } from './store-suite/access.js';
import { auditTests } from './store-suite/audit.js';
import { credentialTests, tenantCaTests } from './store-suite/credentials.js';
import { deviceListTests } from './store-suite/device-list.js';
import { deviceTests, profileTests } from './store-suite/devices.js';
import { lifecycleTests } from './store-suite/lifecycle.js';
import { tenantTests, userTests } from './store-suite/tenants-users.js';
import { totpTests } from './store-suite/totp.js';

export type OpenedRegistryStore = OpenedStore<RegistryStore>;

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
  describeStoreConformance(`RegistryStore conformance: ${name}`, open, options, (ctx) => {
    describe('tenants', () => tenantTests(ctx));
    describe('users', () => userTests(ctx));
    describe('second factors (TOTP)', () => totpTests(ctx));
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
