/**
 * What the API returns. Records are mapped field by field into these shapes, so a
 * field added to a stored record (a hash, a sealed secret) never reaches a response
 * unless it is added here on purpose; the zod serialiser strips anything else.
 */
import { z } from 'zod';
import type {
  ApiToken,
  AuditEntry,
  Credential,
  Device,
  DeviceProfile,
  Tenant,
  TenantCa,
  User,
} from '../registry/model.js';
import type { IssuedCredential } from '../registry/service.js';

/** Named schemas, listed under components.schemas in the OpenAPI document. Kept apart from zod's global registry. */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  apiSchemas.add(schema, { id, description });
  return schema;
}

const ms = z.number().int().describe('milliseconds since the epoch');
const role = z.enum(['admin', 'operator', 'viewer']);

export const ErrorBody = named(
  'Error',
  z.object({
    error: z.string().describe('stable code: INVALID_INPUT, UNAUTHENTICATED, NOT_AUTHORIZED, NOT_FOUND…'),
    message: z.string(),
    field: z.string().optional().describe('path of the invalid input, e.g. body.name or query.limit'),
  }),
);

export const AclRuleDto = named(
  'AclRule',
  z.object({
    action: z.enum(['publish', 'subscribe', 'all']),
    topic: z.string(),
    permission: z.enum(['allow', 'deny']).optional(),
  }),
);

export const AclDto = z.object({ rules: z.array(AclRuleDto) });

export const TenantDto = named(
  'Tenant',
  z.object({
    id: z.string(),
    name: z.string(),
    maxConnections: z.number().int(),
    retentionDays: z.number().int().describe('days of telemetry kept; 0 = forever'),
    keyRetentionDays: z.record(z.string(), z.number().int()).describe('per-key overrides of retentionDays'),
    createdAt: ms,
  }),
);

export const TenantCaDto = named(
  'TenantCa',
  z.object({
    id: z.string(),
    tenantId: z.string(),
    certPem: z.string(),
    fingerprint256: z.string(),
    subject: z.string(),
    createdAt: ms,
  }),
);

export const UserDto = named(
  'User',
  z.object({
    id: z.string(),
    username: z.string(),
    tenantId: z.string().nullable().describe('null for a platform admin'),
    role,
    active: z.boolean(),
    totpEnabled: z.boolean().describe('signs in with a TOTP code as well as the password'),
    createdAt: ms,
    updatedAt: ms,
  }),
);

export const ProfileDto = named(
  'DeviceProfile',
  z.object({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    description: z.string(),
    acl: z.array(AclRuleDto),
    limits: z.object({
      maxConnections: z.number().int(),
      publishMessagesPerSecond: z.number(),
      publishBytesPerSecond: z.number(),
    }),
    createdAt: ms,
    updatedAt: ms,
  }),
);

export const DeviceDto = named(
  'Device',
  z.object({
    id: z.string(),
    tenantId: z.string(),
    name: z.string(),
    profileId: z.string().nullable(),
    type: z.string(),
    serial: z.string().nullable(),
    tags: z.array(z.string()),
    labels: z.record(z.string(), z.string()),
    acl: z.array(AclRuleDto).describe("the device's own rules; empty = the profile's ACL"),
    active: z.boolean(),
    online: z.boolean().describe('connected to the broker right now'),
    createdAt: ms,
    updatedAt: ms,
    lastSeen: ms.nullable(),
  }),
);

export const DevicePageDto = z.object({ items: z.array(DeviceDto), total: z.number().int() });

export const CredentialDto = named(
  'Credential',
  z.object({
    id: z.string(),
    deviceId: z.string(),
    tenantId: z.string(),
    kind: z.enum(['token', 'password', 'certificate', 'hmac']),
    lookup: z
      .string()
      .optional()
      .describe('password: the MQTT username; certificate: its SHA-256 fingerprint'),
    label: z.string(),
    createdAt: ms,
    expiresAt: ms.nullable(),
    revokedAt: ms.nullable(),
  }),
);

export const IssuedCredentialDto = named(
  'IssuedCredential',
  z.object({
    credential: CredentialDto,
    secret: z.string().optional().describe('token, password or hmac secret: shown this once, never again'),
    certificate: z
      .object({
        certPem: z.string(),
        keyPem: z.string().optional().describe('the private key, when Halyard generated it: shown once'),
        caPem: z.string(),
        fingerprint256: z.string(),
      })
      .optional(),
  }),
);

