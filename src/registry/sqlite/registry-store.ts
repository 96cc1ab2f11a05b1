import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import { HalyardError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { migrate } from '../../store/sqlite/migrations.js';
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
} from '../model.js';
import { auditWhere, deviceWhere, pageLimit, pageOffset, type SqlDialect } from '../sql/queries.js';
import { lookupTaken, profileInUse, tenantInUse } from '../sql/conflicts.js';
import * as rows from '../sql/rows.js';
import type {
  AuditQuery,
  DevicePatch,
  DeviceQuery,
  ProfilePatch,
  RegistryStore,
  TenantPatch,
  UserPatch,
} from '../store.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';

export interface SqliteRegistryStoreOptions {
  /** 'full' (default) survives power loss; 'normal' in WAL mode survives a process crash. */
  synchronous?: 'full' | 'normal';
  /** How long a write waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
  logger?: Logger;
}

const DIALECT: SqlDialect = {
  hasTag: 'EXISTS (SELECT 1 FROM json_each(devices.tags) AS t WHERE t.value = ?)',
  tagParam: (tag) => tag,
  ilike: 'LIKE',
  bool: (value) => (value ? 1 : 0),
};

/** better-sqlite3 binds neither booleans nor undefined. */
const bind = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v === undefined ? null : v);

/**
 * The registry in one SQLite file (WAL, foreign keys on). The methods return
 * promises to match the interface but do their work synchronously, so each one
 * is atomic without further locking: a check and the write it guards see the
 * same database.
 */
