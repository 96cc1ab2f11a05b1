/** Device profiles, devices and their credentials. */
import { HalyardError } from '../core/errors.js';
import type { CertificateAuthority } from '../transport/pki.js';
import { notFound, type Access, type Fire, type RegistryContext } from './access.js';
import { makeCredential, rotationRequest } from './credentials.js';
import { randomId } from './ids.js';
import type { Credential, Device, DeviceLimits, DeviceProfile, Page } from './model.js';
import type {
  Actor,
  CredentialRequest,
  DeviceUpdate,
  IssuedCredential,
  NewDevice,
  NewProfile,
} from './service.js';
import type { DevicePatch, DeviceQuery, ProfilePatch, RegistryStore } from './store.js';
import {
  checkAcl,
  checkId,
  checkInt,
  checkLabels,
  checkLimits,
  checkName,
  checkTags,
  checkText,
  invalid,
  LIMITS,
} from './validate.js';

const NO_LIMITS: DeviceLimits = { maxConnections: 0, publishMessagesPerSecond: 0, publishBytesPerSecond: 0 };

export class DeviceAdmin {
  private readonly store: RegistryStore;
  private readonly now: () => number;
  private readonly access: Access;
  private readonly fire: Fire;

  constructor(
    ctx: RegistryContext,
    private readonly secretKey: Buffer,
    private readonly ca: CertificateAuthority,
  ) {
    this.store = ctx.store;
    this.now = ctx.now;
    this.access = ctx.access;
    this.fire = ctx.fire;
  }

  async createProfile(actor: Actor, input: NewProfile): Promise<DeviceProfile> {
    const tenantId = await this.access.targetTenant(actor, input.tenantId);
    await this.access.allow(actor, 'profile.manage', tenantId, 'profile.create', null);
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
    await this.access.record(actor, 'profile.create', `profile:${profile.id}`, tenantId, {
      name: profile.name,
      aclRules: profile.acl.length,
    });
    return profile;
  }

  async listProfiles(actor: Actor, filter: { tenantId?: string } = {}): Promise<DeviceProfile[]> {
    const tenantId = await this.access.listScope(actor, 'profile.read', 'profile.list', filter.tenantId);
    return tenantId === false ? [] : this.store.listProfiles(tenantId);
  }

  getProfile(actor: Actor, id: string): Promise<DeviceProfile> {
    return this.access.loadProfile(actor, id, 'profile.read', 'profile.read');
  }

