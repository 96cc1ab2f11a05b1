/** Tenants, and the CAs they trust for their devices' client certificates. */
import { HalyardError } from '../core/errors.js';
import { notFound, type Access, type Fire, type RegistryContext } from './access.js';
import { isValidAt, parseCertificate } from './certificates.js';
import { randomId, slugify } from './ids.js';
import type { Tenant, TenantCa } from './model.js';
import type { Actor, NewTenant } from './service.js';
import type { RegistryStore, TenantPatch } from './store.js';
import { checkId, checkInt, checkKeyRetention, checkName, invalid, LIMITS } from './validate.js';

export class TenantAdmin {
  private readonly store: RegistryStore;
  private readonly now: () => number;
  private readonly access: Access;
  private readonly fire: Fire;

  constructor(ctx: RegistryContext) {
    this.store = ctx.store;
    this.now = ctx.now;
    this.access = ctx.access;
    this.fire = ctx.fire;
  }

  async createTenant(actor: Actor, input: NewTenant): Promise<Tenant> {
    await this.access.allow(actor, 'tenant.manage', undefined, 'tenant.create', null);
    const name = checkName('name', input.name);
    const maxConnections = checkInt('maxConnections', input.maxConnections ?? 0, 0, 10_000_000);
    const retentionDays = checkInt('retentionDays', input.retentionDays ?? 0, 0, LIMITS.retentionDaysMax);
    const keyRetentionDays = checkKeyRetention('keyRetentionDays', input.keyRetentionDays ?? {});
    const id = input.id !== undefined ? checkId('id', input.id) : await this.freeTenantId(name);
    const tenant: Tenant = {
      id,
      name,
      maxConnections,
      retentionDays,
      keyRetentionDays,
      createdAt: this.now(),
    };
    await this.store.createTenant(tenant);
    await this.access.record(actor, 'tenant.create', `tenant:${id}`, id, {
      name,
      maxConnections,
      retentionDays,
      keyRetentionDays,
    });
    return tenant;
  }

  async listTenants(actor: Actor): Promise<Tenant[]> {
    if (actor.tenantId === null) {
      await this.access.allow(actor, 'tenant.read', undefined, 'tenant.list', null);
      return this.store.listTenants();
    }
    await this.access.allow(actor, 'tenant.read', actor.tenantId, 'tenant.list', null);
    const own = await this.store.getTenant(actor.tenantId);
    return own ? [own] : [];
  }

  getTenant(actor: Actor, id: string): Promise<Tenant> {
    return this.access.loadTenant(actor, id, 'tenant.read', 'tenant.read');
  }

  async updateTenant(actor: Actor, id: string, patch: Partial<Omit<NewTenant, 'id'>>): Promise<Tenant> {
    await this.access.loadTenant(actor, id, 'tenant.read', 'tenant.update');
    const changes: TenantPatch = {};
    if (patch.name !== undefined) {
      await this.access.allow(actor, 'tenant.update', id, 'tenant.update', `tenant:${id}`);
      changes.name = checkName('name', patch.name);
    }
    if (patch.maxConnections !== undefined) {
      await this.access.allow(actor, 'tenant.limits', id, 'tenant.update', `tenant:${id}`);
      changes.maxConnections = checkInt('maxConnections', patch.maxConnections, 0, 10_000_000);
    }
    // Retention is the tenant's own business (its data, its storage): tenant admins may set it.
    if (patch.retentionDays !== undefined || patch.keyRetentionDays !== undefined) {
      await this.access.allow(actor, 'tenant.update', id, 'tenant.update', `tenant:${id}`);
    }
    if (patch.retentionDays !== undefined) {
      changes.retentionDays = checkInt('retentionDays', patch.retentionDays, 0, LIMITS.retentionDaysMax);
    }
    if (patch.keyRetentionDays !== undefined) {
      changes.keyRetentionDays = checkKeyRetention('keyRetentionDays', patch.keyRetentionDays);
    }
    const updated = await this.store.updateTenant(id, changes);
    if (!updated) throw notFound('tenant', id);
    await this.access.record(actor, 'tenant.update', `tenant:${id}`, id, {
      fields: Object.keys(changes),
      ...changes,
    });
    return updated;
  }

  async deleteTenant(actor: Actor, id: string): Promise<void> {
    await this.access.loadTenant(actor, id, 'tenant.manage', 'tenant.delete');
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
    await this.access.record(actor, 'tenant.delete', `tenant:${id}`, id);
    if (cas.length > 0) this.fire('tenant.ca.changed', id);
  }

  async addTenantCa(actor: Actor, tenantId: string, certPem: string): Promise<TenantCa> {
    await this.access.loadTenant(actor, tenantId, 'ca.manage', 'tenant-ca.add');
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
    await this.access.record(actor, 'tenant-ca.add', `tenant-ca:${ca.id}`, tenantId, {
      caId: ca.id,
      subject: ca.subject,
      fingerprint256: ca.fingerprint256,
    });
    this.fire('tenant.ca.changed', tenantId);
    return ca;
  }

  async listTenantCas(actor: Actor, tenantId: string): Promise<TenantCa[]> {
    await this.access.loadTenant(actor, tenantId, 'ca.read', 'tenant-ca.list');
    return this.store.listTenantCas(tenantId);
  }

  async removeTenantCa(actor: Actor, tenantId: string, caId: string): Promise<void> {
    await this.access.loadTenant(actor, tenantId, 'ca.manage', 'tenant-ca.remove');
    const ca = (await this.store.listTenantCas(tenantId)).find((c) => c.id === caId);
    if (!ca || !(await this.store.removeTenantCa(caId))) throw notFound('tenant CA', caId);
    await this.access.record(actor, 'tenant-ca.remove', `tenant-ca:${caId}`, tenantId, {
      caId,
      subject: ca.subject,
      fingerprint256: ca.fingerprint256,
    });
    this.fire('tenant.ca.changed', tenantId);
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
