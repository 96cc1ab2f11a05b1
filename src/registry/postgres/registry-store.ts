import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { HalyardError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
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
import { CONSTRAINT_FIELDS, migratePostgres } from './migrations.js';
import { createPool, type RegistryPool } from './pool.js';

export interface PostgresRegistryStoreOptions {
  /** Connections in the pool; default 10. */
  poolSize?: number;
  logger?: Logger;
}

const DIALECT: SqlDialect = {
  hasTag: 'tags @> ?::jsonb',
  tagParam: (tag) => JSON.stringify([tag]),
  ilike: 'ILIKE',
  bool: (value) => value,
};

type Queryable = Pick<pg.Pool, 'query'> | PoolClient;

function insertSql(i: rows.Insert): string {
  const placeholders = i.columns.map((_, n) => `$${n + 1}`).join(', ');
  return `INSERT INTO ${i.table} (${i.columns.join(', ')}) VALUES (${placeholders})`;
}

/** `?` placeholders (shared filter code) → $1, $2, … from `first`. */
function numbered(sql: string, first = 1): string {
  let n = first;
  return sql.replace(/\?/g, () => `$${n++}`);
}

/**
 * The registry in PostgreSQL, for several Halyard nodes sharing one database.
 * A check and the write it guards run in one transaction that first locks the
 * rows (or, for credential lookups, an advisory key) the check is about.
 */
export class PostgresRegistryStore implements RegistryStore {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;

  private constructor(private readonly connections: RegistryPool) {
    this.pool = connections.pool;
  }

  static async open(url: string, opts: PostgresRegistryStoreOptions = {}): Promise<PostgresRegistryStore> {
    const log = opts.logger ?? silentLogger();
    const connections = createPool(url, { size: opts.poolSize, logger: log });
    try {
      const { from, to } = await migratePostgres(connections.pool);
      if (from !== to) log.info({ from, to }, 'postgres registry schema migrated');
      return new PostgresRegistryStore(connections);
    } catch (err) {
      await connections.end().catch(() => undefined);
      throw storeError('could not open the PostgreSQL registry store', err);
    }
  }

  // Tenants

  createTenant(tenant: Tenant): Promise<void> {
    return this.run('create the tenant', () => this.insert(rows.tenantInsert(tenant)));
  }

  getTenant(id: string): Promise<Tenant | undefined> {
    return this.run('read the tenant', () =>
      this.one('SELECT * FROM tenants WHERE id = $1', [id], rows.tenantFromRow),
    );
  }

  listTenants(): Promise<Tenant[]> {
    return this.run('list tenants', () =>
      this.list('SELECT * FROM tenants ORDER BY id', [], rows.tenantFromRow),
    );
  }

  updateTenant(id: string, patch: TenantPatch): Promise<Tenant | undefined> {
    return this.run('update the tenant', () =>
      this.patch('tenants', id, patch, rows.TENANT_PATCH, rows.tenantFromRow),
    );
  }

  deleteTenant(id: string): Promise<boolean> {
    return this.run('delete the tenant', () =>
      this.tx(async (c) => {
        // The row lock waits for, and then blocks, inserts that reference the tenant.
        if (!(await this.locked(c, 'tenants', id))) return false;
        const devices = await this.count('SELECT count(*) AS n FROM devices WHERE tenant_id = $1', [id], c);
        const users = await this.count('SELECT count(*) AS n FROM users WHERE tenant_id = $1', [id], c);
        if (devices > 0 || users > 0) throw tenantInUse(id, devices, users);
        // Profiles and CAs go with it (ON DELETE CASCADE).
        await c.query('DELETE FROM tenants WHERE id = $1', [id]);
        return true;
      }),
    );
  }

  // Users

  createUser(user: User): Promise<void> {
    return this.run('create the user', () => this.insert(rows.userInsert(user)));
  }

  getUser(id: string): Promise<User | undefined> {
    return this.run('read the user', () =>
      this.one('SELECT * FROM users WHERE id = $1', [id], rows.userFromRow),
    );
  }

  getUserByUsername(username: string): Promise<User | undefined> {
    return this.run('read the user', () =>
      this.one('SELECT * FROM users WHERE username = $1', [username], rows.userFromRow),
    );
  }

  listUsers(filter: { tenantId?: string | null } = {}): Promise<User[]> {
    const { tenantId } = filter;
    return this.run('list users', () =>
      tenantId === undefined
        ? this.list('SELECT * FROM users ORDER BY id', [], rows.userFromRow)
        : tenantId === null
          ? this.list('SELECT * FROM users WHERE tenant_id IS NULL ORDER BY id', [], rows.userFromRow)
          : this.list('SELECT * FROM users WHERE tenant_id = $1 ORDER BY id', [tenantId], rows.userFromRow),
    );
  }

  updateUser(id: string, patch: UserPatch): Promise<User | undefined> {
    return this.run('update the user', () =>
      this.patch('users', id, patch, rows.USER_PATCH, rows.userFromRow),
    );
  }

  deleteUser(id: string): Promise<boolean> {
    // Sessions and API tokens go with it (ON DELETE CASCADE).
    return this.run('delete the user', () =>
      this.exec('DELETE FROM users WHERE id = $1', [id]).then((n) => n > 0),
    );
  }

  // Profiles

  createProfile(profile: DeviceProfile): Promise<void> {
    return this.run('create the profile', () => this.insert(rows.profileInsert(profile)));
  }

  getProfile(id: string): Promise<DeviceProfile | undefined> {
    return this.run('read the profile', () =>
      this.one('SELECT * FROM device_profiles WHERE id = $1', [id], rows.profileFromRow),
    );
  }

  listProfiles(tenantId?: string): Promise<DeviceProfile[]> {
    return this.run('list profiles', () =>
      tenantId === undefined
        ? this.list('SELECT * FROM device_profiles ORDER BY id', [], rows.profileFromRow)
        : this.list(
            'SELECT * FROM device_profiles WHERE tenant_id = $1 ORDER BY id',
            [tenantId],
            rows.profileFromRow,
          ),
    );
  }

  updateProfile(id: string, patch: ProfilePatch): Promise<DeviceProfile | undefined> {
    return this.run('update the profile', () =>
      this.patch('device_profiles', id, patch, rows.PROFILE_PATCH, rows.profileFromRow),
    );
  }

  deleteProfile(id: string): Promise<boolean> {
    return this.run('delete the profile', () =>
      this.tx(async (c) => {
        if (!(await this.locked(c, 'device_profiles', id))) return false;
        const devices = await this.count('SELECT count(*) AS n FROM devices WHERE profile_id = $1', [id], c);
        if (devices > 0) throw profileInUse(id, devices);
        await c.query('DELETE FROM device_profiles WHERE id = $1', [id]);
        return true;
      }),
    );
  }

  // Devices

  createDevice(device: Device): Promise<void> {
    return this.run('create the device', () => this.insert(rows.deviceInsert(device)));
  }

  getDevice(id: string): Promise<Device | undefined> {
    return this.run('read the device', () =>
      this.one('SELECT * FROM devices WHERE id = $1', [id], rows.deviceFromRow),
    );
  }

  listDevices(query: DeviceQuery): Promise<Page<Device>> {
    const where = deviceWhere(query, DIALECT);
    const n = where.params.length;
    return this.run('list devices', () =>
      // One snapshot, so that total and items agree.
      this.tx(async (c) => {
        const total = await this.count(
          `SELECT count(*) AS n FROM devices${numbered(where.sql)}`,
          where.params,
          c,
        );
        const items = await this.list(
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
    return this.run('update the device', () =>
      this.patch('devices', id, patch, rows.DEVICE_PATCH, rows.deviceFromRow),
    );
  }

  deleteDevice(id: string): Promise<boolean> {
    // Credentials go with it (ON DELETE CASCADE).
    return this.run('delete the device', () =>
      this.exec('DELETE FROM devices WHERE id = $1', [id]).then((n) => n > 0),
    );
  }

  setLastSeen(entries: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void> {
    // One statement is one transaction. A device named twice gets its last time (UPDATE … FROM would pick either).
    const latest = new Map(entries.map((e) => [e.deviceId, e.at]));
    if (latest.size === 0) return Promise.resolve();
    return this.run('record last-seen times', async () => {
      await this.exec(
        `UPDATE devices AS d SET last_seen = v.at
           FROM unnest($1::text[], $2::bigint[]) AS v (id, at)
          WHERE d.id = v.id`,
        [[...latest.keys()], [...latest.values()]],
      );
    });
  }

  countDevices(tenantId?: string): Promise<number> {
    return this.run('count devices', () =>
      tenantId === undefined
        ? this.count('SELECT count(*) AS n FROM devices')
        : this.count('SELECT count(*) AS n FROM devices WHERE tenant_id = $1', [tenantId]),
    );
  }

  // Credentials

  createCredential(credential: Credential): Promise<void> {
    return this.run('create the credential', () =>
      this.tx(async (c) => {
        // Passwords and hmac secrets have no unique index (rotation overlaps), so creations of one lookup take turns.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `halyard.credential:${credential.kind}:${credential.lookup}`,
        ]);
        const other = await c.query(
          `SELECT 1 FROM credentials
            WHERE kind = $1 AND lookup = $2 AND revoked_at IS NULL AND device_id <> $3 LIMIT 1`,
          [credential.kind, credential.lookup, credential.deviceId],
        );
        if (other.rowCount) throw lookupTaken(credential.kind);
        await this.insert(rows.credentialInsert(credential), c);
      }),
    );
  }

  getCredential(id: string): Promise<Credential | undefined> {
    return this.run('read the credential', () =>
      this.one('SELECT * FROM credentials WHERE id = $1', [id], rows.credentialFromRow),
    );
  }

  listCredentials(deviceId: string): Promise<Credential[]> {
    return this.run('list credentials', () =>
      this.list(
        'SELECT * FROM credentials WHERE device_id = $1 ORDER BY created_at, id',
        [deviceId],
        rows.credentialFromRow,
      ),
    );
  }

  findCredentials(kind: CredentialKind, lookup: string): Promise<Credential[]> {
    return this.run('find credentials', () =>
      this.list(
        `SELECT * FROM credentials WHERE kind = $1 AND lookup = $2 AND revoked_at IS NULL
          ORDER BY created_at, id`,
        [kind, lookup],
        rows.credentialFromRow,
      ),
    );
  }

  revokeCredential(id: string, at: number): Promise<Credential | undefined> {
    // Revoking twice keeps the first time.
    return this.run('revoke the credential', () =>
      this.one(
        'UPDATE credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *',
        [id, at],
        rows.credentialFromRow,
      ),
    );
  }

  // Tenant CAs

  addTenantCa(ca: TenantCa): Promise<void> {
    return this.run('add the tenant CA', () => this.insert(rows.tenantCaInsert(ca)));
  }

  listTenantCas(tenantId?: string): Promise<TenantCa[]> {
    return this.run('list tenant CAs', () =>
      tenantId === undefined
        ? this.list('SELECT * FROM tenant_cas ORDER BY created_at, id', [], rows.tenantCaFromRow)
        : this.list(
            'SELECT * FROM tenant_cas WHERE tenant_id = $1 ORDER BY created_at, id',
            [tenantId],
            rows.tenantCaFromRow,
          ),
    );
  }

  removeTenantCa(id: string): Promise<boolean> {
    return this.run('remove the tenant CA', () =>
      this.exec('DELETE FROM tenant_cas WHERE id = $1', [id]).then((n) => n > 0),
    );
  }

  // API tokens

  createApiToken(token: ApiToken): Promise<void> {
    return this.run('create the API token', () => this.insert(rows.apiTokenInsert(token)));
  }

  findApiToken(tokenHash: string): Promise<ApiToken | undefined> {
    return this.run('find the API token', () =>
      this.one('SELECT * FROM api_tokens WHERE token_hash = $1', [tokenHash], rows.apiTokenFromRow),
    );
  }

  listApiTokens(userId: string): Promise<ApiToken[]> {
    return this.run('list API tokens', () =>
      this.list(
        'SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id',
        [userId],
        rows.apiTokenFromRow,
      ),
    );
  }

  revokeApiToken(id: string, at: number): Promise<ApiToken | undefined> {
    return this.run('revoke the API token', () =>
      this.one(
        'UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *',
        [id, at],
        rows.apiTokenFromRow,
      ),
    );
  }

  touchApiToken(id: string, at: number): Promise<void> {
    return this.run('touch the API token', async () => {
      await this.exec('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1', [id, at]);
    });
  }

  // Browser sessions

  createSession(session: UserSession): Promise<void> {
    return this.run('create the session', () => this.insert(rows.sessionInsert(session)));
  }

  findSession(tokenHash: string): Promise<UserSession | undefined> {
    return this.run('find the session', () =>
      this.one('SELECT * FROM user_sessions WHERE token_hash = $1', [tokenHash], rows.sessionFromRow),
    );
  }

  deleteSession(tokenHash: string): Promise<boolean> {
    return this.run('delete the session', () =>
      this.exec('DELETE FROM user_sessions WHERE token_hash = $1', [tokenHash]).then((n) => n > 0),
    );
  }

  deleteUserSessions(userId: string): Promise<number> {
    return this.run('delete the user sessions', () =>
      this.exec('DELETE FROM user_sessions WHERE user_id = $1', [userId]),
    );
  }

  deleteExpiredSessions(now: number): Promise<number> {
    return this.run('delete expired sessions', () =>
      this.exec('DELETE FROM user_sessions WHERE expires_at <= $1', [now]),
    );
  }

  // Audit

  appendAudit(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry> {
    return this.run('append to the audit log', async () => {
      return rows.auditFromRow(await this.insertReturning<rows.AuditRow>(rows.auditInsert(entry)));
    });
  }

  queryAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const where = auditWhere(query);
    return this.run('query the audit log', () =>
      this.list(
        `SELECT * FROM audit_log${numbered(where.sql)} ORDER BY id DESC LIMIT $${where.params.length + 1}`,
        [...where.params, pageLimit(query.limit)],
        rows.auditFromRow,
      ),
    );
  }

  close(): Promise<void> {
    return this.connections.end();
  }

  // Helpers

  private async one<R extends QueryResultRow, T>(
    sql: string,
    params: unknown[],
    decode: (row: R) => T,
    db: Queryable = this.pool,
  ): Promise<T | undefined> {
    const { rows: found } = await db.query<R>(sql, params);
    return found.length ? decode(found[0]) : undefined;
  }

  private async list<R extends QueryResultRow, T>(
    sql: string,
    params: unknown[],
    decode: (row: R) => T,
    db: Queryable = this.pool,
  ): Promise<T[]> {
    return (await db.query<R>(sql, params)).rows.map(decode);
  }

  private async exec(sql: string, params: unknown[], db: Queryable = this.pool): Promise<number> {
    return (await db.query(sql, params)).rowCount ?? 0;
  }

  private async count(sql: string, params: unknown[] = [], db: Queryable = this.pool): Promise<number> {
    return (await db.query<{ n: number }>(sql, params)).rows[0].n;
  }

  private async insert(i: rows.Insert, db: Queryable = this.pool): Promise<void> {
    await db.query(insertSql(i), i.values);
  }

  private async insertReturning<R extends QueryResultRow>(i: rows.Insert): Promise<R> {
    return (await this.pool.query<R>(`${insertSql(i)} RETURNING *`, i.values)).rows[0];
  }

  private async patch<R extends QueryResultRow, T>(
    table: string,
    id: string,
    patch: object,
    spec: readonly rows.PatchColumn[],
    decode: (row: R) => T,
  ): Promise<T | undefined> {
    const sets = rows.patchAssignments(patch, spec);
    if (sets.length === 0) return this.one(`SELECT * FROM ${table} WHERE id = $1`, [id], decode);
    const assignments = sets.map((s, n) => `${s.column} = $${n + 2}`).join(', ');
    return this.one(
      `UPDATE ${table} SET ${assignments} WHERE id = $1 RETURNING *`,
      [id, ...sets.map((s) => s.value)],
      decode,
    );
  }

  /** Locks the row for the rest of the transaction; false when there is none. */
  private async locked(c: PoolClient, table: string, id: string): Promise<boolean> {
    return ((await c.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id])).rowCount ?? 0) > 0;
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>, mode = ''): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(`BEGIN${mode}`);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storeError(`could not ${what}`, err);
    }
  }
}

function storeError(what: string, err: unknown): HalyardError {
  if (err instanceof HalyardError) return err;
  if (err instanceof pg.DatabaseError && (err.code === '23505' || err.code === '23503')) {
    const name = err.constraint ?? '';
    const field = CONSTRAINT_FIELDS[name] ?? (name.endsWith('_pkey') ? 'id' : name);
    return err.code === '23505'
      ? new HalyardError('CONFLICT', `${what}: the ${field} is taken`, { field }, { cause: err })
      : new HalyardError(
          'NOT_FOUND',
          `${what}: ${field} names no existing record`,
          { field },
          { cause: err },
        );
  }
  const detail = err instanceof Error ? err.message : undefined;
  return new HalyardError('STORE_FAILURE', detail ? `${what}: ${detail}` : what, {}, { cause: err });
}
