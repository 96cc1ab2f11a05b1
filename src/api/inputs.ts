/**
 * What the API accepts. Bodies are strict (an unknown key is a typo, reported by
 * name); the registry still checks meaning (roles, tenants, uniqueness).
 */
import { z } from 'zod';
import { topicFilterProblem } from '../broker/topics.js';
import { ID_PATTERN } from '../registry/model.js';
import { LIMITS } from '../registry/validate.js';

export const recordId = z.string().regex(ID_PATTERN, {
  message: 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit',
});

const name = z
  .string()
  .max(LIMITS.nameLength)
  .refine((s) => s.trim().length > 0, { message: 'must not be blank' });
const count = z.number().int().min(0);

/** Path parameters: any id; one that does not exist, or belongs to another tenant, is a 404 from the registry. */
export const IdParams = z.object({ id: z.string().min(1).max(200) });

export const AclRuleInput = z.strictObject({
  action: z.enum(['publish', 'subscribe', 'all']),
  topic: z.string().refine((pattern) => topicFilterProblem(pattern) === undefined, {
    message: 'must be a topic filter (`+` and `#` only as whole levels, `#` last)',
  }),
  permission: z.enum(['allow', 'deny']).optional(),
});

const aclRules = z.array(AclRuleInput).max(LIMITS.aclRules);

export const AclInput = z.strictObject({ rules: aclRules });

/** A TOTP code as people type it: six digits, spaces allowed; anything else is simply a wrong code. */
const totpCode = z.string().max(16);

export const LoginInput = z.strictObject({
  username: z.string().min(1).max(200),
  password: z.string().min(1).max(1024),
  totp: totpCode
    .optional()
    .describe('the current code of the second factor, for users who turned it on (see TOTP_REQUIRED)'),
});

export const TotpCodeInput = z.strictObject({ code: totpCode.describe('the current 6-digit code') });

export const ApiTokenInput = z.strictObject({
  name,
  expiresInDays: z.number().int().min(1).max(LIMITS.apiTokenDaysMax).optional(),
});

const retentionDays = z.number().int().min(0).max(LIMITS.retentionDaysMax);
const keyRetentionDays = z
  .record(z.string().min(1).max(LIMITS.retentionKeyLength), retentionDays)
  .refine((r) => Object.keys(r).length <= LIMITS.retentionKeys, {
    message: `must have at most ${LIMITS.retentionKeys} keys`,
  });

export const NewTenantInput = z.strictObject({
  id: recordId.optional(),
  name,
  maxConnections: count.optional().describe('0 = the platform default'),
  retentionDays: retentionDays.optional().describe('days of telemetry to keep; 0 (default) = forever'),
  keyRetentionDays: keyRetentionDays.optional().describe('per-key overrides of retentionDays: { key: days }'),
});

export const TenantPatchInput = z.strictObject({
  name: name.optional(),
  maxConnections: count.optional(),
  retentionDays: retentionDays.optional().describe('days of telemetry to keep; 0 = forever'),
  keyRetentionDays: keyRetentionDays
    .optional()
    .describe('per-key overrides of retentionDays, replacing the previous ones whole'),
});

export const TenantCaInput = z.strictObject({
  certPem: z.string().min(1).max(65_536).describe('PEM of the CA certificate'),
});

const role = z.enum(['admin', 'operator', 'viewer']);

const newPassword = z.string().min(LIMITS.passwordMin).max(LIMITS.passwordMax);

export const NewUserInput = z.strictObject({
  username: z.string().min(1).max(200),
  password: newPassword,
  role,
  tenantId: recordId.nullable().optional().describe("defaults to the caller's tenant; null = platform admin"),
});

export const UserPatchInput = z.strictObject({ role: role.optional(), active: z.boolean().optional() });

export const PasswordInput = z.strictObject({
  password: newPassword,
  currentPassword: z
    .string()
    .max(LIMITS.passwordMax)
    .optional()
    .describe('required to change your own password'),
});