export class SqliteRegistryStore implements RegistryStore {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Statement>();

  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
  ) {}

  static open(path: string, opts: SqliteRegistryStoreOptions = {}): SqliteRegistryStore {
    const log = opts.logger ?? silentLogger();
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
      // Per connection, and off by default: the cascades and restrictions of the schema need it.
      db.pragma('foreign_keys = ON');
      const { from, to } = migrate(db, REGISTRY_MIGRATIONS);
      if (from !== to) log.info({ path, from, to }, 'sqlite registry schema migrated');
      return new SqliteRegistryStore(db, path);
    } catch (err) {
      db?.close();
      throw storeError('could not open the SQLite registry store', path, err);
    }
  }

  // Tenants

  createTenant(tenant: Tenant): Promise<void> {
    return this.run('create the tenant', () => {
      this.insert(rows.tenantInsert(tenant));
    });
  }

  getTenant(id: string): Promise<Tenant | undefined> {
    return this.run('read the tenant', () => this.tenant(id));
  }

  listTenants(): Promise<Tenant[]> {
    return this.run('list tenants', () =>
      this.all<rows.TenantRow>('SELECT * FROM tenants ORDER BY id').map(rows.tenantFromRow),
    );
  }

  updateTenant(id: string, patch: TenantPatch): Promise<Tenant | undefined> {
    return this.run('update the tenant', () =>
      this.patch('tenants', id, patch, rows.TENANT_PATCH, () => this.tenant(id)),
    );
  }

  deleteTenant(id: string): Promise<boolean> {
    return this.run('delete the tenant', () =>
      this.write(() => {
        const devices = this.count('SELECT count(*) AS n FROM devices WHERE tenant_id = ?', id);
        const users = this.count('SELECT count(*) AS n FROM users WHERE tenant_id = ?', id);
        if (devices > 0 || users > 0) throw tenantInUse(id, devices, users);
        // Profiles and CAs go with it (ON DELETE CASCADE).
        return this.exec('DELETE FROM tenants WHERE id = ?', id) > 0;
      }),
    );
  }

  // Users

  createUser(user: User): Promise<void> {
    return this.run('create the user', () =>
      this.write(() => {
        this.requireParent('tenants', 'tenantId', user.tenantId);
        this.insert(rows.userInsert(user));
      }),
    );
  }

  getUser(id: string): Promise<User | undefined> {
    return this.run('read the user', () => this.user('id', id));
  }

  getUserByUsername(username: string): Promise<User | undefined> {
    return this.run('read the user', () => this.user('username', username));
  }

  listUsers(filter: { tenantId?: string | null } = {}): Promise<User[]> {
    return this.run('list users', () => {
      const { tenantId } = filter;
      const list =
        tenantId === undefined
          ? this.all<rows.UserRow>('SELECT * FROM users ORDER BY id')
          : tenantId === null
            ? this.all<rows.UserRow>('SELECT * FROM users WHERE tenant_id IS NULL ORDER BY id')
            : this.all<rows.UserRow>('SELECT * FROM users WHERE tenant_id = ? ORDER BY id', tenantId);
      return list.map(rows.userFromRow);
    });
  }

  updateUser(id: string, patch: UserPatch): Promise<User | undefined> {
    return this.run('update the user', () =>
      this.patch('users', id, patch, rows.USER_PATCH, () => this.user('id', id)),
    );
  }

  deleteUser(id: string): Promise<boolean> {
    // Sessions and API tokens go with it (ON DELETE CASCADE).
    return this.run('delete the user', () => this.exec('DELETE FROM users WHERE id = ?', id) > 0);
  }

  // Profiles

  createProfile(profile: DeviceProfile): Promise<void> {
    return this.run('create the profile', () =>
      this.write(() => {
        this.requireParent('tenants', 'tenantId', profile.tenantId);
        this.insert(rows.profileInsert(profile));
      }),
    );
  }

  getProfile(id: string): Promise<DeviceProfile | undefined> {
    return this.run('read the profile', () => this.profile(id));
  }

  listProfiles(tenantId?: string): Promise<DeviceProfile[]> {
    return this.run('list profiles', () =>
      (tenantId === undefined
        ? this.all<rows.ProfileRow>('SELECT * FROM device_profiles ORDER BY id')
        : this.all<rows.ProfileRow>('SELECT * FROM device_profiles WHERE tenant_id = ? ORDER BY id', tenantId)
      ).map(rows.profileFromRow),
    );
  }

  updateProfile(id: string, patch: ProfilePatch): Promise<DeviceProfile | undefined> {
    return this.run('update the profile', () =>
      this.patch('device_profiles', id, patch, rows.PROFILE_PATCH, () => this.profile(id)),
    );
  }

  deleteProfile(id: string): Promise<boolean> {
    return this.run('delete the profile', () =>
      this.write(() => {
        const devices = this.count('SELECT count(*) AS n FROM devices WHERE profile_id = ?', id);
        if (devices > 0) throw profileInUse(id, devices);
        return this.exec('DELETE FROM device_profiles WHERE id = ?', id) > 0;
      }),
    );
  }

  // Devices

  createDevice(device: Device): Promise<void> {
    return this.run('create the device', () =>
      this.write(() => {
        this.requireParent('tenants', 'tenantId', device.tenantId);
        this.requireParent('device_profiles', 'profileId', device.profileId);
        this.insert(rows.deviceInsert(device));
      }),
    );
  }

  getDevice(id: string): Promise<Device | undefined> {
    return this.run('read the device', () => this.device(id));
  }

  listDevices(query: DeviceQuery): Promise<Page<Device>> {
    return this.run('list devices', () =>
      // One read transaction, so that total and items agree.
      this.db.transaction(() => {
        const where = deviceWhere(query, DIALECT);
        const total = this.count(`SELECT count(*) AS n FROM devices${where.sql}`, ...where.params);
        const items = this.all<rows.DeviceRow>(
          `SELECT * FROM devices${where.sql} ORDER BY id LIMIT ? OFFSET ?`,
          ...where.params,
          pageLimit(query.limit),
          pageOffset(query.offset),
        ).map(rows.deviceFromRow);
        return { items, total };
      })(),
    );
  }

  updateDevice(id: string, patch: DevicePatch): Promise<Device | undefined> {
    return this.run('update the device', () =>
      this.write(() => {
        if (patch.profileId !== undefined)
          this.requireParent('device_profiles', 'profileId', patch.profileId);
        return this.patch('devices', id, patch, rows.DEVICE_PATCH, () => this.device(id));
      }),
    );
  }

  deleteDevice(id: string): Promise<boolean> {
    // Credentials go with it (ON DELETE CASCADE).
    return this.run('delete the device', () => this.exec('DELETE FROM devices WHERE id = ?', id) > 0);
  }

  setLastSeen(entries: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void> {
    return this.run('record last-seen times', () =>
      this.write(() => {
        for (const e of entries) this.exec('UPDATE devices SET last_seen = ? WHERE id = ?', e.at, e.deviceId);
      }),
    );
  }

  countDevices(tenantId?: string): Promise<number> {
    return this.run('count devices', () =>
      tenantId === undefined
        ? this.count('SELECT count(*) AS n FROM devices')
        : this.count('SELECT count(*) AS n FROM devices WHERE tenant_id = ?', tenantId),
    );
  }

  // Credentials

  createCredential(credential: Credential): Promise<void> {
    return this.run('create the credential', () =>
      this.write(() => {
        this.requireParent('devices', 'deviceId', credential.deviceId);
        const other = this.get<{ device_id: string }>(
          `SELECT device_id FROM credentials
            WHERE kind = ? AND lookup = ? AND revoked_at IS NULL AND device_id <> ? LIMIT 1`,
          credential.kind,
          credential.lookup,
          credential.deviceId,
        );
        if (other) throw lookupTaken(credential.kind);
        this.insert(rows.credentialInsert(credential));
      }),
    );
  }

  getCredential(id: string): Promise<Credential | undefined> {
    return this.run('read the credential', () => this.credential(id));
  }

  listCredentials(deviceId: string): Promise<Credential[]> {
    return this.run('list credentials', () =>
      this.all<rows.CredentialRow>(
        'SELECT * FROM credentials WHERE device_id = ? ORDER BY created_at, id',
        deviceId,
      ).map(rows.credentialFromRow),
    );
  }

  findCredentials(kind: CredentialKind, lookup: string): Promise<Credential[]> {
    return this.run('find credentials', () =>
      this.all<rows.CredentialRow>(
        `SELECT * FROM credentials WHERE kind = ? AND lookup = ? AND revoked_at IS NULL
          ORDER BY created_at, id`,
        kind,
        lookup,
      ).map(rows.credentialFromRow),
    );
  }

  revokeCredential(id: string, at: number): Promise<Credential | undefined> {
    return this.run('revoke the credential', () =>
      this.write(() => {
        // Revoking twice keeps the first time.
        this.exec('UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id);
        return this.credential(id);
      }),
    );
  }

  // Tenant CAs

  addTenantCa(ca: TenantCa): Promise<void> {
    return this.run('add the tenant CA', () =>
      this.write(() => {
        this.requireParent('tenants', 'tenantId', ca.tenantId);
        this.insert(rows.tenantCaInsert(ca));
      }),
    );
  }

  listTenantCas(tenantId?: string): Promise<TenantCa[]> {
    return this.run('list tenant CAs', () =>
      (tenantId === undefined
        ? this.all<rows.TenantCaRow>('SELECT * FROM tenant_cas ORDER BY created_at, id')
        : this.all<rows.TenantCaRow>(
            'SELECT * FROM tenant_cas WHERE tenant_id = ? ORDER BY created_at, id',
            tenantId,
          )
      ).map(rows.tenantCaFromRow),
    );
  }

  removeTenantCa(id: string): Promise<boolean> {
    return this.run('remove the tenant CA', () => this.exec('DELETE FROM tenant_cas WHERE id = ?', id) > 0);
  }

  // API tokens

  createApiToken(token: ApiToken): Promise<void> {
    return this.run('create the API token', () =>
      this.write(() => {
        this.requireParent('users', 'userId', token.userId);
        this.insert(rows.apiTokenInsert(token));
      }),
    );
  }

  findApiToken(tokenHash: string): Promise<ApiToken | undefined> {
    return this.run('find the API token', () => this.apiToken('token_hash', tokenHash));
  }

  listApiTokens(userId: string): Promise<ApiToken[]> {
    return this.run('list API tokens', () =>
      this.all<rows.ApiTokenRow>(
        'SELECT * FROM api_tokens WHERE user_id = ? ORDER BY created_at, id',
        userId,
      ).map(rows.apiTokenFromRow),
    );
  }

  revokeApiToken(id: string, at: number): Promise<ApiToken | undefined> {
    return this.run('revoke the API token', () =>
      this.write(() => {
        this.exec('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id);
        return this.apiToken('id', id);
      }),
    );
  }

  touchApiToken(id: string, at: number): Promise<void> {
    return this.run('touch the API token', () => {
      this.exec('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', at, id);
    });
  }

  // Browser sessions

  createSession(session: UserSession): Promise<void> {
    return this.run('create the session', () =>
      this.write(() => {
        this.requireParent('users', 'userId', session.userId);
        this.insert(rows.sessionInsert(session));
      }),
    );
  }

  findSession(tokenHash: string): Promise<UserSession | undefined> {
    return this.run('find the session', () => {
      const row = this.get<rows.SessionRow>('SELECT * FROM user_sessions WHERE token_hash = ?', tokenHash);
      return row && rows.sessionFromRow(row);
    });
  }

  deleteSession(tokenHash: string): Promise<boolean> {
    return this.run(
      'delete the session',
      () => this.exec('DELETE FROM user_sessions WHERE token_hash = ?', tokenHash) > 0,
    );
  }

  deleteUserSessions(userId: string): Promise<number> {
    return this.run('delete the user sessions', () =>
      this.exec('DELETE FROM user_sessions WHERE user_id = ?', userId),
    );
  }

  deleteExpiredSessions(now: number): Promise<number> {
    return this.run('delete expired sessions', () =>
      this.exec('DELETE FROM user_sessions WHERE expires_at <= ?', now),
    );
  }

  // Audit

  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
    return this.run('append to the audit log', () =>
      this.write(() => {
        const id = this.insert(rows.auditInsert(entry));
        return rows.auditFromRow(this.get<rows.AuditRow>('SELECT * FROM audit_log WHERE id = ?', id)!);
      }),
    );
  }

  queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    return this.run('query the audit log', () => {
      const where = auditWhere(query);
      return this.all<rows.AuditRow>(
        `SELECT * FROM audit_log${where.sql} ORDER BY id DESC LIMIT ?`,
        ...where.params,
        pageLimit(query.limit),
      ).map(rows.auditFromRow);
    });
  }

  close(): Promise<void> {
    this.statements.clear();
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  // Helpers

  private tenant(id: string): Tenant | undefined {
    const row = this.get<rows.TenantRow>('SELECT * FROM tenants WHERE id = ?', id);
    return row && rows.tenantFromRow(row);
  }

  private user(by: 'id' | 'username', value: string): User | undefined {
    const row = this.get<rows.UserRow>(`SELECT * FROM users WHERE ${by} = ?`, value);
    return row && rows.userFromRow(row);
  }

  private profile(id: string): DeviceProfile | undefined {
    const row = this.get<rows.ProfileRow>('SELECT * FROM device_profiles WHERE id = ?', id);
    return row && rows.profileFromRow(row);
  }

  private device(id: string): Device | undefined {
    const row = this.get<rows.DeviceRow>('SELECT * FROM devices WHERE id = ?', id);
    return row && rows.deviceFromRow(row);
  }

  private credential(id: string): Credential | undefined {
    const row = this.get<rows.CredentialRow>('SELECT * FROM credentials WHERE id = ?', id);
    return row && rows.credentialFromRow(row);
  }

  private apiToken(by: 'id' | 'token_hash', value: string): ApiToken | undefined {
    const row = this.get<rows.ApiTokenRow>(`SELECT * FROM api_tokens WHERE ${by} = ?`, value);
    return row && rows.apiTokenFromRow(row);
  }

  /** NOT_FOUND naming the field when a referenced record is missing (SQLite's own error names no key). */
  private requireParent(table: string, field: string, id: string | null): void {
    if (id !== null && !this.get(`SELECT 1 FROM ${table} WHERE id = ?`, id)) {
      throw new HalyardError('NOT_FOUND', `${field} "${id}" names no existing record`, { field });
    }
  }

  private patch<T>(
    table: string,
    id: string,
    patch: object,
    spec: readonly rows.PatchColumn[],
    read: () => T | undefined,
  ): T | undefined {
    const sets = rows.patchAssignments(patch, spec);
    if (sets.length === 0) return read();
    return this.write(() => {
      const assignments = sets.map((s) => `${s.column} = ?`).join(', ');
      const changed = this.exec(
        `UPDATE ${table} SET ${assignments} WHERE id = ?`,
        ...sets.map((s) => s.value),
        id,
      );
      return changed > 0 ? read() : undefined;
    });
  }

  /** Returns the new rowid. */
  private insert(i: rows.Insert): number {
    const sql = `INSERT INTO ${i.table} (${i.columns.join(', ')}) VALUES (${i.columns.map(() => '?').join(', ')})`;
    return Number(this.statement(sql).run(...i.values.map(bind)).lastInsertRowid);
  }

  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private exec(sql: string, ...params: unknown[]): number {
    return this.statement(sql).run(...params.map(bind)).changes;
  }

  private get<R>(sql: string, ...params: unknown[]): R | undefined {
    return this.statement(sql).get(...params.map(bind)) as R | undefined;
  }

  private all<R>(sql: string, ...params: unknown[]): R[] {
    return this.statement(sql).all(...params.map(bind)) as R[];
  }

  private count(sql: string, ...params: unknown[]): number {
    return this.get<{ n: number }>(sql, ...params)!.n;
  }

  /** Statements are prepared once per SQL text; the filter and patch combinations are few. */
  private statement(sql: string): Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  private run<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(storeError(`could not ${what}`, this.path, err));
    }
  }
}

function storeError(what: string, path: string, err: unknown): HalyardError {
  if (err instanceof HalyardError) return err;
  if (
    err instanceof Database.SqliteError &&
    (err.code === 'SQLITE_CONSTRAINT_UNIQUE' || err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
  ) {
    // "UNIQUE constraint failed: credentials.kind, credentials.lookup": the last column names the key.
    const column = err.message.split(/[ .]/).pop() ?? 'id';
    const field = rows.fieldOf(column);
    return new HalyardError('CONFLICT', `${what}: the ${field} is taken`, { field }, { cause: err });
  }
  const detail = err instanceof Error ? err.message : undefined;
  return new HalyardError('STORE_FAILURE', detail ? `${what}: ${detail}` : what, { path }, { cause: err });
}
