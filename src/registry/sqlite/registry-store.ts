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
} from '../model.js';
import { lookupTaken, profileInUse, tenantInUse } from '../sql/conflicts.js';
import { auditWhere, deviceWhere, pageLimit, pageOffset, type SqlDialect } from '../sql/queries.js';
import * as rows from '../sql/rows.js';
import { totpStatements as totp, type Statement } from '../sql/totp.js';
import type {
  AuditQuery,
  DevicePatch,
  DeviceQuery,
  ProfilePatch,
  RegistryStore,
  TenantPatch,
  UserPatch,
} from '../store.js';
import { RegistryDatabase, type RegistryDatabaseOptions } from './database.js';

export type SqliteRegistryStoreOptions = RegistryDatabaseOptions;

const DIALECT: SqlDialect = {
  hasTag: 'EXISTS (SELECT 1 FROM json_each(devices.tags) AS t WHERE t.value = ?)',
  tagParam: (tag) => tag,
  ilike: 'LIKE',
  bool: (value) => (value ? 1 : 0),
};

/**
 * The registry in one SQLite file (WAL, foreign keys on). The methods return
 * promises to match the interface but do their work synchronously, so each one
 * is atomic without further locking: a check and the write it guards see the
 * same database.
 */
export class SqliteRegistryStore implements RegistryStore {
  readonly dialect = 'sqlite' as const;

  private constructor(private readonly db: RegistryDatabase) {}

  static open(path: string, opts: SqliteRegistryStoreOptions = {}): SqliteRegistryStore {
    return new SqliteRegistryStore(RegistryDatabase.open(path, opts));
  }

  // Tenants

  createTenant(tenant: Tenant): Promise<void> {
    return this.db.run('create the tenant', () => {
      this.db.insert(rows.tenantInsert(tenant));
    });
  }

  getTenant(id: string): Promise<Tenant | undefined> {
    return this.db.run('read the tenant', () =>
      this.db.one('SELECT * FROM tenants WHERE id = ?', [id], rows.tenantFromRow),
    );
  }

  listTenants(): Promise<Tenant[]> {
    return this.db.run('list tenants', () =>
      this.db.list('SELECT * FROM tenants ORDER BY id', [], rows.tenantFromRow),
    );
  }

  updateTenant(id: string, patch: TenantPatch): Promise<Tenant | undefined> {
    return this.db.run('update the tenant', () =>
      this.db.patch('tenants', id, patch, rows.TENANT_PATCH, rows.tenantFromRow),
    );
  }

  deleteTenant(id: string): Promise<boolean> {
    return this.db.run('delete the tenant', () =>
      this.db.write(() => {
        const devices = this.db.count('SELECT count(*) AS n FROM devices WHERE tenant_id = ?', id);
        const users = this.db.count('SELECT count(*) AS n FROM users WHERE tenant_id = ?', id);
        if (devices > 0 || users > 0) throw tenantInUse(id, devices, users);
        // Profiles and CAs go with it (ON DELETE CASCADE).
        return this.db.exec('DELETE FROM tenants WHERE id = ?', id) > 0;
      }),
    );
  }

  // Users

  createUser(user: User): Promise<void> {
    return this.db.run('create the user', () =>
      this.db.write(() => {
        this.db.requireParent('tenants', 'tenantId', user.tenantId);
        this.db.insert(rows.userInsert(user));
      }),
    );
  }

  getUser(id: string): Promise<User | undefined> {
    return this.db.run('read the user', () =>
      this.db.one('SELECT * FROM users WHERE id = ?', [id], rows.userFromRow),
    );
  }

  getUserByUsername(username: string): Promise<User | undefined> {
    return this.db.run('read the user', () =>
      this.db.one('SELECT * FROM users WHERE username = ?', [username], rows.userFromRow),
    );
  }

