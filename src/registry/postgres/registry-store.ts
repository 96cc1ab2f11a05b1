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
import { numbered, RegistryDatabase, type RegistryDatabaseOptions } from './database.js';

export type PostgresRegistryStoreOptions = RegistryDatabaseOptions;

const DIALECT: SqlDialect = {
  hasTag: 'tags @> ?::jsonb',
  tagParam: (tag) => JSON.stringify([tag]),
  ilike: 'ILIKE',
  bool: (value) => value,
};

/**
 * The registry in PostgreSQL, for several Halyard nodes sharing one database.
 * A check and the write it guards run in one transaction that first locks the
 * rows (or, for credential lookups, an advisory key) the check is about.
 */
export class PostgresRegistryStore implements RegistryStore {
  readonly dialect = 'postgres' as const;

  private constructor(private readonly db: RegistryDatabase) {}

  static async open(url: string, opts: PostgresRegistryStoreOptions = {}): Promise<PostgresRegistryStore> {
    return new PostgresRegistryStore(await RegistryDatabase.open(url, opts));
  }

  // Tenants

  createTenant(tenant: Tenant): Promise<void> {
    return this.db.run('create the tenant', () => this.db.insert(rows.tenantInsert(tenant)));
  }

  getTenant(id: string): Promise<Tenant | undefined> {
    return this.db.run('read the tenant', () =>
      this.db.one('SELECT * FROM tenants WHERE id = $1', [id], rows.tenantFromRow),
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
      this.db.tx(async (c) => {
        // The row lock waits for, and then blocks, inserts that reference the tenant.
        if (!(await this.db.lockRow(c, 'tenants', id))) return false;
        const devices = await this.db.count(
          'SELECT count(*) AS n FROM devices WHERE tenant_id = $1',
          [id],
          c,
        );
        const users = await this.db.count('SELECT count(*) AS n FROM users WHERE tenant_id = $1', [id], c);
        if (devices > 0 || users > 0) throw tenantInUse(id, devices, users);
        // Profiles and CAs go with it (ON DELETE CASCADE).
        await c.query('DELETE FROM tenants WHERE id = $1', [id]);
        return true;
      }),
    );
  }

  // Users

  createUser(user: User): Promise<void> {
    return this.db.run('create the user', () => this.db.insert(rows.userInsert(user)));
  }

  getUser(id: string): Promise<User | undefined> {
    return this.db.run('read the user', () =>
      this.db.one('SELECT * FROM users WHERE id = $1', [id], rows.userFromRow),
    );
  }

  getUserByUsername(username: string): Promise<User | undefined> {
    return this.db.run('read the user', () =>
      this.db.one('SELECT * FROM users WHERE username = $1', [username], rows.userFromRow),
    );
  }

  listUsers(filter: { tenantId?: string | null } = {}): Promise<User[]> {
    const { tenantId } = filter;
    return this.db.run('list users', () =>
      tenantId === undefined
        ? this.db.list('SELECT * FROM users ORDER BY id', [], rows.userFromRow)
        : tenantId === null
          ? this.db.list('SELECT * FROM users WHERE tenant_id IS NULL ORDER BY id', [], rows.userFromRow)
          : this.db.list(
              'SELECT * FROM users WHERE tenant_id = $1 ORDER BY id',
              [tenantId],
              rows.userFromRow,
            ),
    );
  }

  updateUser(id: string, patch: UserPatch): Promise<User | undefined> {
    return this.db.run('update the user', () =>
      this.db.patch('users', id, patch, rows.USER_PATCH, rows.userFromRow),
    );
  }

  deleteUser(id: string): Promise<boolean> {
    // Sessions and API tokens go with it (ON DELETE CASCADE).
    return this.db.run('delete the user', () =>
      this.db.exec('DELETE FROM users WHERE id = $1', [id]).then((n) => n > 0),
    );
  }

  getUserTotp(userId: string): Promise<UserTotp | undefined> {
    const q = totp.get(userId);
    return this.db.run('read the second factor', () =>
      this.db.one(numbered(q.sql), q.params, rows.userTotpFromRow),
    );
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
    return this.db.run(what, async () => (await this.db.exec(numbered(q.sql), q.params)) > 0);
  }

  // Profiles

  createProfile(profile: DeviceProfile): Promise<void> {
    return this.db.run('create the profile', () => this.db.insert(rows.profileInsert(profile)));
  }

