/**
 * Where the registry lives: embedded SQLite by default, PostgreSQL at scale.
 * Both implementations pass one suite (store.suite.ts). The store only keeps
 * and finds records; rules (who may do what, hashing, audit) live in the
 * Registry service above it.
 *
 * Conventions:
 * - `create*` rejects a duplicate id or unique key with HalyardError('CONFLICT', …, {field}).
 * - `get*` / `find*` return undefined when absent; `update*` returns the updated
 *   record or undefined when absent; `delete*` returns whether something was deleted.
 * - Patches never change id, tenantId or createdAt.
 * - Deleting a tenant is refused (CONFLICT) while it still has devices or users;
 *   deleting a device deletes its credentials; deleting a user its sessions and API tokens.
 */
import type {
  ApiToken,
  AuditEntry,
  Credential,
  CredentialKind,
  Device,
  DeviceProfile,
  Page,
  Tenant,
  TenantCa,
  User,
  UserSession,
  UserTotp,
} from './model.js';

export interface DeviceQuery {
  tenantId?: string;
  profileId?: string;
  active?: boolean;
  type?: string;
  /** Tag the device must carry. */
  tag?: string;
  /** Case-insensitive substring of id, name or serial. */
  search?: string;
  /** Default 100, at most 1000. */
  limit?: number;
  offset?: number;
}

export interface AuditQuery {
  tenantId?: string;
  actor?: string;
  /** Exact action, or a prefix ending in '.' ("credential."). */
  action?: string;
  target?: string;
  outcome?: 'success' | 'failure';
  /** Inclusive lower bound on `at`. */
  since?: number;
  /** Exclusive upper bound on `at`. */
  until?: number;
  /** Entries with id below this (paging backwards). */
  beforeId?: number;
  /** Default 100, at most 1000. Newest first. */
  limit?: number;
}

export type TenantPatch = Partial<
  Pick<Tenant, 'name' | 'maxConnections' | 'retentionDays' | 'keyRetentionDays'>
>;
export type UserPatch = Partial<Pick<User, 'role' | 'passwordHash' | 'active' | 'updatedAt'>>;
export type ProfilePatch = Partial<
  Pick<DeviceProfile, 'name' | 'description' | 'acl' | 'limits' | 'updatedAt'>
>;
export type DevicePatch = Partial<
  Pick<Device, 'name' | 'profileId' | 'type' | 'serial' | 'tags' | 'labels' | 'acl' | 'active' | 'updatedAt'>
>;

export interface RegistryStore {
  readonly dialect: 'sqlite' | 'postgres';

  createTenant(tenant: Tenant): Promise<void>;
  getTenant(id: string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  updateTenant(id: string, patch: TenantPatch): Promise<Tenant | undefined>;
  deleteTenant(id: string): Promise<boolean>;

  createUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | undefined>;
  getUserByUsername(username: string): Promise<User | undefined>;
  /** tenantId null = platform admins only; undefined = everybody. */
  listUsers(filter?: { tenantId?: string | null }): Promise<User[]>;
  updateUser(id: string, patch: UserPatch): Promise<User | undefined>;
  deleteUser(id: string): Promise<boolean>;

  // A person's TOTP second factor. Each write is one conditional statement, so two
  // nodes (or two requests) racing on it cannot both win: a code is accepted once.
  /** The second factor, pending or confirmed; undefined when the user has none (or does not exist). */
  getUserTotp(userId: string): Promise<UserTotp | undefined>;
  /** A pending enrolment with this sealed secret, replacing a pending one; false (nothing written) when one is confirmed. */
  beginUserTotp(userId: string, secret: string, at: number): Promise<boolean>;
  /** Confirms the pending enrolment if it still has this secret, recording `step` as used; whether it did. */
  confirmUserTotp(userId: string, secret: string, at: number, step: number): Promise<boolean>;
  /** Records `step` as used; false when the factor is not confirmed or a code of `step` or later was accepted. */
  advanceUserTotp(userId: string, step: number): Promise<boolean>;
  /** Removes the second factor, pending or confirmed; whether there was one. */
  clearUserTotp(userId: string): Promise<boolean>;

  createProfile(profile: DeviceProfile): Promise<void>;
  getProfile(id: string): Promise<DeviceProfile | undefined>;
  listProfiles(tenantId?: string): Promise<DeviceProfile[]>;
  updateProfile(id: string, patch: ProfilePatch): Promise<DeviceProfile | undefined>;
  /** Refused (CONFLICT) while devices use the profile. */
  deleteProfile(id: string): Promise<boolean>;

  createDevice(device: Device): Promise<void>;
  getDevice(id: string): Promise<Device | undefined>;
  listDevices(query: DeviceQuery): Promise<Page<Device>>;
  updateDevice(id: string, patch: DevicePatch): Promise<Device | undefined>;
  deleteDevice(id: string): Promise<boolean>;
  /** Many at once: presence writes last-seen times in batches. */
  setLastSeen(entries: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void>;
  countDevices(tenantId?: string): Promise<number>;

  createCredential(credential: Credential): Promise<void>;
  getCredential(id: string): Promise<Credential | undefined>;
  /** All of a device's credentials, revoked ones included, oldest first. */
  listCredentials(deviceId: string): Promise<Credential[]>;
  /** The unrevoked credentials of this kind with this lookup value (several while rotating an hmac or password). */
  findCredentials(kind: CredentialKind, lookup: string): Promise<Credential[]>;
  revokeCredential(id: string, at: number): Promise<Credential | undefined>;

  addTenantCa(ca: TenantCa): Promise<void>;
  listTenantCas(tenantId?: string): Promise<TenantCa[]>;
  removeTenantCa(id: string): Promise<boolean>;

  createApiToken(token: ApiToken): Promise<void>;
  findApiToken(tokenHash: string): Promise<ApiToken | undefined>;
  listApiTokens(userId: string): Promise<ApiToken[]>;
  revokeApiToken(id: string, at: number): Promise<ApiToken | undefined>;
  touchApiToken(id: string, at: number): Promise<void>;

  createSession(session: UserSession): Promise<void>;
  findSession(tokenHash: string): Promise<UserSession | undefined>;
  deleteSession(tokenHash: string): Promise<boolean>;
  deleteUserSessions(userId: string): Promise<number>;
  deleteExpiredSessions(now: number): Promise<number>;

  /** Appends and returns the entry with its id. */
  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry>;
  queryAudit(query: AuditQuery): Promise<AuditEntry[]>;

  close(): Promise<void>;
}