  listUsers(filter: { tenantId?: string | null } = {}): Promise<User[]> {
    const { tenantId } = filter;
    return this.db.run('list users', () =>
      tenantId === undefined
        ? this.db.list('SELECT * FROM users ORDER BY id', [], rows.userFromRow)
        : tenantId === null
          ? this.db.list('SELECT * FROM users WHERE tenant_id IS NULL ORDER BY id', [], rows.userFromRow)
          : this.db.list('SELECT * FROM users WHERE tenant_id = ? ORDER BY id', [tenantId], rows.userFromRow),
    );
  }

  updateUser(id: string, patch: UserPatch): Promise<User | undefined> {
    return this.db.run('update the user', () =>
      this.db.patch('users', id, patch, rows.USER_PATCH, rows.userFromRow),
    );
  }

  deleteUser(id: string): Promise<boolean> {
    // Sessions and API tokens go with it (ON DELETE CASCADE).
    return this.db.run('delete the user', () => this.db.exec('DELETE FROM users WHERE id = ?', id) > 0);
  }

  getUserTotp(userId: string): Promise<UserTotp | undefined> {
    const q = totp.get(userId);
    return this.db.run('read the second factor', () => this.db.one(q.sql, q.params, rows.userTotpFromRow));
  }

  beginUserTotp(userId: string, secret: string, at: number): Promise<boolean> {
    return this.changes('enrol the second factor', totp.begin(userId, secret, at));
  }

  confirmUserTotp(userId: string, secret: string, at: number, step: number): Promise<boolean> {
    return this.changes('confirm the second factor', totp.confirm(userId, secret, at, step));
  }

  advanceUserTotp(userId: string, step: number): Promise<boolean> {
    return this.changes('record the second-factor code', totp.advance(userId, step));
  }

  clearUserTotp(userId: string): Promise<boolean> {
    return this.changes('remove the second factor', totp.clear(userId));
  }

  private changes(what: string, q: Statement): Promise<boolean> {
    return this.db.run(what, () => this.db.exec(q.sql, ...q.params) > 0);
  }

  // Profiles

  createProfile(profile: DeviceProfile): Promise<void> {
    return this.db.run('create the profile', () =>
      this.db.write(() => {
        this.db.requireParent('tenants', 'tenantId', profile.tenantId);
        this.db.insert(rows.profileInsert(profile));
      }),
    );
  }

  getProfile(id: string): Promise<DeviceProfile | undefined> {
    return this.db.run('read the profile', () =>
      this.db.one('SELECT * FROM device_profiles WHERE id = ?', [id], rows.profileFromRow),
    );
  }

  listProfiles(tenantId?: string): Promise<DeviceProfile[]> {
    return this.db.run('list profiles', () =>
      tenantId === undefined
        ? this.db.list('SELECT * FROM device_profiles ORDER BY id', [], rows.profileFromRow)
        : this.db.list(
            'SELECT * FROM device_profiles WHERE tenant_id = ? ORDER BY id',
            [tenantId],
            rows.profileFromRow,
          ),
    );
  }

  updateProfile(id: string, patch: ProfilePatch): Promise<DeviceProfile | undefined> {
    return this.db.run('update the profile', () =>
      this.db.patch('device_profiles', id, patch, rows.PROFILE_PATCH, rows.profileFromRow),
    );
  }

  deleteProfile(id: string): Promise<boolean> {
    return this.db.run('delete the profile', () =>
      this.db.write(() => {
        const devices = this.db.count('SELECT count(*) AS n FROM devices WHERE profile_id = ?', id);
        if (devices > 0) throw profileInUse(id, devices);
        return this.db.exec('DELETE FROM device_profiles WHERE id = ?', id) > 0;
      }),
    );
  }

  // Devices

  createDevice(device: Device): Promise<void> {
    return this.db.run('create the device', () =>
      this.db.write(() => {
        this.db.requireParent('tenants', 'tenantId', device.tenantId);
        this.db.requireParent('device_profiles', 'profileId', device.profileId);
        this.db.insert(rows.deviceInsert(device));
      }),
    );
  }

