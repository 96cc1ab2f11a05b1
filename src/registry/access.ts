/**
 * Role and tenant checks as the registry applies them: loading a record on
 * behalf of an actor (another tenant's record is NOT_FOUND, exactly like a
 * missing one), refusing forbidden actions (NOT_AUTHORIZED, audited), and
 * writing an actor's audit entries. The rules themselves are in permissions.ts.
 */
import { HalyardError } from '../core/errors.js';
import type { AuditEntry, Credential, Device, DeviceProfile, Tenant, User } from './model.js';
import { decide, type Permission } from './permissions.js';
import type { Actor, RegistryEvents } from './service.js';
import type { RegistryStore } from './store.js';
import { invalid } from './validate.js';

/** Emits a registry event; see Registry for how listener failures are contained. */
export type Fire = <E extends keyof RegistryEvents>(event: E, ...args: RegistryEvents[E]) => void;

/** What the parts of the registry (tenants.ts, users.ts, devices.ts) share. */
export interface RegistryContext {
  store: RegistryStore;
  now: () => number;
  access: Access;
  fire: Fire;
}

type Kind = 'tenant' | 'user' | 'profile' | 'device' | 'credential' | 'tenant CA' | 'API token';

/** The same answer for a missing record and another tenant's: ids of other tenants cannot be probed. */
export function notFound(kind: Kind, id: unknown, field?: string): HalyardError {
  return new HalyardError('NOT_FOUND', `${kind} ${String(id)} not found`, {
    kind,
    id,
    ...(field ? { field } : {}),
  });
}

export class Access {
  constructor(
    private readonly store: RegistryStore,
    /** The registry's one audit writer, which stamps the time and emits 'audit.appended'. */
    private readonly audit: (entry: Omit<AuditEntry, 'id' | 'at'>) => Promise<void>,
  ) {}

  async record(
    actor: Actor,
    action: string,
    target: string | null,
    tenantId: string | null,
    details: Record<string, unknown> = {},
    outcome: 'success' | 'failure' = 'success',
  ): Promise<void> {
    await this.audit({
      tenantId,
      actorType: actor.type,
      actor: actor.name,
      action,
      target,
      address: actor.address ?? null,
      outcome,
      details,
    });
  }
  /** Throws NOT_FOUND for another tenant's record and, audited, NOT_AUTHORIZED for a forbidden action. */
  async allow(
    actor: Actor,
    permission: Permission,
    scope: string | null | undefined,
    action: string,
    target: string | null,
  ): Promise<void> {
    const decision = decide(actor, permission, scope);
    if (decision === 'allowed') return;
    if (decision === 'not-found') {
      const [kind, id] = target?.split(/:(.*)/) ?? ['record', ''];
      throw new HalyardError('NOT_FOUND', `${kind} ${id} not found`, { kind, id });
    }
    await this.refuse(actor, action, target, scope ?? actor.tenantId, `needs ${permission}`);
  }
  async refuse(
    actor: Actor,
    action: string,
    target: string | null,
    tenantId: string | null,
    reason: string,
  ): Promise<never> {
    await this.record(
      actor,
      action,
      target,
      tenantId,
      { reason: 'not-authorized', detail: reason },
      'failure',
    );
    throw new HalyardError('NOT_AUTHORIZED', `${actor.role} ${actor.name} may not do ${action} (${reason})`, {
      action,
    });
  }
  /** The person acting (an API token acts for its owner); the system actor is nobody, and is refused. */
  async actingUser(actor: Actor, action: string, what: string): Promise<User> {
    const user = actor.type === 'system' ? undefined : await this.store.getUser(actor.id);
    return user ?? this.refuse(actor, action, null, actor.tenantId, `${what} belong to people`);
  }
  async loadTenant(actor: Actor, id: string, permission: Permission, action: string): Promise<Tenant> {
    const tenant = typeof id === 'string' ? await this.store.getTenant(id) : undefined;
    // Checked before the lookup result too: a tenant actor learns nothing about other tenants' ids.
    if (!tenant || decide(actor, permission, tenant.id) === 'not-found') throw notFound('tenant', id);
    await this.allow(actor, permission, tenant.id, action, `tenant:${id}`);
    return tenant;
  }
  async loadUser(actor: Actor, id: string, permission: Permission, action: string): Promise<User> {
    const user = typeof id === 'string' ? await this.store.getUser(id) : undefined;
    if (!user || decide(actor, permission, user.tenantId) === 'not-found') throw notFound('user', id);
    await this.allow(actor, permission, user.tenantId, action, `user:${user.username}`);
    return user;
  }
  async loadProfile(
    actor: Actor,
    id: string,
    permission: Permission,
    action: string,
  ): Promise<DeviceProfile> {
    const profile = typeof id === 'string' ? await this.store.getProfile(id) : undefined;
    if (!profile || decide(actor, permission, profile.tenantId) === 'not-found')
      throw notFound('profile', id);
    await this.allow(actor, permission, profile.tenantId, action, `profile:${id}`);
    return profile;
  }
  async loadDevice(actor: Actor, id: string, permission: Permission, action: string): Promise<Device> {
    const device = typeof id === 'string' ? await this.store.getDevice(id) : undefined;
    if (!device || decide(actor, permission, device.tenantId) === 'not-found') throw notFound('device', id);
    await this.allow(actor, permission, device.tenantId, action, `device:${id}`);
    return device;
  }
  async loadCredential(actor: Actor, id: string, action: string): Promise<Credential> {
    const credential = typeof id === 'string' ? await this.store.getCredential(id) : undefined;
    if (!credential || decide(actor, 'credential.manage', credential.tenantId) === 'not-found') {
      throw notFound('credential', id);
    }
    await this.allow(
      actor,
      'credential.manage',
      credential.tenantId,
      action,
      `device:${credential.deviceId}`,
    );
    return credential;
  }
  /**
   * The tenant a new record goes to: the actor's own by default; a platform actor
   * must name one. Another tenant's id is answered like a missing one.
   */
  async targetTenant(actor: Actor, requested: string | null | undefined): Promise<string> {
    const id = requested ?? actor.tenantId;
    if (id === null) throw invalid('tenantId', 'is required for platform-level users');
    if (typeof id !== 'string' || (actor.tenantId !== null && id !== actor.tenantId)) {
      throw notFound('tenant', id, 'tenantId');
    }
    if (!(await this.store.getTenant(id))) throw notFound('tenant', id, 'tenantId');
    return id;
  }
  /** A list's tenant: undefined = all (platform actors), false = another tenant's (an empty answer). */
  async listScope(
    actor: Actor,
    permission: Permission,
    action: string,
    requested: string | undefined,
  ): Promise<string | undefined | false> {
    if (actor.tenantId === null) {
      await this.allow(actor, permission, undefined, action, null);
      return requested;
    }
    await this.allow(actor, permission, actor.tenantId, action, null);
    return requested === undefined || requested === actor.tenantId ? actor.tenantId : false;
  }
  async checkProfileRef(tenantId: string, profileId: string | null): Promise<string | null> {
    if (profileId === null) return null;
    const profile = typeof profileId === 'string' ? await this.store.getProfile(profileId) : undefined;
    // Another tenant's profile looks exactly like a missing one.
    if (!profile || profile.tenantId !== tenantId) throw notFound('profile', profileId, 'profileId');
    return profileId;
  }
}
