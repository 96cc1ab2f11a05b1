/** Records and assertions shared by the parts of the registry store conformance suite. */
import assert from 'node:assert/strict';
import { isHalyardError, type ErrorCode } from '../../core/errors.js';
import type {
  ApiToken,
  AuditEntry,
  Credential,
  Device,
  DeviceProfile,
  Tenant,
  TenantCa,
  User,
  UserSession,
} from '../model.js';
import type { RegistryStore } from '../store.js';
import type { StoreSuiteContext } from '../../store/conformance-harness.js';

/** The store under test, replaced for each test (and by `reopen` within one). */
export type SuiteContext = StoreSuiteContext<RegistryStore>;

/** A time that needs more than 32 bits, so a store that truncates it shows. */
export const T0 = 1_700_000_000_000;

export const tenant = (id = 't1', over: Partial<Tenant> = {}): Tenant => ({
  id,
  name: `Tenant ${id}`,
  maxConnections: 0,
  retentionDays: 0,
  keyRetentionDays: {},
  createdAt: T0,
  ...over,
});

export const user = (id: string, over: Partial<User> = {}): User => ({
  id,
  username: `name-of-${id}`,
  tenantId: 't1',
  role: 'operator',
  passwordHash: `$scrypt$N=16384,r=8,p=1$salt$hash-of-${id}`,
  active: true,
  totpEnabled: false,
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

export const profile = (id: string, over: Partial<DeviceProfile> = {}): DeviceProfile => ({
  id,
  tenantId: 't1',
  name: `Profile ${id}`,
  description: '',
  acl: [],
  limits: { maxConnections: 0, publishMessagesPerSecond: 0, publishBytesPerSecond: 0 },
  createdAt: T0,
  updatedAt: T0,
  ...over,
});

export const device = (id: string, over: Partial<Device> = {}): Device => ({
  id,
  tenantId: 't1',
  name: `Device ${id}`,
  profileId: null,
  type: 'sensor',
  serial: null,
  tags: [],
  labels: {},
  acl: [],
  active: true,
  createdAt: T0,
  updatedAt: T0,
  lastSeen: null,
  ...over,
});

export const credential = (id: string, over: Partial<Credential> = {}): Credential => ({
  id,
  deviceId: 'd1',
  tenantId: 't1',
  kind: 'token',
  lookup: `sha256-of-${id}`,
  secret: null,
  label: `label ${id}`,
  createdAt: T0,
  expiresAt: null,
  revokedAt: null,
  ...over,
});

export const tenantCa = (id: string, over: Partial<TenantCa> = {}): TenantCa => ({
  id,
  tenantId: 't1',
  certPem: `-----BEGIN CERTIFICATE-----\nMII${id}\n-----END CERTIFICATE-----\n`,
  fingerprint256: `AA:BB:${id.toUpperCase()}`,
  subject: `CN=${id} CA`,
  createdAt: T0,
  ...over,
});

export const apiToken = (id: string, over: Partial<ApiToken> = {}): ApiToken => ({
  id,
  userId: 'u1',
  name: `token ${id}`,
  tokenHash: `hash-of-${id}`,
  createdAt: T0,
  expiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  ...over,
});

export const session = (tokenHash: string, over: Partial<UserSession> = {}): UserSession => ({
  tokenHash,
  userId: 'u1',
  createdAt: T0,
  expiresAt: T0 + 3_600_000,
  address: '192.0.2.10',
  ...over,
});

export const auditEntry = (over: Partial<Omit<AuditEntry, 'id'>> = {}): Omit<AuditEntry, 'id'> => ({
  at: T0,
  tenantId: 't1',
  actorType: 'user',
  actor: 'alice',
  action: 'device.create',
  target: 'device:d1',
  address: '192.0.2.10',
  outcome: 'success',
  details: {},
  ...over,
});

/** Rejects with a HalyardError of this code whose context has (at least) these entries. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  context: Record<string, unknown> = {},
): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(isHalyardError(err, code), `expected HalyardError ${code}, got ${String(err)}`);
    for (const [key, value] of Object.entries(context)) assert.deepEqual(err.context[key], value, key);
    return true;
  });
}

export const ids = (records: ReadonlyArray<{ id: string | number }>) => records.map((r) => r.id);