export const ApiTokenDto = named(
  'ApiToken',
  z.object({
    id: z.string(),
    userId: z.string(),
    name: z.string(),
    createdAt: ms,
    expiresAt: ms.nullable(),
    revokedAt: ms.nullable(),
    lastUsedAt: ms.nullable(),
  }),
);

export const AuditEntryDto = named(
  'AuditEntry',
  z.object({
    id: z.number().int(),
    at: ms,
    tenantId: z.string().nullable(),
    actorType: z.enum(['user', 'api-token', 'device', 'system']),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    address: z.string().nullable(),
    outcome: z.enum(['success', 'failure']),
    details: z.record(z.string(), z.unknown()),
  }),
);

export const TotpEnrolmentDto = named(
  'TotpEnrolment',
  z.object({
    secret: z.string().describe('the shared secret in base32, for typing into an authenticator app'),
    otpauthUrl: z.string().describe('otpauth://totp/Halyard:<username>?…, the content of the QR code'),
    qrSvg: z.string().describe('the otpauth URL as a QR code, an SVG document'),
  }),
);

export const NoContent = z.undefined().describe('no content');

export function userDto(u: User): z.infer<typeof UserDto> {
  return {
    id: u.id,
    username: u.username,
    tenantId: u.tenantId,
    role: u.role,
    active: u.active,
    totpEnabled: u.totpEnabled,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

export function tenantDto(t: Tenant): z.infer<typeof TenantDto> {
  const { id, name, maxConnections, retentionDays, keyRetentionDays, createdAt } = t;
  return { id, name, maxConnections, retentionDays, keyRetentionDays, createdAt };
}

export function profileDto(p: DeviceProfile): z.infer<typeof ProfileDto> {
  const { id, tenantId, name, description, acl, limits, createdAt, updatedAt } = p;
  return { id, tenantId, name, description, acl, limits, createdAt, updatedAt };
}

export function tenantCaDto(ca: TenantCa): z.infer<typeof TenantCaDto> {
  const { id, tenantId, certPem, fingerprint256, subject, createdAt } = ca;
  return { id, tenantId, certPem, fingerprint256, subject, createdAt };
}

export function deviceDto(d: Device, online: boolean): z.infer<typeof DeviceDto> {
  return {
    id: d.id,
    tenantId: d.tenantId,
    name: d.name,
    profileId: d.profileId,
    type: d.type,
    serial: d.serial,
    tags: d.tags,
    labels: d.labels,
    acl: d.acl,
    active: d.active,
    online,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    lastSeen: d.lastSeen,
  };
}

/** Never the secret; the lookup only where it is a public name (a token's lookup is its hash). */
export function credentialDto(c: Credential): z.infer<typeof CredentialDto> {
  const showLookup = c.kind === 'password' || c.kind === 'certificate';
  return {
    id: c.id,
    deviceId: c.deviceId,
    tenantId: c.tenantId,
    kind: c.kind,
    ...(showLookup ? { lookup: c.lookup } : {}),
    label: c.label,
    createdAt: c.createdAt,
    expiresAt: c.expiresAt,
    revokedAt: c.revokedAt,
  };
}

export function issuedCredentialDto(issued: IssuedCredential): z.infer<typeof IssuedCredentialDto> {
  const { certificate } = issued;
  return {
    credential: credentialDto(issued.credential),
    ...(issued.secret !== undefined ? { secret: issued.secret } : {}),
    ...(certificate
      ? {
          certificate: {
            certPem: certificate.certPem,
            ...(certificate.keyPem !== undefined ? { keyPem: certificate.keyPem } : {}),
            caPem: certificate.caPem,
            fingerprint256: certificate.fingerprint256,
          },
        }
      : {}),
  };
}

export function apiTokenDto(t: ApiToken): z.infer<typeof ApiTokenDto> {
  const { id, userId, name, createdAt, expiresAt, revokedAt, lastUsedAt } = t;
  return { id, userId, name, createdAt, expiresAt, revokedAt, lastUsedAt };
}

export function auditEntryDto(e: AuditEntry): z.infer<typeof AuditEntryDto> {
  const { id, at, tenantId, actorType, actor, action, target, address, outcome, details } = e;
  return { id, at, tenantId, actorType, actor, action, target, address, outcome, details };
}
