/**
 * Where tenants, devices and people live in the broker's topic and session
 * space (docs/security.md, "Tenant isolation").
 *
 * - A tenant's clients see topics relative to the mount point `$t/<tenant>/`.
 *   Because it starts with `$`, no wildcard subscription outside the tenant
 *   reaches it (MQTT §4.7.2), and no tenant client can name a `$` topic at all
 *   (the broker refuses them), so a tenant can neither escape its mount point
 *   nor be reached from another one. A platform admin reaches a tenant only by
 *   naming `$t/<tenant>/…` explicitly.
 * - Session keys of registry identities start with U+FFFD, a character the
 *   broker refuses in client ids, so no plain client id can collide with them.
 */

export const TENANT_TOPIC_ROOT = '$t/';

export function tenantMountPoint(tenantId: string): string {
  return `${TENANT_TOPIC_ROOT}${tenantId}/`;
}

const SCOPE_MARK = '\uFFFD';

export function deviceSessionScope(deviceId: string): string {
  return `${SCOPE_MARK}device:${deviceId}/`;
}

export function userSessionScope(userId: string): string {
  return `${SCOPE_MARK}user:${userId}/`;
}

/** Topics under this root (inside a tenant) are the platform's; clients may read but never publish them. */
export const PLATFORM_TOPIC_ROOT = 'halyard/';

/** Retained JSON status of a device, as its tenant sees it: {"status":"online"|"offline",…}. */
export function deviceStatusTopic(deviceId: string): string {
  return `${PLATFORM_TOPIC_ROOT}devices/${deviceId}/status`;
}
