/**
 * The registry's records, as both stores keep them. Times are milliseconds since
 * the epoch. Secrets never appear here in clear: tokens as SHA-256, passwords as
 * scrypt hashes, HMAC and TOTP secrets sealed with the server key (see secrets.ts).
 */
import type { AclRule } from '../devices/acl.js';

export type Role = 'admin' | 'operator' | 'viewer';

/** Ids of tenants, devices, profiles, users: safe in topics, file names and certificate CNs. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface Tenant {
  id: string;
  name: string;
  /** 0 = the platform default (config security.maxConnectionsPerTenant). */
  maxConnections: number;
  /** Telemetry older than this many days is deleted by the retention job; 0 = keep forever. */
  retentionDays: number;
  /** Per-key overrides of retentionDays (0 = keep that key forever), e.g. { debug_log: 7 }. */
  keyRetentionDays: Record<string, number>;
  createdAt: number;
}

export interface User {
  id: string;
  /** Unique across the platform: people sign in with it, without naming a tenant. */
  username: string;
  /** null for a platform admin, who belongs to no tenant. */
  tenantId: string | null;
  role: Role;
  passwordHash: string;
  active: boolean;
  /**
   * A confirmed TOTP second factor is on: sign-in needs a code too. Kept by the
   * store's TOTP methods (UserTotp), never by createUser or updateUser.
   */
  totpEnabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A person's TOTP second factor (RFC 6238): at most one per user, pending until a first code confirms it. */
export interface UserTotp {
  userId: string;
  /** The shared secret, sealed with the server key (secrets.ts) under the context `totp:<userId>`. */
  secret: string;
  createdAt: number;
  /** null while the enrolment is pending: the factor is not asked for until confirmed. */
  confirmedAt: number | null;
  /** The time step (Unix seconds / 30) of the last accepted code: a code of it or an earlier step is a replay. */
  lastStep: number | null;
}

/** Per-device limits; 0 means "use the platform default" from the config. */
export interface DeviceLimits {
  maxConnections: number;
  publishMessagesPerSecond: number;
  publishBytesPerSecond: number;
}

export interface DeviceProfile {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  /** Applies to every device of the profile that has no ACL of its own. */
  acl: AclRule[];
  limits: DeviceLimits;
  createdAt: number;
  updatedAt: number;
}

export interface Device {
  /** Unique across the platform, so a certificate CN or a token names exactly one device. */
  id: string;
  tenantId: string;
  name: string;
  profileId: string | null;
  /** Free-form device type ("thermostat"), for filtering. */
  type: string;
  serial: string | null;
  tags: string[];
  labels: Record<string, string>;
  /** Rules of this device; empty = the profile's ACL (or the default device ACL). */
  acl: AclRule[];
  active: boolean;
  createdAt: number;
  updatedAt: number;
  /** Last connect, disconnect or keep-alive; null until the device first connects. */
  lastSeen: number | null;
}

export type CredentialKind = 'token' | 'password' | 'certificate' | 'hmac';

export interface Credential {
  id: string;
  deviceId: string;
  tenantId: string;
  kind: CredentialKind;
  /**
   * How a login finds this credential, unique among unrevoked credentials of a kind:
   * token → SHA-256 hex of the token; password → the MQTT username;
   * certificate → SHA-256 fingerprint (colon-separated upper-case hex); hmac → the device id.
   */
  lookup: string;
  /** password → scrypt hash; hmac → sealed secret; token and certificate → null. */
  secret: string | null;
  /** Shown in lists: token prefix, username, certificate subject… never a secret. */
  label: string;
  createdAt: number;
  /** Certificates: the certificate's notAfter. */
  expiresAt: number | null;
  revokedAt: number | null;
}

/** A CA a tenant trusts for its devices' client certificates (mutual TLS). */
export interface TenantCa {
  id: string;
  tenantId: string;
  certPem: string;
  fingerprint256: string;
  subject: string;
  createdAt: number;
}

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  /** SHA-256 hex of the token. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface UserSession {
  /** SHA-256 hex of the session token (the cookie value). */
  tokenHash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  address: string | null;
}

export type ActorType = 'user' | 'api-token' | 'device' | 'system';

export interface AuditEntry {
  id: number;
  at: number;
  /** Tenant the action concerns; null for platform-level actions. */
  tenantId: string | null;
  actorType: ActorType;
  /** User name, device id, or "system"; for failed logins, the name that was tried. */
  actor: string;
  /** Dotted verb: login.success, login.failure, device.create, credential.revoke… (docs/security.md). */
  action: string;
  /** What was acted on ("device:d1", "user:alice"), or null. */
  target: string | null;
  /** Source address of the request or connection, when there was one. */
  address: string | null;
  outcome: 'success' | 'failure';
  /** Non-secret details: changed fields, reason, credential kind, listener… */
  details: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  total: number;
}