  getProfile(id: string): Promise<DeviceProfile | undefined> {
    return this.db.run('read the profile', () =>
      this.db.one('SELECT * FROM device_profiles WHERE id = $1', [id], rows.profileFromRow),
    );
  }

  listProfiles(tenantId?: string): Promise<DeviceProfile[]> {
    return this.db.run('list profiles', () =>
      tenantId === undefined
        ? this.db.list('SELECT * FROM device_profiles ORDER BY id', [], rows.profileFromRow)
        : this.db.list(
            'SELECT * FROM device_profiles WHERE tenant_id = $1 ORDER BY id',
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
      this.db.tx(async (c) => {
        if (!(await this.db.lockRow(c, 'device_profiles', id))) return false;
        const devices = await this.db.count(
          'SELECT count(*) AS n FROM devices WHERE profile_id = $1',
          [id],
          c,
        );
        if (devices > 0) throw profileInUse(id, devices);
        await c.query('DELETE FROM device_profiles WHERE id = $1', [id]);
        return true;
      }),
    );
  }

  // Devices

  createDevice(device: Device): Promise<void> {
    return this.db.run('create the device', () => this.db.insert(rows.deviceInsert(device)));
  }

  getDevice(id: string): Promise<Device | undefined> {
    return this.db.run('read the device', () =>
      this.db.one('SELECT * FROM devices WHERE id = $1', [id], rows.deviceFromRow),
    );
  }

  listDevices(query: DeviceQuery): Promise<Page<Device>> {
    const where = deviceWhere(query, DIALECT);
    const n = where.params.length;
    return this.db.run('list devices', () =>
      // One snapshot, so that total and items agree.
      this.db.tx(async (c) => {
        const total = await this.db.count(
          `SELECT count(*) AS n FROM devices${numbered(where.sql)}`,
          where.params,
          c,
        );
        const items = await this.db.list(
          `SELECT * FROM devices${numbered(where.sql)} ORDER BY id LIMIT $${n + 1} OFFSET $${n + 2}`,
          [...where.params, pageLimit(query.limit), pageOffset(query.offset)],
          rows.deviceFromRow,
          c,
        );
        return { items, total };
      }, ' ISOLATION LEVEL REPEATABLE READ READ ONLY'),
    );
  }

  updateDevice(id: string, patch: DevicePatch): Promise<Device | undefined> {
    return this.db.run('update the device', () =>
      this.db.patch('devices', id, patch, rows.DEVICE_PATCH, rows.deviceFromRow),
    );
  }

  deleteDevice(id: string): Promise<boolean> {
    // Credentials go with it (ON DELETE CASCADE).
    return this.db.run('delete the device', () =>
      this.db.exec('DELETE FROM devices WHERE id = $1', [id]).then((n) => n > 0),
    );
  }

  setLastSeen(entries: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void> {
    // One statement is one transaction. A device named twice gets its last time
    // (UPDATE … FROM would pick either).
    const latest = new Map(entries.map((e) => [e.deviceId, e.at]));
    if (latest.size === 0) return Promise.resolve();
    return this.db.run('record last-seen times', async () => {
      await this.db.exec(
        `UPDATE devices AS d SET last_seen = v.at
           FROM unnest($1::text[], $2::bigint[]) AS v (id, at)
          WHERE d.id = v.id`,
        [[...latest.keys()], [...latest.values()]],
      );
    });
  }

  countDevices(tenantId?: string): Promise<number> {
    return this.db.run('count devices', () =>
      tenantId === undefined
        ? this.db.count('SELECT count(*) AS n FROM devices')
        : this.db.count('SELECT count(*) AS n FROM devices WHERE tenant_id = $1', [tenantId]),
    );
  }

  // Credentials

  createCredential(credential: Credential): Promise<void> {
    return this.db.run('create the credential', () =>
      this.db.tx(async (c) => {
        // Passwords and hmac secrets have no unique index (rotation overlaps), so
        // creations of one kind and lookup take turns.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `halyard.credential:${credential.kind}:${credential.lookup}`,
        ]);
        const other = await c.query(
          `SELECT 1 FROM credentials
            WHERE kind = $1 AND lookup = $2 AND revoked_at IS NULL AND device_id <> $3 LIMIT 1`,
          [credential.kind, credential.lookup, credential.deviceId],
        );
        if (other.rowCount) throw lookupTaken(credential.kind);
        await this.db.insert(rows.credentialInsert(credential), c);
      }),
    );
  }

  getCredential(id: string): Promise<Credential | undefined> {
    return this.db.run('read the credential', () =>
      this.db.one('SELECT * FROM credentials WHERE id = $1', [id], rows.credentialFromRow),
    );
  }

