/**
 * The registry service: every management call checks role and tenant
 * (permissions.ts), validates (validate.ts), writes through the store, appends
 * the audit entry and emits the event — in that order, so no caller can forget
 * one of them. Logins live in logins.ts, sessions in sessions.ts.
 *
 * Audit actions written here: tenant.create|update|delete, user.create|update|delete,
 * user.password.set|reset, profile.create|update|delete, device.create|update|delete|
 * activate|deactivate, acl.change, credential.issue|rotate|revoke, tenant-ca.add|remove,
 * api-token.create|revoke, logout; logins.ts adds login.success|failure|locked.
 * A refused action (NOT_AUTHORIZED) is audited too, with outcome 'failure'.
 */
import { EventEmitter } from 'node:events';
import { HalyardError, isHalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { hashPassword } from '../devices/password.js';
import type { CertificateAuthority } from '../transport/pki.js';
import { isValidAt, parseCertificate } from './certificates.js';
import { makeCredential, rotationRequest } from './credentials.js';
import { randomId, slugify } from './ids.js';
import { LoginGate } from './logins.js';
import type {
  ApiToken,
  AuditEntry,
  Credential,
  Device,
  DeviceLimits,
  DeviceProfile,
  Page,
  Role,
  Tenant,
  TenantCa,
  User,
} from './model.js';
import { decide, isPlatformAdmin, type Permission } from './permissions.js';
import { generatePassword, generateToken, hashToken, SECRET_KEY_BYTES } from './secrets.js';
import type {
  Actor,
  ApiTokenRequest,
  CredentialRequest,
  DeviceLogin,
  DeviceProof,
  DeviceUpdate,
  IssuedCredential,
  LoginContext,
  NewDevice,
  NewProfile,
  NewTenant,
  NewUser,
  RegistryEvents,
  RegistryService,
  UserLogin,
} from './service.js';
import { SYSTEM_ACTOR } from './service.js';
import { SessionKeeper } from './sessions.js';
import type { AuditQuery, DevicePatch, DeviceQuery, ProfilePatch, RegistryStore } from './store.js';
import {
  checkAcl,
  checkId,
  checkInt,
  checkLabels,
  checkLimits,
  checkName,
  checkPassword,
  checkRole,
  checkTags,
  checkText,
  checkUsername,
  invalid,
  LIMITS,
} from './validate.js';

export interface RegistryOptions {
  store: RegistryStore;
  logger: Logger;
  /** 32 bytes, seals HMAC secrets. */
  secretKey: Buffer;
  /** The platform CA: issues device client certificates. */
  ca: CertificateAuthority;
  lockout: { maxFailures: number; windowMs: number; lockMs: number };
  sessionTtlMs: number;
  now?: () => number;
}

const NO_LIMITS: DeviceLimits = { maxConnections: 0, publishMessagesPerSecond: 0, publishBytesPerSecond: 0 };
const DAY_MS = 86_400_000;

type Kind = 'tenant' | 'user' | 'profile' | 'device' | 'credential' | 'tenant CA' | 'API token';

/** The same answer for a missing record and another tenant's: ids of other tenants cannot be probed. */
function notFound(kind: Kind, id: unknown, field?: string): HalyardError {
  return new HalyardError('NOT_FOUND', `${kind} ${String(id)} not found`, {
    kind,
    id,
    ...(field ? { field } : {}),
  });
}

export class Registry extends EventEmitter<RegistryEvents> implements RegistryService {
  private readonly store: RegistryStore;
  private readonly logger: Logger;
  private readonly secretKey: Buffer;
  private readonly ca: CertificateAuthority;
  private readonly now: () => number;
  private readonly gate: LoginGate;
  private readonly sessions: SessionKeeper;

  constructor(opts: RegistryOptions) {
    super();
    if (opts.secretKey.length !== SECRET_KEY_BYTES) {
      throw new Error(`the registry secret key must be ${SECRET_KEY_BYTES} bytes`);
    }
    this.store = opts.store;
    this.logger = opts.logger;
    this.secretKey = opts.secretKey;
    this.ca = opts.ca;
    this.now = opts.now ?? Date.now;
    this.gate = new LoginGate({
      store: opts.store,
      logger: opts.logger,
      secretKey: opts.secretKey,
      lockout: opts.lockout,
      now: this.now,
      audit: (entry) => this.audit(entry),
    });
    this.sessions = new SessionKeeper(opts.store, opts.logger, opts.sessionTtlMs, this.now);
  }

  // ---- tenants -------------------------------------------------------------------------------

  async createTenant(actor: Actor, input: NewTenant): Promise<Tenant> {
    await this.allow(actor, 'tenant.manage', undefined, 'tenant.create', null);
    const name = checkName('name', input.name);
    const maxConnections = checkInt('maxConnections', input.maxConnections ?? 0, 0, 10_000_000);
    const id = input.id !== undefined ? checkId('id', input.id) : await this.freeTenantId(name);
    const tenant: Tenant = { id, name, maxConnections, createdAt: this.now() };
    await this.store.createTenant(tenant);
    await this.record(actor, 'tenant.create', `tenant:${id}`, id, { name, maxConnections });
    return tenant;
  }

  async listTenants(actor: Actor): Promise<Tenant[]> {
    if (actor.tenantId === null) {
      await this.allow(actor, 'tenant.read', undefined, 'tenant.list', null);
      return this.store.listTenants();
    }
    await this.allow(actor, 'tenant.read', actor.tenantId, 'tenant.list', null);
    const own = await this.store.getTenant(actor.tenantId);
    return own ? [own] : [];
  }

  getTenant(actor: Actor, id: string): Promise<Tenant> {
    return this.loadTenant(actor, id, 'tenant.read', 'tenant.read');
  }

  async updateTenant(actor: Actor, id: string, patch: Partial<Omit<NewTenant, 'id'>>): Promise<Tenant> {
    await this.loadTenant(actor, id, 'tenant.read', 'tenant.update');
    const changes: { name?: string; maxConnections?: number } = {};
    if (patch.name !== undefined) {
      await this.allow(actor, 'tenant.update', id, 'tenant.update', `tenant:${id}`);
      changes.name = checkName('name', patch.name);
    }
    if (patch.maxConnections !== undefined) {
      await this.allow(actor, 'tenant.limits', id, 'tenant.update', `tenant:${id}`);
      changes.maxConnections = checkInt('maxConnections', patch.maxConnections, 0, 10_000_000);
    }
    const updated = await this.store.updateTenant(id, changes);
    if (!updated) throw notFound('tenant', id);
    await this.record(actor, 'tenant.update', `tenant:${id}`, id, {
      fields: Object.keys(changes),
      ...changes,
    });
    return updated;
  }

  async deleteTenant(actor: Actor, id: string): Promise<void> {
    await this.loadTenant(actor, id, 'tenant.manage', 'tenant.delete');
    // Checked up front, so a refused delete leaves the tenant's profiles and CAs in place.
    if (
      (await this.store.countDevices(id)) > 0 ||
      (await this.store.listUsers({ tenantId: id })).length > 0
    ) {
      throw new HalyardError('CONFLICT', `tenant ${id} still has devices or users`, { id });
    }
    const cas = await this.store.listTenantCas(id);
    for (const ca of cas) await this.store.removeTenantCa(ca.id);
    for (const profile of await this.store.listProfiles(id)) await this.store.deleteProfile(profile.id);
    if (!(await this.store.deleteTenant(id))) throw notFound('tenant', id);
    await this.record(actor, 'tenant.delete', `tenant:${id}`, id);
    if (cas.length > 0) this.fire('tenant.ca.changed', id);
  }

  // ---- users ---------------------------------------------------------------------------------

  async createUser(actor: Actor, input: NewUser): Promise<User> {
    let tenantId: string | null;
    if (input.tenantId === null) {
      if (!isPlatformAdmin(actor)) {
        await this.refuse(
          actor,
          'user.create',
          null,
          actor.tenantId,
          'only platform admins create platform admins',
        );
      }
      tenantId = null;
    } else {
      tenantId = await this.targetTenant(actor, input.tenantId);
      await this.allow(actor, 'user.manage', tenantId, 'user.create', null);
    }
    const username = checkUsername('username', input.username);
    const role = checkRole('role', input.role);
    if (tenantId === null && role !== 'admin')
      throw invalid('role', 'users without a tenant are platform admins');
    const password = checkPassword('password', input.password);
    const now = this.now();
    const user: User = {
      id: randomId('u-'),
      username,
      tenantId,
      role,
      passwordHash: await hashPassword(password),
      active: true,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.createUser(user);
    await this.record(actor, 'user.create', `user:${username}`, tenantId, { userId: user.id, role });
    return user;
  }

  async listUsers(actor: Actor, filter: { tenantId?: string } = {}): Promise<User[]> {
    const tenantId = await this.listScope(actor, 'user.read', 'user.list', filter.tenantId);
    if (tenantId === false) return [];
    return this.store.listUsers(tenantId === undefined ? undefined : { tenantId });
  }

  getUser(actor: Actor, id: string): Promise<User> {
    return this.loadUser(actor, id, 'user.read', 'user.read');
  }

  async updateUser(actor: Actor, id: string, patch: { role?: Role; active?: boolean }): Promise<User> {
    const user = await this.loadUser(actor, id, 'user.manage', 'user.update');
    const changes: { role?: Role; active?: boolean } = {};
    if (patch.role !== undefined && patch.role !== user.role) changes.role = checkRole('role', patch.role);
    if (patch.active !== undefined && patch.active !== user.active) {
      if (typeof patch.active !== 'boolean') throw invalid('active', 'must be true or false');
      changes.active = patch.active;
    }
    if (Object.keys(changes).length === 0) return user;
    if (user.tenantId === null && changes.role !== undefined) {
      throw invalid('role', 'users without a tenant are platform admins');
    }
    if (actor.id === user.id) {
      await this.refuse(actor, 'user.update', `user:${user.username}`, user.tenantId, 'own role or state');
    }
    if (changes.active === false) await this.keepOnePlatformAdmin(user);
    const updated = await this.store.updateUser(id, { ...changes, updatedAt: this.now() });
    if (!updated) throw notFound('user', id);
    if (changes.active === false) await this.store.deleteUserSessions(id);
    await this.record(actor, 'user.update', `user:${user.username}`, user.tenantId, {
      fields: Object.keys(changes),
      ...changes,
    });
    this.fire('user.changed', updated);
    return updated;
  }

  async setPassword(actor: Actor, userId: string, password: string, currentPassword?: string): Promise<void> {
    const self = actor.type !== 'system' && actor.id === userId;
    const user = self
      ? await this.store.getUser(userId)
      : await this.loadUser(actor, userId, 'user.manage', 'user.password.set');
    if (!user) throw notFound('user', userId);
    const newPassword = checkPassword('password', password);
    if (self) {
      if (typeof currentPassword !== 'string')
        throw invalid('currentPassword', 'is required to change your own password');
      await this.gate.confirmPassword(user, currentPassword, actor.address ?? 'unknown');
    }
    await this.store.updateUser(userId, {
      passwordHash: await hashPassword(newPassword),
      updatedAt: this.now(),
    });
    // Whoever knew the old password may hold a session: all of them end (the caller logs in anew).
    await this.store.deleteUserSessions(userId);
    await this.record(actor, 'user.password.set', `user:${user.username}`, user.tenantId, { self });
    const updated = await this.store.getUser(userId);
    if (updated) this.fire('user.changed', updated);
  }

  async deleteUser(actor: Actor, id: string): Promise<void> {
    const user = await this.loadUser(actor, id, 'user.manage', 'user.delete');
    if (actor.id === user.id) {
      await this.refuse(actor, 'user.delete', `user:${user.username}`, user.tenantId, 'own account');
    }
    await this.keepOnePlatformAdmin(user);
    if (!(await this.store.deleteUser(id))) throw notFound('user', id);
    await this.record(actor, 'user.delete', `user:${user.username}`, user.tenantId, { userId: id });
    this.fire('user.deleted', user);
  }

  // ---- profiles ------------------------------------------------------------------------------

  async createProfile(actor: Actor, input: NewProfile): Promise<DeviceProfile> {
    const tenantId = await this.targetTenant(actor, input.tenantId);
    await this.allow(actor, 'profile.manage', tenantId, 'profile.create', null);
    const now = this.now();
    const profile: DeviceProfile = {
      id: input.id !== undefined ? checkId('id', input.id) : randomId('p-'),
      tenantId,
      name: checkName('name', input.name),
      description: checkText('description', input.description ?? '', LIMITS.descriptionLength),
      acl: checkAcl('acl', input.acl ?? []),
      limits: checkLimits('limits', input.limits ?? {}, NO_LIMITS),
      createdAt: now,
      updatedAt: now,
    };
    await this.store.createProfile(profile);
    await this.record(actor, 'profile.create', `profile:${profile.id}`, tenantId, {
      name: profile.name,
      aclRules: profile.acl.length,
    });
    return profile;
  }

  async listProfiles(actor: Actor, filter: { tenantId?: string } = {}): Promise<DeviceProfile[]> {
    const tenantId = await this.listScope(actor, 'profile.read', 'profile.list', filter.tenantId);
    return tenantId === false ? [] : this.store.listProfiles(tenantId);
  }

  getProfile(actor: Actor, id: string): Promise<DeviceProfile> {
    return this.loadProfile(actor, id, 'profile.read', 'profile.read');
  }

  async updateProfile(
    actor: Actor,
    id: string,
    patch: Partial<Omit<NewProfile, 'id' | 'tenantId'>>,
  ): Promise<DeviceProfile> {
    const profile = await this.loadProfile(actor, id, 'profile.manage', 'profile.update');
    const changes: ProfilePatch = {};
    if (patch.name !== undefined) changes.name = checkName('name', patch.name);
    if (patch.description !== undefined) {
      changes.description = checkText('description', patch.description, LIMITS.descriptionLength);
    }
    if (patch.limits !== undefined) changes.limits = checkLimits('limits', patch.limits, profile.limits);
    if (patch.acl !== undefined) changes.acl = checkAcl('acl', patch.acl);
    if (Object.keys(changes).length === 0) return profile;
    const updated = await this.store.updateProfile(id, { ...changes, updatedAt: this.now() });
    if (!updated) throw notFound('profile', id);
    const { acl, ...rest } = changes;
    const target = `profile:${id}`;
    if (Object.keys(rest).length > 0) {
      await this.record(actor, 'profile.update', target, profile.tenantId, {
        fields: Object.keys(rest),
        ...rest,
      });
    }
    if (acl) {
      await this.record(actor, 'acl.change', target, profile.tenantId, { profileId: id, acl });
      this.fire('acl.changed', { profileId: id });
    }
    return updated;
  }

  async deleteProfile(actor: Actor, id: string): Promise<void> {
    const profile = await this.loadProfile(actor, id, 'profile.manage', 'profile.delete');
    if (!(await this.store.deleteProfile(id))) throw notFound('profile', id);
    await this.record(actor, 'profile.delete', `profile:${id}`, profile.tenantId, { name: profile.name });
  }

  // ---- devices -------------------------------------------------------------------------------

  async createDevice(actor: Actor, input: NewDevice): Promise<Device> {
    const tenantId = await this.targetTenant(actor, input.tenantId);
    await this.allow(actor, 'device.write', tenantId, 'device.create', null);
    if (input.acl !== undefined && input.acl.length > 0) {
      await this.allow(actor, 'acl.write', tenantId, 'device.create', null);
    }
    const id = input.id !== undefined ? checkId('id', input.id) : randomId('d-');
    const profileId = await this.checkProfileRef(tenantId, input.profileId ?? null);
    const now = this.now();
    const device: Device = {
      id,
      tenantId,
      name: input.name !== undefined ? checkName('name', input.name) : id,
      profileId,
      type: checkText('type', input.type ?? '', LIMITS.nameLength),
      serial: input.serial == null ? null : checkText('serial', input.serial, LIMITS.nameLength),
      tags: checkTags('tags', input.tags ?? []),
      labels: checkLabels('labels', input.labels ?? {}),
      acl: checkAcl('acl', input.acl ?? []),
      active: true,
      createdAt: now,
      updatedAt: now,
      lastSeen: null,
    };
    await this.store.createDevice(device);
    await this.record(actor, 'device.create', `device:${id}`, tenantId, {
      name: device.name,
      profileId,
      type: device.type,
      aclRules: device.acl.length,
    });
    this.fire('device.created', device);
    return device;
  }

  async listDevices(actor: Actor, query: DeviceQuery): Promise<Page<Device>> {
    const tenantId = await this.listScope(actor, 'device.read', 'device.list', query.tenantId);
    if (tenantId === false) return { items: [], total: 0 };
    if (query.limit !== undefined) checkInt('limit', query.limit, 1, 1000);
    if (query.offset !== undefined) checkInt('offset', query.offset, 0, Number.MAX_SAFE_INTEGER);
    return this.store.listDevices({ ...query, tenantId });
  }

  getDevice(actor: Actor, id: string): Promise<Device> {
    return this.loadDevice(actor, id, 'device.read', 'device.read');
  }

  async updateDevice(actor: Actor, id: string, patch: DeviceUpdate): Promise<Device> {
    const device = await this.loadDevice(actor, id, 'device.read', 'device.update');
    const target = `device:${id}`;
    const { acl: aclInput, ...fields } = patch;
    const hasFields = Object.values(fields).some((v) => v !== undefined);
    if (hasFields) await this.allow(actor, 'device.write', device.tenantId, 'device.update', target);
    if (aclInput !== undefined) await this.allow(actor, 'acl.write', device.tenantId, 'acl.change', target);

    const changes: DevicePatch = {};
    if (fields.name !== undefined) changes.name = checkName('name', fields.name);
    if (fields.type !== undefined) changes.type = checkText('type', fields.type, LIMITS.nameLength);
    if (fields.serial !== undefined) {
      changes.serial = fields.serial === null ? null : checkText('serial', fields.serial, LIMITS.nameLength);
    }
    if (fields.tags !== undefined) changes.tags = checkTags('tags', fields.tags);
    if (fields.labels !== undefined) changes.labels = checkLabels('labels', fields.labels);
    if (fields.profileId !== undefined)
      changes.profileId = await this.checkProfileRef(device.tenantId, fields.profileId);
    const acl = aclInput !== undefined ? checkAcl('acl', aclInput) : undefined;
    if (acl) changes.acl = acl;
    if (Object.keys(changes).length === 0) return device;

    const updated = await this.store.updateDevice(id, { ...changes, updatedAt: this.now() });
    if (!updated) throw notFound('device', id);
    const { acl: _acl, ...rest } = changes;
    if (Object.keys(rest).length > 0) {
      await this.record(actor, 'device.update', target, device.tenantId, {
        fields: Object.keys(rest),
        ...rest,
      });
    }
    if (acl) await this.record(actor, 'acl.change', target, device.tenantId, { deviceId: id, acl });
    this.fire('device.updated', updated);
    // A new profile brings its ACL along when the device has none of its own.
    if (acl || (changes.profileId !== undefined && changes.profileId !== device.profileId)) {
      this.fire('acl.changed', { deviceId: id });
    }
    return updated;
  }

  async setDeviceActive(actor: Actor, id: string, active: boolean): Promise<Device> {
    const action = active ? 'device.activate' : 'device.deactivate';
    const device = await this.loadDevice(actor, id, 'device.write', action);
    if (typeof active !== 'boolean') throw invalid('active', 'must be true or false');
    if (device.active === active) return device;
    const updated = await this.store.updateDevice(id, { active, updatedAt: this.now() });
    if (!updated) throw notFound('device', id);
    await this.record(actor, action, `device:${id}`, device.tenantId);
    this.fire(active ? 'device.activated' : 'device.deactivated', updated);
    return updated;
  }

  async deleteDevice(actor: Actor, id: string): Promise<void> {
    const device = await this.loadDevice(actor, id, 'device.delete', 'device.delete');
    if (!(await this.store.deleteDevice(id))) throw notFound('device', id);
    await this.record(actor, 'device.delete', `device:${id}`, device.tenantId, { name: device.name });
    this.fire('device.deleted', device);
  }

  // ---- credentials ---------------------------------------------------------------------------

  async issueCredential(
    actor: Actor,
    deviceId: string,
    request: CredentialRequest,
  ): Promise<IssuedCredential> {
    const device = await this.loadDevice(actor, deviceId, 'credential.manage', 'credential.issue');
    const issued = await this.makeCredential(device, request);
    await this.record(
      actor,
      'credential.issue',
      `device:${deviceId}`,
      device.tenantId,
      describe(issued.credential),
    );
    return issued;
  }

  async listCredentials(actor: Actor, deviceId: string): Promise<Credential[]> {
    await this.loadDevice(actor, deviceId, 'credential.read', 'credential.list');
    return this.store.listCredentials(deviceId);
  }

  async rotateCredential(actor: Actor, credentialId: string): Promise<IssuedCredential> {
    const old = await this.loadCredential(actor, credentialId, 'credential.rotate');
    if (old.revokedAt !== null) {
      throw new HalyardError('CONFLICT', `credential ${credentialId} is revoked; issue a new one`, {
        field: 'credentialId',
      });
    }
    const device = await this.store.getDevice(old.deviceId);
    if (!device) throw notFound('credential', credentialId);
    const issued = await this.makeCredential(device, rotationRequest(old));
    await this.record(actor, 'credential.rotate', `device:${device.id}`, device.tenantId, {
      ...describe(issued.credential),
      replaces: old.id,
    });
    return issued;
  }

  async revokeCredential(actor: Actor, credentialId: string): Promise<Credential> {
    const credential = await this.loadCredential(actor, credentialId, 'credential.revoke');
    if (credential.revokedAt !== null) return credential; // idempotent: nothing changes, nothing to record
    const revoked = await this.store.revokeCredential(credentialId, this.now());
    if (!revoked) throw notFound('credential', credentialId);
    await this.record(
      actor,
      'credential.revoke',
      `device:${revoked.deviceId}`,
      revoked.tenantId,
      describe(revoked),
    );
    this.fire('credential.revoked', revoked);
    return revoked;
  }

  // ---- tenant CAs ----------------------------------------------------------------------------

  async addTenantCa(actor: Actor, tenantId: string, certPem: string): Promise<TenantCa> {
    await this.loadTenant(actor, tenantId, 'ca.manage', 'tenant-ca.add');
    if (typeof certPem !== 'string' || !certPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw invalid('certPem', 'must be a PEM certificate');
    }
    const cert = parseCertificate(certPem);
    if (!cert) throw invalid('certPem', 'is not a readable X.509 certificate');
    if (!cert.isCa) throw invalid('certPem', 'is not a CA certificate (basicConstraints cA)');
    if (!isValidAt(cert, this.now())) throw invalid('certPem', 'is expired or not yet valid');
    const existing = await this.store.listTenantCas(tenantId);
    if (existing.some((ca) => ca.fingerprint256 === cert.fingerprint256)) {
      throw new HalyardError('CONFLICT', 'this CA is trusted by the tenant already', { field: 'certPem' });
    }
    const ca: TenantCa = {
      id: randomId('ca-'),
      tenantId,
      certPem: cert.node.toString(),
      fingerprint256: cert.fingerprint256,
      subject: cert.subject,
      createdAt: this.now(),
    };
    await this.store.addTenantCa(ca);
    await this.record(actor, 'tenant-ca.add', `tenant-ca:${ca.id}`, tenantId, {
      caId: ca.id,
      subject: ca.subject,
      fingerprint256: ca.fingerprint256,
    });
    this.fire('tenant.ca.changed', tenantId);
    return ca;
  }

  async listTenantCas(actor: Actor, tenantId: string): Promise<TenantCa[]> {
    await this.loadTenant(actor, tenantId, 'ca.read', 'tenant-ca.list');
    return this.store.listTenantCas(tenantId);
  }

  async removeTenantCa(actor: Actor, tenantId: string, caId: string): Promise<void> {
    await this.loadTenant(actor, tenantId, 'ca.manage', 'tenant-ca.remove');
    const ca = (await this.store.listTenantCas(tenantId)).find((c) => c.id === caId);
    if (!ca || !(await this.store.removeTenantCa(caId))) throw notFound('tenant CA', caId);
    await this.record(actor, 'tenant-ca.remove', `tenant-ca:${caId}`, tenantId, {
      caId,
      subject: ca.subject,
      fingerprint256: ca.fingerprint256,
    });
    this.fire('tenant.ca.changed', tenantId);
  }

  // ---- API tokens ----------------------------------------------------------------------------

  async createApiToken(actor: Actor, request: ApiTokenRequest): Promise<{ token: string; record: ApiToken }> {
    const user = await this.actingUser(actor, 'api-token.create');
    const name = checkName('name', request.name);
    const days =
      request.expiresInDays === undefined
        ? undefined
        : checkInt('expiresInDays', request.expiresInDays, 1, LIMITS.apiTokenDaysMax);
    const now = this.now();
    const token = generateToken('hu_');
    const record: ApiToken = {
      id: randomId('at-'),
      userId: user.id,
      name,
      tokenHash: hashToken(token),
      createdAt: now,
      expiresAt: days === undefined ? null : now + days * DAY_MS,
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.store.createApiToken(record);
    await this.record(actor, 'api-token.create', `api-token:${record.id}`, user.tenantId, {
      tokenId: record.id,
      name,
      expiresAt: record.expiresAt,
    });
    return { token, record };
  }

  async listApiTokens(actor: Actor): Promise<ApiToken[]> {
    const user = await this.actingUser(actor, 'api-token.list');
    return this.store.listApiTokens(user.id);
  }

  async revokeApiToken(actor: Actor, id: string): Promise<void> {
    const user = await this.actingUser(actor, 'api-token.revoke');
    // Only one's own tokens: another user's token id is "not found", whoever asks.
    const token = (await this.store.listApiTokens(user.id)).find((t) => t.id === id);
    if (!token) throw notFound('API token', id);
    if (token.revokedAt !== null) return;
    await this.store.revokeApiToken(id, this.now());
    await this.record(actor, 'api-token.revoke', `api-token:${id}`, user.tenantId, {
      tokenId: id,
      name: token.name,
    });
  }

  // ---- audit ---------------------------------------------------------------------------------

  async queryAudit(actor: Actor, query: AuditQuery): Promise<AuditEntry[]> {
    if (query.limit !== undefined) checkInt('limit', query.limit, 1, 1000);
    if (actor.tenantId === null) {
      await this.allow(actor, 'audit.read', undefined, 'audit.read', null);
      return this.store.queryAudit(query);
    }
    await this.allow(actor, 'audit.read', actor.tenantId, 'audit.read', null);
    // A tenant sees its own entries only, whatever it asks for.
    if (query.tenantId !== undefined && query.tenantId !== actor.tenantId) return [];
    return this.store.queryAudit({ ...query, tenantId: actor.tenantId });
  }

  async audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.store.appendAudit({ ...entry, at: this.now() });
  }

  // ---- logins and sessions -------------------------------------------------------------------

  loginUser(username: string, password: string, ctx: LoginContext): Promise<UserLogin> {
    return this.gate.loginUser(username, password, ctx);
  }

  createSession(user: User, ctx: LoginContext): Promise<{ token: string; expiresAt: number }> {
    return this.sessions.create(user, ctx);
  }

  resolveBearer(token: string, address: string): Promise<Actor | undefined> {
    return this.sessions.resolve(token, address);
  }

  async endSession(token: string): Promise<void> {
    const user = await this.sessions.end(token);
    if (!user) return;
    await this.audit({
      tenantId: user.tenantId,
      actorType: 'user',
      actor: user.username,
      action: 'logout',
      target: `user:${user.username}`,
      address: null,
      outcome: 'success',
      details: {},
    });
  }

  loginDevice(proof: DeviceProof, ctx: LoginContext): Promise<DeviceLogin> {
    return this.gate.loginDevice(proof, ctx);
  }

  // ---- trusted reads for the broker ----------------------------------------------------------

  deviceById(id: string): Promise<Device | undefined> {
    return this.store.getDevice(id);
  }

  profileById(id: string): Promise<DeviceProfile | undefined> {
    return this.store.getProfile(id);
  }

  tenantById(id: string): Promise<Tenant | undefined> {
    return this.store.getTenant(id);
  }

  recordLastSeen(entries: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void> {
    return this.store.setLastSeen(entries);
  }

  // ---- platform admin ------------------------------------------------------------------------

  async ensurePlatformAdmin(): Promise<{ username: string; password: string } | undefined> {
    if ((await this.store.listUsers()).length > 0) return undefined;
    const username = 'admin';
    const password = generatePassword();
    const now = this.now();
    const user: User = {
      id: randomId('u-'),
      username,
      tenantId: null,
      role: 'admin',
      passwordHash: await hashPassword(password),
      active: true,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.createUser(user);
    } catch (err) {
      if (isHalyardError(err, 'CONFLICT')) return undefined; // another node was first
      throw err;
    }
    await this.record(SYSTEM_ACTOR, 'user.create', `user:${username}`, null, {
      userId: user.id,
      role: 'admin',
      reason: 'first start',
    });
    return { username, password };
  }

  async resetAdminPassword(username = 'admin'): Promise<{ username: string; password: string }> {
    const user = await this.store.getUserByUsername(username);
    if (!user || user.tenantId !== null || user.role !== 'admin') throw notFound('user', username);
    const password = generatePassword();
    // A reset is a recovery: the account is active again and any lock on it is lifted.
    const updated = await this.store.updateUser(user.id, {
      passwordHash: await hashPassword(password),
      active: true,
      updatedAt: this.now(),
    });
    if (!updated) throw notFound('user', username);
    await this.store.deleteUserSessions(user.id);
    this.gate.clearUser(username);
    await this.record(SYSTEM_ACTOR, 'user.password.reset', `user:${username}`, null, { userId: user.id });
    this.fire('user.changed', updated);
    return { username, password };
  }

  // ---- helpers -------------------------------------------------------------------------------

  /**
   * Listeners run in turn; one that throws is logged and the others still run,
   * and the caller's mutation (already stored) does not fail because of it.
   */
  private fire<E extends keyof RegistryEvents>(event: E, ...args: RegistryEvents[E]): void {
    for (const listener of this.listeners(event)) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.logger.error({ err, event }, 'registry event listener failed');
      }
    }
  }

  private async record(
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
  private async allow(
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

  private async refuse(
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

  private async loadTenant(
    actor: Actor,
    id: string,
    permission: Permission,
    action: string,
  ): Promise<Tenant> {
    const tenant = typeof id === 'string' ? await this.store.getTenant(id) : undefined;
    // Checked before the lookup result too: a tenant actor learns nothing about other tenants' ids.
    if (!tenant || decide(actor, permission, tenant.id) === 'not-found') throw notFound('tenant', id);
    await this.allow(actor, permission, tenant.id, action, `tenant:${id}`);
    return tenant;
  }

  private async loadUser(actor: Actor, id: string, permission: Permission, action: string): Promise<User> {
    const user = typeof id === 'string' ? await this.store.getUser(id) : undefined;
    if (!user || decide(actor, permission, user.tenantId) === 'not-found') throw notFound('user', id);
    await this.allow(actor, permission, user.tenantId, action, `user:${user.username}`);
    return user;
  }

  private async loadProfile(
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

  private async loadDevice(
    actor: Actor,
    id: string,
    permission: Permission,
    action: string,
  ): Promise<Device> {
    const device = typeof id === 'string' ? await this.store.getDevice(id) : undefined;
    if (!device || decide(actor, permission, device.tenantId) === 'not-found') throw notFound('device', id);
    await this.allow(actor, permission, device.tenantId, action, `device:${id}`);
    return device;
  }

  private async loadCredential(actor: Actor, id: string, action: string): Promise<Credential> {
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
  private async targetTenant(actor: Actor, requested: string | null | undefined): Promise<string> {
    const id = requested ?? actor.tenantId;
    if (id === null) throw invalid('tenantId', 'is required for platform-level users');
    if (typeof id !== 'string' || (actor.tenantId !== null && id !== actor.tenantId)) {
      throw notFound('tenant', id, 'tenantId');
    }
    if (!(await this.store.getTenant(id))) throw notFound('tenant', id, 'tenantId');
    return id;
  }

  /** A list's tenant: undefined = all (platform actors), false = another tenant's (an empty answer). */
  private async listScope(
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

  private async checkProfileRef(tenantId: string, profileId: string | null): Promise<string | null> {
    if (profileId === null) return null;
    const profile = typeof profileId === 'string' ? await this.store.getProfile(profileId) : undefined;
    // Another tenant's profile looks exactly like a missing one.
    if (!profile || profile.tenantId !== tenantId) throw notFound('profile', profileId, 'profileId');
    return profileId;
  }

  /** API tokens belong to a person: the system actor has none. */
  private async actingUser(actor: Actor, action: string): Promise<User> {
    const user = actor.type === 'system' ? undefined : await this.store.getUser(actor.id);
    return user ?? this.refuse(actor, action, null, actor.tenantId, 'API tokens belong to users');
  }

  /** The platform must keep one active platform admin, or nobody could manage tenants. */
  private async keepOnePlatformAdmin(user: User): Promise<void> {
    if (user.tenantId !== null || !user.active) return;
    const others = (await this.store.listUsers({ tenantId: null })).filter(
      (u) => u.id !== user.id && u.active && u.role === 'admin',
    );
    if (others.length === 0) {
      throw new HalyardError('CONFLICT', 'the last active platform admin cannot be removed or deactivated', {
        id: user.id,
      });
    }
  }

  private async makeCredential(device: Device, request: CredentialRequest): Promise<IssuedCredential> {
    if (typeof request !== 'object' || request === null) throw invalid('kind', 'is required');
    const issued = await makeCredential(
      { store: this.store, secretKey: this.secretKey, ca: this.ca, now: this.now() },
      device,
      randomId('c-'),
      request,
    );
    await this.store.createCredential(issued.credential);
    return issued;
  }

  private async freeTenantId(name: string): Promise<string> {
    const slug = slugify(name);
    if (slug && !(await this.store.getTenant(slug))) return slug;
    for (let i = 0; i < 5; i++) {
      const candidate = slug ? `${slug}-${randomId('', 4)}` : randomId('t-', 8);
      if (!(await this.store.getTenant(candidate))) return candidate;
    }
    return randomId('t-', 12);
  }
}

/** What the audit log says about a credential: never its secret, not even its lookup for tokens (a hash). */
function describe(c: Credential): Record<string, unknown> {
  const details: Record<string, unknown> = { kind: c.kind, credentialId: c.id, deviceId: c.deviceId };
  if (c.kind === 'password') details.username = c.lookup;
  if (c.kind === 'certificate') details.fingerprint256 = c.lookup;
  return details;
}
