/** The API's records as the dashboard reads them (docs/api.md, "Records"). */

export type Role = 'admin' | 'operator' | 'viewer';

export interface User {
  id: string;
  username: string;
  tenantId: string | null;
  role: Role;
  active: boolean;
  createdAt: number;
  updatedAt: number;
  totpEnabled?: boolean;
}

export interface Me {
  user: User;
  tenantId: string | null;
  role: Role;
}

export interface Tenant {
  id: string;
  name: string;
  maxConnections: number;
  retentionDays: number;
  createdAt: number;
}

export interface Profile {
  id: string;
  tenantId: string;
  name: string;
}

export interface Device {
  id: string;
  tenantId: string;
  name: string;
  profileId: string | null;
  type: string;
  serial: string | null;
  tags: string[];
  labels: Record<string, string>;
  active: boolean;
  online: boolean;
  createdAt: number;
  updatedAt: number;
  lastSeen: number | null;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export type CredentialKind = 'token' | 'password' | 'certificate' | 'hmac';

export interface Credential {
  id: string;
  deviceId: string;
  kind: CredentialKind;
  lookup?: string;
  label: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface IssuedCredential {
  credential: Credential;
  secret?: string;
  certificate?: { certPem: string; keyPem?: string; caPem: string; fingerprint256: string };
}

export interface AuditEntry {
  id: number;
  at: number;
  tenantId: string | null;
  actorType: string;
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  outcome: 'success' | 'failure';
  details: Record<string, unknown>;
}

export type TelemetryValue = number | string | boolean;

export type Latest = Record<string, { ts: number; value: TelemetryValue }>;

export interface Buckets {
  fn: string;
  bucketMs: number;
  buckets: Array<{ key: string; ts: number; value: TelemetryValue | null; count: number }>;
}

export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
  qrSvg: string;
}