  getDevice(id: string): Promise<Device | undefined> {
    return this.db.run('read the device', () =>
      this.db.one('SELECT * FROM devices WHERE id = ?', [id], rows.deviceFromRow),
    );
  }

  listDevices(query: DeviceQuery): Promise<Page<Device>> {
    const where = deviceWhere(query, DIALECT);
    return this.db.run('list devices', () =>
      // One snapshot, so that total and items agree.
      this.db.read(() => ({
        total: this.db.count(`SELECT count(*) AS n FROM devices${where.sql}`, ...where.params),
        items: this.db.list(
          `SELECT * FROM devices${where.sql} ORDER BY id LIMIT ? OFFSET ?`,
          [...where.params, pageLimit(query.limit), pageOffset(query.offset)],
          rows.deviceFromRow,
        ),
      })),
    );
  }

  updateDevice(id: string, patch: DevicePatch): Promise<Device | undefined> {
    return this.db.run('update the device', () =>
      this.db.write(() => {
        if (patch.profileId !== undefined)
          this.db.requireParent('device_profiles', 'profileId', patch.profileId);
        return this.db.patch('devices', id, patch, rows.DEVICE_PATCH, rows.deviceFromRow);
      }),
    );
  }

  deleteDevice(id: string): Promise<boolean> {
    // Credentials go with it (ON DELETE CASCADE).
    return this.db.run('delete the device', () => this.db.exec('DELETE FROM devices WHERE id = ?', id) > 0);
  }