  async updateProfile(
    actor: Actor,
    id: string,
    patch: Partial<Omit<NewProfile, 'id' | 'tenantId'>>,
  ): Promise<DeviceProfile> {
    const profile = await this.access.loadProfile(actor, id, 'profile.manage', 'profile.update');
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
      await this.access.record(actor, 'profile.update', target, profile.tenantId, {
        fields: Object.keys(rest),
        ...rest,
      });
    }
    if (acl) {
      await this.access.record(actor, 'acl.change', target, profile.tenantId, { profileId: id, acl });
      this.fire('acl.changed', { profileId: id });
    }
    return updated;
  }

  async deleteProfile(actor: Actor, id: string): Promise<void> {
    const profile = await this.access.loadProfile(actor, id, 'profile.manage', 'profile.delete');
    if (!(await this.store.deleteProfile(id))) throw notFound('profile', id);
    await this.access.record(actor, 'profile.delete', `profile:${id}`, profile.tenantId, {
      name: profile.name,
    });
  }

  async createDevice(actor: Actor, input: NewDevice): Promise<Device> {
    const tenantId = await this.access.targetTenant(actor, input.tenantId);
    await this.access.allow(actor, 'device.write', tenantId, 'device.create', null);
    if (input.acl !== undefined && input.acl.length > 0) {
      await this.access.allow(actor, 'acl.write', tenantId, 'device.create', null);
    }
    const id = input.id !== undefined ? checkId('id', input.id) : randomId('d-');
    const profileId = await this.access.checkProfileRef(tenantId, input.profileId ?? null);
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
    await this.access.record(actor, 'device.create', `device:${id}`, tenantId, {
      name: device.name,
      profileId,
      type: device.type,
      aclRules: device.acl.length,
    });
    this.fire('device.created', device);
    return device;
  }

  async listDevices(actor: Actor, query: DeviceQuery): Promise<Page<Device>> {
    const tenantId = await this.access.listScope(actor, 'device.read', 'device.list', query.tenantId);
    if (tenantId === false) return { items: [], total: 0 };
    if (query.limit !== undefined) checkInt('limit', query.limit, 1, 1000);
    if (query.offset !== undefined) checkInt('offset', query.offset, 0, Number.MAX_SAFE_INTEGER);
    return this.store.listDevices({ ...query, tenantId });
  }

  getDevice(actor: Actor, id: string): Promise<Device> {
    return this.access.loadDevice(actor, id, 'device.read', 'device.read');
  }

  async updateDevice(actor: Actor, id: string, patch: DeviceUpdate): Promise<Device> {
    const device = await this.access.loadDevice(actor, id, 'device.read', 'device.update');
    const target = `device:${id}`;
    const { acl: aclInput, ...fields } = patch;
    const hasFields = Object.values(fields).some((v) => v !== undefined);
    if (hasFields) await this.access.allow(actor, 'device.write', device.tenantId, 'device.update', target);
    if (aclInput !== undefined)
      await this.access.allow(actor, 'acl.write', device.tenantId, 'acl.change', target);

    const changes: DevicePatch = {};
    if (fields.name !== undefined) changes.name = checkName('name', fields.name);
    if (fields.type !== undefined) changes.type = checkText('type', fields.type, LIMITS.nameLength);
    if (fields.serial !== undefined) {
      changes.serial = fields.serial === null ? null : checkText('serial', fields.serial, LIMITS.nameLength);
    }
    if (fields.tags !== undefined) changes.tags = checkTags('tags', fields.tags);
    if (fields.labels !== undefined) changes.labels = checkLabels('labels', fields.labels);
    if (fields.profileId !== undefined)
      changes.profileId = await this.access.checkProfileRef(device.tenantId, fields.profileId);
    const acl = aclInput !== undefined ? checkAcl('acl', aclInput) : undefined;
    if (acl) changes.acl = acl;
    if (Object.keys(changes).length === 0) return device;

    const updated = await this.store.updateDevice(id, { ...changes, updatedAt: this.now() });
    if (!updated) throw notFound('device', id);
    const { acl: _acl, ...rest } = changes;
    if (Object.keys(rest).length > 0) {
      await this.access.record(actor, 'device.update', target, device.tenantId, {
        fields: Object.keys(rest),
        ...rest,
      });
    }
    if (acl) await this.access.record(actor, 'acl.change', target, device.tenantId, { deviceId: id, acl });
    this.fire('device.updated', updated);
    // A new profile brings its ACL along when the device has none of its own.
    if (acl || (changes.profileId !== undefined && changes.profileId !== device.profileId)) {
      this.fire('acl.changed', { deviceId: id });
    }
    return updated;
  }

  async setDeviceActive(actor: Actor, id: string, active: boolean): Promise<Device> {
    const action = active ? 'device.activate' : 'device.deactivate';
    const device = await this.access.loadDevice(actor, id, 'device.write', action);
    if (typeof active !== 'boolean') throw invalid('active', 'must be true or false');
    if (device.active === active) return device;
    const updated = await this.store.updateDevice(id, { active, updatedAt: this.now() });
    if (!updated) throw notFound('device', id);
    await this.access.record(actor, action, `device:${id}`, device.tenantId);
    this.fire(active ? 'device.activated' : 'device.deactivated', updated);
    return updated;
  }

  async deleteDevice(actor: Actor, id: string): Promise<void> {
    const device = await this.access.loadDevice(actor, id, 'device.delete', 'device.delete');
    if (!(await this.store.deleteDevice(id))) throw notFound('device', id);
    await this.access.record(actor, 'device.delete', `device:${id}`, device.tenantId, { name: device.name });
    this.fire('device.deleted', device);
  }

  async issueCredential(
    actor: Actor,
    deviceId: string,
    request: CredentialRequest,
  ): Promise<IssuedCredential> {
    const device = await this.access.loadDevice(actor, deviceId, 'credential.manage', 'credential.issue');
    const issued = await this.makeCredential(device, request);
    await this.access.record(
      actor,
      'credential.issue',
      `device:${deviceId}`,
      device.tenantId,
      describe(issued.credential),
    );
    return issued;
  }

  async listCredentials(actor: Actor, deviceId: string): Promise<Credential[]> {
    await this.access.loadDevice(actor, deviceId, 'credential.read', 'credential.list');
    return this.store.listCredentials(deviceId);
  }

  async rotateCredential(actor: Actor, credentialId: string): Promise<IssuedCredential> {
    const old = await this.access.loadCredential(actor, credentialId, 'credential.rotate');
    if (old.revokedAt !== null) {
      throw new HalyardError('CONFLICT', `credential ${credentialId} is revoked; issue a new one`, {
        field: 'credentialId',
      });
    }
    const device = await this.store.getDevice(old.deviceId);
    if (!device) throw notFound('credential', credentialId);
    const issued = await this.makeCredential(device, rotationRequest(old));
    await this.access.record(actor, 'credential.rotate', `device:${device.id}`, device.tenantId, {
      ...describe(issued.credential),
      replaces: old.id,
    });
    return issued;
  }

  async revokeCredential(actor: Actor, credentialId: string): Promise<Credential> {
    const credential = await this.access.loadCredential(actor, credentialId, 'credential.revoke');
    if (credential.revokedAt !== null) return credential; // idempotent: nothing changes, nothing to record
    const revoked = await this.store.revokeCredential(credentialId, this.now());
    if (!revoked) throw notFound('credential', credentialId);
    await this.access.record(
      actor,
      'credential.revoke',
      `device:${revoked.deviceId}`,
      revoked.tenantId,
      describe(revoked),
    );
    this.fire('credential.revoked', revoked);
    return revoked;
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
}

/** What the audit log says about a credential: never its secret, not even its lookup for tokens (a hash). */
function describe(c: Credential): Record<string, unknown> {
  const details: Record<string, unknown> = { kind: c.kind, credentialId: c.id, deviceId: c.deviceId };
  if (c.kind === 'password') details.username = c.lookup;
  if (c.kind === 'certificate') details.fingerprint256 = c.lookup;
  return details;
}
