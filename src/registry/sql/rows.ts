/**
 * What the SQLite and PostgreSQL registry stores share: table columns, the
 * parameters of an INSERT, and the decoding of a row back into a record.
 * Column names are the same in both dialects; the values differ only in how
 * booleans (0/1 or boolean) and JSON (text or parsed JSONB) come back.
 */
import type { AclRule } from '../../devices/acl.js';
import type {
  ApiToken,
  AuditEntry,
  Credential,
  Device,
  DeviceLimits,
  DeviceProfile,
  Tenant,
  TenantCa,
  User,
  UserSession,
  UserTotp,
} from '../model.js';

/** An INSERT of one record: the table, its columns and the values in that order. */
export interface Insert {
  table: string;
  columns: readonly string[];
  values: unknown[];
}

const insert = (table: string, row: Record<string, unknown>): Insert => ({
  table,
  columns: Object.keys(row),
  values: Object.values(row),
});

const json = (value: unknown): string => JSON.stringify(value);

export const tenantInsert = (t: Tenant): Insert =>
  insert('tenants', {
    id: t.id,
    name: t.name,
    max_connections: t.maxConnections,
    retention_days: t.retentionDays,
    key_retention_days: json(t.keyRetentionDays),
    created_at: t.createdAt,
  });

export const userInsert = (u: User): Insert =>
  insert('users', {
    id: u.id,
    username: u.username,
    tenant_id: u.tenantId,
    role: u.role,
    password_hash: u.passwordHash,
    active: u.active,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
  });

export const profileInsert = (p: DeviceProfile): Insert =>
  insert('device_profiles', {
    id: p.id,
    tenant_id: p.tenantId,
    name: p.name,
    description: p.description,
    acl: json(p.acl),
    limits: json(p.limits),
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  });

export const deviceInsert = (d: Device): Insert =>
  insert('devices', {
    id: d.id,
    tenant_id: d.tenantId,
    name: d.name,
    profile_id: d.profileId,
    type: d.type,
    serial: d.serial,
    tags: json(d.tags),
    labels: json(d.labels),
    acl: json(d.acl),
    active: d.active,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    last_seen: d.lastSeen,
  });

export const credentialInsert = (c: Credential): Insert =>
  insert('credentials', {
    id: c.id,
    device_id: c.deviceId,
    tenant_id: c.tenantId,
    kind: c.kind,
    lookup: c.lookup,
    secret: c.secret,
    label: c.label,
    created_at: c.createdAt,
    expires_at: c.expiresAt,
    revoked_at: c.revokedAt,
  });

export const tenantCaInsert = (ca: TenantCa): Insert =>
  insert('tenant_cas', {
    id: ca.id,
    tenant_id: ca.tenantId,
    cert_pem: ca.certPem,
    fingerprint256: ca.fingerprint256,
    subject: ca.subject,
    created_at: ca.createdAt,
  });

export const apiTokenInsert = (t: ApiToken): Insert =>
  insert('api_tokens', {
    id: t.id,
    user_id: t.userId,
    name: t.name,
    token_hash: t.tokenHash,
    created_at: t.createdAt,
    expires_at: t.expiresAt,
    revoked_at: t.revokedAt,
    last_used_at: t.lastUsedAt,
  });

export const sessionInsert = (s: UserSession): Insert =>
  insert('user_sessions', {
    token_hash: s.tokenHash,
    user_id: s.userId,
    created_at: s.createdAt,
    expires_at: s.expiresAt,
    address: s.address,
  });

/** Without the id, which the database assigns. */
export const auditInsert = (e: Omit<AuditEntry, 'id'>): Insert =>
  insert('audit_log', {
    at: e.at,
    tenant_id: e.tenantId,
    actor_type: e.actorType,
    actor: e.actor,
    action: e.action,
    target: e.target,
    address: e.address,
    outcome: e.outcome,
    details: json(e.details),
  });

/** A patchable field: the record's key, its column, and whether the value is stored as JSON. */
export interface PatchColumn {
  key: string;
  column: string;
  json?: true;
}

const columns = (spec: Record<string, string>, jsonKeys: readonly string[] = []): PatchColumn[] =>
  Object.entries(spec).map(([key, column]) =>
    jsonKeys.includes(key) ? { key, column, json: true } : { key, column },
  );

export const TENANT_PATCH = columns(
  {
    name: 'name',
    maxConnections: 'max_connections',
    retentionDays: 'retention_days',
    keyRetentionDays: 'key_retention_days',
  },
  ['keyRetentionDays'],
);
export const USER_PATCH = columns({
  role: 'role',
  passwordHash: 'password_hash',
  active: 'active',
  updatedAt: 'updated_at',
});
export const PROFILE_PATCH = columns(
  { name: 'name', description: 'description', acl: 'acl', limits: 'limits', updatedAt: 'updated_at' },
  ['acl', 'limits'],
);
export const DEVICE_PATCH = columns(
  {
    name: 'name',
    profileId: 'profile_id',
    type: 'type',
    serial: 'serial',
    tags: 'tags',
    labels: 'labels',
    acl: 'acl',
    active: 'active',
    updatedAt: 'updated_at',
  },
  ['tags', 'labels', 'acl'],
);