  setLastSeen(entries: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void> {
    return this.db.run('record last-seen times', () =>
      this.db.write(() => {
        for (const e of entries)
          this.db.exec('UPDATE devices SET last_seen = ? WHERE id = ?', e.at, e.deviceId);
      }),
    );
  }

  countDevices(tenantId?: string): Promise<number> {
    return this.db.run('count devices', () =>
      tenantId === undefined
        ? this.db.count('SELECT count(*) AS n FROM devices')
        : this.db.count('SELECT count(*) AS n FROM devices WHERE tenant_id = ?', tenantId),
    );
  }

  // Credentials

  createCredential(credential: Credential): Promise<void> {
    const { kind, lookup, deviceId } = credential;
    return this.db.run('create the credential', () =>
      this.db.write(() => {
        this.db.requireParent('devices', 'deviceId', deviceId);
        const others = this.db.count(
          `SELECT count(*) AS n FROM credentials
            WHERE kind = ? AND lookup = ? AND revoked_at IS NULL AND device_id <> ?`,
          kind,
          lookup,
          deviceId,
        );
        if (others > 0) throw lookupTaken(kind);
        this.db.insert(rows.credentialInsert(credential));
      }),
    );
  }

  getCredential(id: string): Promise<Credential | undefined> {
    return this.db.run('read the credential', () =>
      this.db.one('SELECT * FROM credentials WHERE id = ?', [id], rows.credentialFromRow),
    );
  }

  listCredentials(deviceId: string): Promise<Credential[]> {
    return this.db.run('list credentials', () =>
      this.db.list(
        'SELECT * FROM credentials WHERE device_id = ? ORDER BY created_at, id',
        [deviceId],
        rows.credentialFromRow,
      ),
    );
  }

  findCredentials(kind: CredentialKind, lookup: string): Promise<Credential[]> {
    return this.db.run('find credentials', () =>
      this.db.list(
        `SELECT * FROM credentials WHERE kind = ? AND lookup = ? AND revoked_at IS NULL
          ORDER BY created_at, id`,
        [kind, lookup],
        rows.credentialFromRow,
      ),
    );
  }

  revokeCredential(id: string, at: number): Promise<Credential | undefined> {
    // Revoking twice keeps the first time.
    return this.db.run('revoke the credential', () =>
      this.db.one(
        'UPDATE credentials SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *',
        [at, id],
        rows.credentialFromRow,
      ),
    );
  }

  // Tenant CAs

  addTenantCa(ca: TenantCa): Promise<void> {
    return this.db.run('add the tenant CA', () =>
      this.db.write(() => {
        this.db.requireParent('tenants', 'tenantId', ca.tenantId);
        this.db.insert(rows.tenantCaInsert(ca));
      }),
    );
  }

  listTenantCas(tenantId?: string): Promise<TenantCa[]> {
    return this.db.run('list tenant CAs', () =>
      tenantId === undefined
        ? this.db.list('SELECT * FROM tenant_cas ORDER BY created_at, id', [], rows.tenantCaFromRow)
        : this.db.list(
            'SELECT * FROM tenant_cas WHERE tenant_id = ? ORDER BY created_at, id',
            [tenantId],
            rows.tenantCaFromRow,
          ),
    );
  }

  removeTenantCa(id: string): Promise<boolean> {
    return this.db.run(
      'remove the tenant CA',
      () => this.db.exec('DELETE FROM tenant_cas WHERE id = ?', id) > 0,
    );
  }

  // API tokens

  createApiToken(token: ApiToken): Promise<void> {
    return this.db.run('create the API token', () =>
      this.db.write(() => {
        this.db.requireParent('users', 'userId', token.userId);
        this.db.insert(rows.apiTokenInsert(token));
      }),
    );
  }

  findApiToken(tokenHash: string): Promise<ApiToken | undefined> {
    return this.db.run('find the API token', () =>
      this.db.one('SELECT * FROM api_tokens WHERE token_hash = ?', [tokenHash], rows.apiTokenFromRow),
    );
  }

  listApiTokens(userId: string): Promise<ApiToken[]> {
    return this.db.run('list API tokens', () =>
      this.db.list(
        'SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at, id',
        [userId],
        rows.apiTokenFromRow,
      ),
    );
  }

  revokeApiToken(id: string, at: number): Promise<ApiToken | undefined> {
    return this.db.run('revoke the API token', () =>
      this.db.one(
        'UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *',
        [at, id],
        rows.apiTokenFromRow,
      ),
    );
  }

  touchApiToken(id: string, at: number): Promise<void> {
    return this.db.run('touch the API token', () => {
      this.db.exec('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', at, id);
    });
  }

  // Browser sessions

  createSession(session: UserSession): Promise<void> {
    return this.db.run('create the session', () =>
      this.db.write(() => {
        this.db.requireParent('users', 'userId', session.userId);
        this.db.insert(rows.sessionInsert(session));
      }),
    );
  }

  findSession(tokenHash: string): Promise<UserSession | undefined> {
    return this.db.run('find the session', () =>
      this.db.one('SELECT * FROM user_sessions WHERE token_hash = ?', [tokenHash], rows.sessionFromRow),
    );
  }

  deleteSession(tokenHash: string): Promise<boolean> {
    return this.db.run(
      'delete the session',
      () => this.db.exec('DELETE FROM user_sessions WHERE token_hash = ?', tokenHash) > 0,
    );
  }

  deleteUserSessions(userId: string): Promise<number> {
    return this.db.run('delete the user sessions', () =>
      this.db.exec('DELETE FROM user_sessions WHERE user_id = ?', userId),
    );
  }

  deleteExpiredSessions(now: number): Promise<number> {
    return this.db.run('delete expired sessions', () =>
      this.db.exec('DELETE FROM user_sessions WHERE expires_at <= ?', now),
    );
  }

  // Audit

  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
    return this.db.run('append to the audit log', () =>
      this.db.write(() => {
        const id = this.db.insert(rows.auditInsert(entry));
        return this.db.one('SELECT * FROM audit_log WHERE id = ?', [id], rows.auditFromRow)!;
      }),
    );
  }

  queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const where = auditWhere(query);
    return this.db.run('query the audit log', () =>
      this.db.list(
        `SELECT * FROM audit_log${where.sql} ORDER BY id DESC LIMIT ?`,
        [...where.params, pageLimit(query.limit)],
        rows.auditFromRow,
      ),
    );
  }

  close(): Promise<void> {
    this.db.close();
    return Promise.resolve();
  }
}