export const TenantFilter = z.object({ tenantId: recordId.optional() });

const limitsInput = z.strictObject({
  maxConnections: count.optional(),
  publishMessagesPerSecond: count.optional(),
  publishBytesPerSecond: count.optional(),
});

export const NewProfileInput = z.strictObject({
  id: recordId.optional(),
  tenantId: recordId.optional(),
  name,
  description: z.string().max(LIMITS.descriptionLength).optional(),
  acl: aclRules.optional(),
  limits: limitsInput.optional(),
});

export const ProfilePatchInput = z.strictObject({
  name: name.optional(),
  description: z.string().max(LIMITS.descriptionLength).optional(),
  acl: aclRules.optional(),
  limits: limitsInput.optional(),
});

const deviceFields = {
  name: z.string().max(LIMITS.nameLength).optional(),
  profileId: recordId.nullable().optional(),
  type: z.string().max(100).optional(),
  serial: z.string().max(200).nullable().optional(),
  tags: z.array(z.string().min(1).max(LIMITS.tagLength)).max(LIMITS.tags).optional(),
  labels: z
    .record(z.string().min(1).max(LIMITS.labelKeyLength), z.string().max(LIMITS.labelValueLength))
    .optional(),
  acl: aclRules.optional(),
};

export const NewDeviceInput = z.strictObject({
  id: recordId.optional(),
  tenantId: recordId.optional().describe("defaults to the caller's tenant; required for platform admins"),
  ...deviceFields,
});

export const DevicePatchInput = z.strictObject(deviceFields);

const boolString = z.enum(['true', 'false']).transform((v) => v === 'true');
const queryInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const DeviceListQuery = z.object({
  tenantId: recordId.optional(),
  profileId: recordId.optional(),
  active: boolString.optional(),
  type: z.string().max(100).optional(),
  tag: z.string().max(100).optional(),
  search: z.string().max(200).optional().describe('case-insensitive substring of id, name or serial'),
  limit: queryInt(1, 1000).optional().describe('default 100'),
  offset: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
});

export const CredentialInput = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('token') }),
  z.strictObject({
    kind: z.literal('password'),
    username: z
      .string()
      .min(1)
      .max(LIMITS.mqttUsernameLength)
      .describe('MQTT username, unique across the platform'),
    password: newPassword.optional().describe('generated when omitted'),
  }),
  z
    .strictObject({
      kind: z.literal('certificate'),
      days: z
        .number()
        .int()
        .min(1)
        .max(LIMITS.certificateDaysMax)
        .optional()
        .describe('issue from the platform CA for this long'),
      certPem: z.string().min(1).max(65_536).optional().describe('register a certificate issued elsewhere'),
    })
    .refine((c) => c.days === undefined || c.certPem === undefined, {
      message: 'give either days (issue a certificate) or certPem (register one), not both',
      path: ['certPem'],
    }),
  z.strictObject({ kind: z.literal('hmac') }),
]);

export const CredentialParams = z.object({
  id: z.string().min(1).max(200),
  credentialId: z.string().min(1).max(200),
});

export const CaParams = z.object({ id: z.string().min(1).max(200), caId: z.string().min(1).max(200) });

export const AuditQueryInput = z.object({
  tenantId: recordId.optional(),
  actor: z.string().max(200).optional(),
  action: z.string().max(200).optional().describe('exact action, or a prefix ending in "." (credential.)'),
  target: z.string().max(300).optional(),
  outcome: z.enum(['success', 'failure']).optional(),
  since: queryInt(0, Number.MAX_SAFE_INTEGER).optional().describe('ms since the epoch, inclusive'),
  until: queryInt(0, Number.MAX_SAFE_INTEGER).optional().describe('ms since the epoch, exclusive'),
  beforeId: queryInt(1, Number.MAX_SAFE_INTEGER).optional().describe('entries older than this id (paging)'),
  limit: queryInt(1, 1000).optional().describe('default 100, newest first'),
});