/**
 * The column assignments of a patch. Only the listed keys count, so a patch
 * smuggling in id, tenantId or createdAt changes nothing; undefined means "keep".
 */
export function patchAssignments(
  patch: object,
  spec: readonly PatchColumn[],
): { column: string; value: unknown }[] {
  const values = patch as Record<string, unknown>;
  return spec
    .filter((c) => values[c.key] !== undefined)
    .map((c) => ({ column: c.column, value: c.json ? json(values[c.key]) : values[c.key] }));
}

// Rows as the drivers return them: SQLite gives 0/1 and JSON text, PostgreSQL booleans and parsed JSONB.
type Bool = boolean | number;
type Json = unknown;

const bool = (v: Bool): boolean => v === true || v === 1;
const parse = <T>(v: Json): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export interface TenantRow {
  id: string;
  name: string;
  max_connections: number;
  retention_days: number;
  key_retention_days: Json;
  created_at: number;
}

export const tenantFromRow = (r: TenantRow): Tenant => ({
  id: r.id,
  name: r.name,
  maxConnections: r.max_connections,
  retentionDays: r.retention_days,
  keyRetentionDays: parse<Record<string, number>>(r.key_retention_days),
  createdAt: r.created_at,
});

export interface UserRow {
  id: string;
  username: string;
  tenant_id: string | null;
  role: User['role'];
  password_hash: string;
  active: Bool;
  created_at: number;
  updated_at: number;
  totp_secret: string | null;
  totp_created_at: number | null;
  totp_confirmed_at: number | null;
  totp_last_step: number | null;
}

export const userFromRow = (r: UserRow): User => ({
  id: r.id,
  username: r.username,
  tenantId: r.tenant_id,
  role: r.role,
  passwordHash: r.password_hash,
  active: bool(r.active),
  totpEnabled: r.totp_confirmed_at !== null,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Undefined for a user without a second factor. */
export const userTotpFromRow = (r: UserRow): UserTotp | undefined =>
  r.totp_secret === null || r.totp_created_at === null
    ? undefined
    : {
        userId: r.id,
        secret: r.totp_secret,
        createdAt: r.totp_created_at,
        confirmedAt: r.totp_confirmed_at,
        lastStep: r.totp_last_step,
      };

export interface ProfileRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  acl: Json;
  limits: Json;
  created_at: number;
  updated_at: number;
}

export const profileFromRow = (r: ProfileRow): DeviceProfile => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  description: r.description,
  acl: parse<AclRule[]>(r.acl),
  limits: parse<DeviceLimits>(r.limits),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface DeviceRow {
  id: string;
  tenant_id: string;
  name: string;
  profile_id: string | null;
  type: string;
  serial: string | null;
  tags: Json;
  labels: Json;
  acl: Json;
  active: Bool;
  created_at: number;
  updated_at: number;
  last_seen: number | null;
}

export const deviceFromRow = (r: DeviceRow): Device => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  profileId: r.profile_id,
  type: r.type,
  serial: r.serial,
  tags: parse<string[]>(r.tags),
  labels: parse<Record<string, string>>(r.labels),
  acl: parse<AclRule[]>(r.acl),
  active: bool(r.active),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  lastSeen: r.last_seen,
});

export interface CredentialRow {
  id: string;
  device_id: string;
  tenant_id: string;
  kind: Credential['kind'];
  lookup: string;
  secret: string | null;
  label: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export const credentialFromRow = (r: CredentialRow): Credential => ({
  id: r.id,
  deviceId: r.device_id,
  tenantId: r.tenant_id,
  kind: r.kind,
  lookup: r.lookup,
  secret: r.secret,
  label: r.label,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

export interface TenantCaRow {
  id: string;
  tenant_id: string;
  cert_pem: string;
  fingerprint256: string;
  subject: string;
  created_at: number;
}

export const tenantCaFromRow = (r: TenantCaRow): TenantCa => ({
  id: r.id,
  tenantId: r.tenant_id,
  certPem: r.cert_pem,
  fingerprint256: r.fingerprint256,
  subject: r.subject,
  createdAt: r.created_at,
});

export interface ApiTokenRow {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export const apiTokenFromRow = (r: ApiTokenRow): ApiToken => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

export interface SessionRow {
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  address: string | null;
}

export const sessionFromRow = (r: SessionRow): UserSession => ({
  tokenHash: r.token_hash,
  userId: r.user_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  address: r.address,
});

export interface AuditRow {
  id: number;
  at: number;
  tenant_id: string | null;
  actor_type: AuditEntry['actorType'];
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  outcome: AuditEntry['outcome'];
  details: Json;
}

export const auditFromRow = (r: AuditRow): AuditEntry => ({
  id: r.id,
  at: r.at,
  tenantId: r.tenant_id,
  actorType: r.actor_type,
  actor: r.actor,
  action: r.action,
  target: r.target,
  address: r.address,
  outcome: r.outcome,
  details: parse<Record<string, unknown>>(r.details),
});

/** snake_case column → camelCase record key, for the `field` of a CONFLICT. */
export const fieldOf = (column: string): string =>
  column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