  listCredentials(deviceId: string): Promise<Credential[]> {
    return this.db.run('list credentials', () =>
      this.db.list(
        'SELECT * FROM credentials WHERE device_id = $1 ORDER BY created_at, id',
        [deviceId],
        rows.credentialFromRow,
      ),
    );
  }

  findCredentials(kind: CredentialKind, lookup: string): Promise<Credential[]> {
    return this.db.run('find credentials', () =>
      this.db.list(
        `SELECT * FROM credentials WHERE kind = $1 AND lookup = $2 AND revoked_at IS NULL
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
        'UPDATE credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *',
        [id, at],
        rows.credentialFromRow,
      ),
    );
  }

  // Tenant CAs

  addTenantCa(ca: TenantCa): Promise<void> {
    return this.db.run('add the tenant CA', () => this.db.insert(rows.tenantCaInsert(ca)));
  }

  listTenantCas(tenantId?: string): Promise<TenantCa[]> {
    return this.db.run('list tenant CAs', () =>
      tenantId === undefined
        ? this.db.list('SELECT * FROM tenant_cas ORDER BY created_at, id', [], rows.tenantCaFromRow)
        : this.db.list(
            'SELECT * FROM tenant_cas WHERE tenant_id = $1 ORDER BY created_at, id',
            [tenantId],
            rows.tenantCaFromRow,
          ),
    );
  }

  removeTenantCa(id: string): Promise<boolean> {
    return this.db.run('remove the tenant CA', () =>
      this.db.exec('DELETE FROM tenant_cas WHERE id = $1', [id]).then((n) => n > 0),
    );
  }

  // API tokens

  createApiToken(token: ApiToken): Promise<void> {
    return this.db.run('create the API token', () => this.db.insert(rows.apiTokenInsert(token)));
  }

  findApiToken(tokenHash: string): Promise<ApiToken | undefined> {
    return this.db.run('find the API token', () =>
      this.db.one('SELECT * FROM api_tokens WHERE token_hash = $1', [tokenHash], rows.apiTokenFromRow),
    );
  }

  listApiTokens(userId: string): Promise<ApiToken[]> {
    return this.db.run('list API tokens', () =>
      this.db.list(
        'SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id',
        [userId],
        rows.apiTokenFromRow,
      ),
    );
  }

  revokeApiToken(id: string, at: number): Promise<ApiToken | undefined> {
    return this.db.run('revoke the API token', () =>
      this.db.one(
        'UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *',
        [id, at],
        rows.apiTokenFromRow,
      ),
    );
  }

  touchApiToken(id: string, at: number): Promise<void> {
    return this.db.run('touch the API token', async () => {
      await this.db.exec('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1', [id, at]);
    });
  }

  // Browser sessions

  createSession(session: UserSession): Promise<void> {
    return this.db.run('create the session', () => this.db.insert(rows.sessionInsert(session)));
  }

  findSession(tokenHash: string): Promise<UserSession | undefined> {
    return this.db.run('find the session', () =>
      this.db.one('SELECT * FROM user_sessions WHERE token_hash = $1', [tokenHash], rows.sessionFromRow),
    );
  }

  deleteSession(tokenHash: string): Promise<boolean> {
    return this.db.run('delete the session', () =>
      this.db.exec('DELETE FROM user_sessions WHERE token_hash = $1', [tokenHash]).then((n) => n > 0),
    );
  }

  deleteUserSessions(userId: string): Promise<number> {
    return this.db.run('delete the user sessions', () =>
      this.db.exec('DELETE FROM user_sessions WHERE user_id = $1', [userId]),
    );
  }

  deleteExpiredSessions(now: number): Promise<number> {
    return this.db.run('delete expired sessions', () =>
      this.db.exec('DELETE FROM user_sessions WHERE expires_at <= $1', [now]),
    );
  }

  // Audit

  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
    return this.db.run('append to the audit log', async () => {
      return rows.auditFromRow(await this.db.insertReturning<rows.AuditRow>(rows.auditInsert(entry)));
    });
  }

  queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const where = auditWhere(query);
    return this.db.run('query the audit log', () =>
      this.db.list(
        `SELECT * FROM audit_log${numbered(where.sql)} ORDER BY id DESC LIMIT $${where.params.length + 1}`,
        [...where.params, pageLimit(query.limit)],
        rows.auditFromRow,
      ),
    );
  }

  close(): Promise<void> {
    return this.db.end();
  }
}
