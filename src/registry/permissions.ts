/**
 * Who may do what: role × tenant, as pure functions.
 *
 * The model in one sentence: operators act on devices, admins manage people and
 * structure, viewers look.
 *
 * - Platform admin (role admin, no tenant): everything, in every tenant, and the
 *   platform-level actions (tenants, their connection limits, platform admins).
 * - Tenant admin: everything inside the own tenant — users, profiles, devices,
 *   credentials, tenant CAs, audit — and renaming the own tenant. Not: creating
 *   or deleting tenants, changing a tenant's connection limit (a platform quota),
 *   creating or touching platform admins.
 * - Operator: reads everything in the own tenant; creates, updates, activates and
 *   deactivates devices, edits device ACLs, issues, rotates and revokes device
 *   credentials. Not: deleting devices (it destroys their credentials and history
 *   links), users, profiles (a profile ACL governs many devices at once), tenant CAs
 *   (trust anchors).
 * - Viewer: reads everything in the own tenant.
 * - Everybody: their own password and their own API tokens (checked in the registry,
 *   not here, since they concern the actor's own record rather than a tenant's).
 *
 * Tenant scoping: a record of another tenant is reported as NOT_FOUND, exactly like
 * a missing one, so ids of other tenants cannot be probed; a forbidden action on an
 * own-tenant record is NOT_AUTHORIZED.
 */
import type { Role } from './model.js';

export type Permission =
  | 'tenant.read'
  | 'tenant.update'
  | 'tenant.limits'
  | 'tenant.manage' // create and delete tenants
  | 'user.read'
  | 'user.manage'
  | 'profile.read'
  | 'profile.manage'
  | 'device.read'
  | 'device.write'
  | 'device.delete'
  | 'acl.write'
  | 'credential.read'
  | 'credential.manage'
  | 'ca.read'
  | 'ca.manage'
  | 'audit.read';

const READ: readonly Permission[] = [
  'tenant.read',
  'user.read',
  'profile.read',
  'device.read',
  'credential.read',
  'ca.read',
  'audit.read',
];
const OPERATE: readonly Permission[] = [...READ, 'device.write', 'acl.write', 'credential.manage'];
const ADMINISTER: readonly Permission[] = [
  ...OPERATE,
  'device.delete',
  'user.manage',
  'profile.manage',
  'ca.manage',
  'tenant.update',
];
/** Only a platform admin: actions above any single tenant. */
const PLATFORM_ONLY: ReadonlySet<Permission> = new Set(['tenant.manage', 'tenant.limits']);

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(READ),
  operator: new Set(OPERATE),
  admin: new Set(ADMINISTER),
};

export interface Principal {
  role: Role;
  /** null = platform level. */
  tenantId: string | null;
}

/** 'allowed', or how to refuse: 'not-found' (another tenant's record) or 'forbidden'. */
export type Decision = 'allowed' | 'not-found' | 'forbidden';

export function isPlatformAdmin(p: Principal): boolean {
  return p.tenantId === null && p.role === 'admin';
}

/**
 * May `principal` do `permission` on a record of tenant `recordTenantId`?
 * `null` = a platform-level record (a platform admin); `undefined` = no record
 * (creating a tenant, listing across tenants).
 */
export function decide(
  principal: Principal,
  permission: Permission,
  recordTenantId?: string | null,
): Decision {
  if (principal.tenantId !== null && recordTenantId !== undefined && recordTenantId !== principal.tenantId) {
    return 'not-found';
  }
  if (isPlatformAdmin(principal)) return 'allowed';
  if (PLATFORM_ONLY.has(permission)) return 'forbidden';
  return GRANTS[principal.role].has(permission) ? 'allowed' : 'forbidden';
}

/** The permissions of a role inside its own tenant, for documentation and the API's "what can I do". */
export function permissionsOf(role: Role): Permission[] {
  return [...GRANTS[role]];
}
