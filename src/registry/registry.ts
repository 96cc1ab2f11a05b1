/**
 * The registry service: every management call checks role and tenant
 * (permissions.ts via access.ts), validates (validate.ts), writes through the
 * store, appends the audit entry and emits the event — in that order, so no
 * caller can forget one of them. This class wires the parts together: tenants.ts,
 * users.ts, devices.ts for management, second-factor.ts for people's TOTP, logins.ts
 * for device and user logins, sessions.ts for bearer tokens.
 *
 * Audit actions: tenant.create|update|delete, tenant-ca.add|remove, user.create|update|
 * delete, user.password.set|reset, user.totp.enrol|confirm|disable|reset, api-token.create|
 * revoke, profile.create|update|delete, device.create|update|delete|activate|deactivate,
 * acl.change, credential.issue|rotate|revoke, login.success|failure|locked, logout,
 * mqtt-ticket.issue. A refused action (NOT_AUTHORIZED) is audited under the action it
 * attempted, with outcome 'failure'.
 */
import { EventEmitter } from 'node:events';
import { HalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CertificateAuthority } from '../transport/pki.js';
import { Access, type RegistryContext } from './access.js';
import { DeviceAdmin } from './devices.js';
import { LoginGate } from './logins.js';
import type {
  ApiToken,
  AuditEntry,
  Credential,
  Device,
  DeviceProfile,
  Page,
  Role,
  Tenant,
  TenantCa,
  User,
} from './model.js';
import { SecondFactorAdmin, TotpKeeper } from './second-factor.js';
import { SECRET_KEY_BYTES } from './secrets.js';
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
  PasswordLogin,
  RegistryEvents,
  RegistryService,
  TotpEnrolment,
  UserLogin,
} from './service.js';
import { SessionKeeper } from './sessions.js';
import type { AuditQuery, DeviceQuery, RegistryStore } from './store.js';
import { TenantAdmin } from './tenants.js';
import { UserAdmin } from './users.js';
import { checkInt } from './validate.js';

export interface RegistryOptions {
  store: RegistryStore;
  logger: Logger;
  /** 32 bytes, seals HMAC and TOTP secrets (secrets.ts). */
  secretKey: Buffer;
  /** The platform CA: issues device client certificates. */
  ca: CertificateAuthority;
  lockout: { maxFailures: number; windowMs: number; lockMs: number };
  sessionTtlMs: number;
  now?: () => number;
}

export class Registry extends EventEmitter<RegistryEvents> implements RegistryService {
  private readonly store: RegistryStore;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly access: Access;
  private readonly tenants: TenantAdmin;
  private readonly users: UserAdmin;
  private readonly devices: DeviceAdmin;
  private readonly gate: LoginGate;
  private readonly secondFactors: SecondFactorAdmin;
  private readonly sessions: SessionKeeper;

  constructor(opts: RegistryOptions) {
    super();
    if (opts.secretKey.length !== SECRET_KEY_BYTES) {
      throw new Error(`the registry secret key must be ${SECRET_KEY_BYTES} bytes`);
    }
    this.store = opts.store;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.access = new Access(opts.store, (entry) => this.audit(entry));
    const totp = new TotpKeeper(opts.store, opts.secretKey, this.now, opts.logger);
    this.sessions = new SessionKeeper(opts.store, opts.logger, opts.sessionTtlMs, this.now, opts.secretKey);
    this.gate = new LoginGate({
      store: opts.store,
      logger: opts.logger,
      secretKey: opts.secretKey,
      lockout: opts.lockout,
      now: this.now,
      audit: (entry) => this.audit(entry),
      totp,
      tokens: this.sessions,
    });
    const ctx: RegistryContext = {
      store: opts.store,
      now: this.now,
      access: this.access,
      fire: (event, ...args) => this.fire(event, ...args),
    };
    this.tenants = new TenantAdmin(ctx);
    this.users = new UserAdmin(ctx, this.gate);
    this.secondFactors = new SecondFactorAdmin(ctx, totp, this.gate);
    this.devices = new DeviceAdmin(ctx, opts.secretKey, opts.ca);
  }

  // ---- tenants and their CAs (tenants.ts) ----------------------------------------------------

  createTenant(actor: Actor, input: NewTenant): Promise<Tenant> {
    return this.tenants.createTenant(actor, input);
  }
  listTenants(actor: Actor): Promise<Tenant[]> {
    return this.tenants.listTenants(actor);
  }
  getTenant(actor: Actor, id: string): Promise<Tenant> {
    return this.tenants.getTenant(actor, id);
  }
  updateTenant(actor: Actor, id: string, patch: Partial<Omit<NewTenant, 'id'>>): Promise<Tenant> {
    return this.tenants.updateTenant(actor, id, patch);
  }
  deleteTenant(actor: Actor, id: string): Promise<void> {
    return this.tenants.deleteTenant(actor, id);
  }
  addTenantCa(actor: Actor, tenantId: string, certPem: string): Promise<TenantCa> {
    return this.tenants.addTenantCa(actor, tenantId, certPem);
  }
  listTenantCas(actor: Actor, tenantId: string): Promise<TenantCa[]> {
    return this.tenants.listTenantCas(actor, tenantId);
  }
  removeTenantCa(actor: Actor, tenantId: string, caId: string): Promise<void> {
    return this.tenants.removeTenantCa(actor, tenantId, caId);
  }

  // ---- people (users.ts) ---------------------------------------------------------------------

  createUser(actor: Actor, input: NewUser): Promise<User> {
    return this.users.createUser(actor, input);
  }
  listUsers(actor: Actor, filter?: { tenantId?: string }): Promise<User[]> {
    return this.users.listUsers(actor, filter);
  }
  getUser(actor: Actor, id: string): Promise<User> {
    return this.users.getUser(actor, id);
  }
  updateUser(actor: Actor, id: string, patch: { role?: Role; active?: boolean }): Promise<User> {
    return this.users.updateUser(actor, id, patch);
  }
  setPassword(actor: Actor, userId: string, password: string, currentPassword?: string): Promise<void> {
    return this.users.setPassword(actor, userId, password, currentPassword);
  }
  deleteUser(actor: Actor, id: string): Promise<void> {
    return this.users.deleteUser(actor, id);
  }
  createApiToken(actor: Actor, request: ApiTokenRequest): Promise<{ token: string; record: ApiToken }> {
    return this.users.createApiToken(actor, request);
  }
  listApiTokens(actor: Actor): Promise<ApiToken[]> {
    return this.users.listApiTokens(actor);
  }
  revokeApiToken(actor: Actor, id: string): Promise<void> {
    return this.users.revokeApiToken(actor, id);
  }
  enrolTotp(actor: Actor): Promise<TotpEnrolment> {
    return this.secondFactors.enrol(actor);
  }
  confirmTotp(actor: Actor, code: string): Promise<void> {
    return this.secondFactors.confirm(actor, code);
  }
  disableTotp(actor: Actor, code: string): Promise<void> {
    return this.secondFactors.disable(actor, code);
  }
  resetTotp(actor: Actor, userId: string): Promise<void> {
    return this.secondFactors.reset(actor, userId);
  }
  ensurePlatformAdmin(): Promise<{ username: string; password: string } | undefined> {
    return this.users.ensurePlatformAdmin();
  }
  resetAdminPassword(username?: string): Promise<{ username: string; password: string }> {
    return this.users.resetAdminPassword(username);
  }

  // ---- profiles, devices, credentials (devices.ts) -------------------------------------------

  createProfile(actor: Actor, input: NewProfile): Promise<DeviceProfile> {
    return this.devices.createProfile(actor, input);
  }
  listProfiles(actor: Actor, filter?: { tenantId?: string }): Promise<DeviceProfile[]> {
    return this.devices.listProfiles(actor, filter);
  }
  getProfile(actor: Actor, id: string): Promise<DeviceProfile> {
    return this.devices.getProfile(actor, id);
  }
  updateProfile(
    actor: Actor,
    id: string,
    patch: Partial<Omit<NewProfile, 'id' | 'tenantId'>>,
  ): Promise<DeviceProfile> {
    return this.devices.updateProfile(actor, id, patch);
  }
  deleteProfile(actor: Actor, id: string): Promise<void> {
    return this.devices.deleteProfile(actor, id);
  }
  createDevice(actor: Actor, input: NewDevice): Promise<Device> {
    return this.devices.createDevice(actor, input);
  }
  listDevices(actor: Actor, query: DeviceQuery): Promise<Page<Device>> {
    return this.devices.listDevices(actor, query);
  }
  getDevice(actor: Actor, id: string): Promise<Device> {
    return this.devices.getDevice(actor, id);
  }
  updateDevice(actor: Actor, id: string, patch: DeviceUpdate): Promise<Device> {
    return this.devices.updateDevice(actor, id, patch);
  }
  setDeviceActive(actor: Actor, id: string, active: boolean): Promise<Device> {
    return this.devices.setDeviceActive(actor, id, active);
  }
  deleteDevice(actor: Actor, id: string): Promise<void> {
    return this.devices.deleteDevice(actor, id);
  }
  issueCredential(actor: Actor, deviceId: string, request: CredentialRequest): Promise<IssuedCredential> {
    return this.devices.issueCredential(actor, deviceId, request);
  }
  listCredentials(actor: Actor, deviceId: string): Promise<Credential[]> {
    return this.devices.listCredentials(actor, deviceId);
  }
  rotateCredential(actor: Actor, credentialId: string): Promise<IssuedCredential> {
    return this.devices.rotateCredential(actor, credentialId);
  }
  revokeCredential(actor: Actor, credentialId: string): Promise<Credential> {
    return this.devices.revokeCredential(actor, credentialId);
  }

  // ---- audit ---------------------------------------------------------------------------------

  async queryAudit(actor: Actor, query: AuditQuery): Promise<AuditEntry[]> {
    if (query.limit !== undefined) checkInt('limit', query.limit, 1, 1000);
    if (actor.tenantId === null) {
      await this.access.allow(actor, 'audit.read', undefined, 'audit.read', null);
      return this.store.queryAudit(query);
    }
    await this.access.allow(actor, 'audit.read', actor.tenantId, 'audit.read', null);
    // A tenant sees its own entries only, whatever it asks for.
    if (query.tenantId !== undefined && query.tenantId !== actor.tenantId) return [];
    return this.store.queryAudit({ ...query, tenantId: actor.tenantId });
  }

  async audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    this.fire('audit.appended', await this.store.appendAudit({ ...entry, at: this.now() }));
  }

  // ---- logins and sessions (logins.ts, sessions.ts) ------------------------------------------

  loginUser(username: string, password: string, ctx: LoginContext, totp?: string): Promise<UserLogin> {
    return this.gate.loginUser(username, password, ctx, totp);
  }

  loginPassword(username: string, password: Buffer, ctx: LoginContext): Promise<PasswordLogin> {
    return this.gate.loginPassword(username, password, ctx);
  }

  loginDevice(proof: DeviceProof, ctx: LoginContext): Promise<DeviceLogin> {
    return this.gate.loginDevice(proof, ctx);
  }

  authenticateDeviceToken(token: string, ctx: LoginContext): Promise<DeviceLogin> {
    return this.gate.authenticateDeviceToken(token, ctx);
  }

  createSession(user: User, ctx: LoginContext): Promise<{ token: string; expiresAt: number }> {
    return this.sessions.create(user, ctx);
  }

  resolveBearer(token: string, address: string): Promise<Actor | undefined> {
    return this.sessions.resolve(token, address);
  }

  async endSession(token: string): Promise<void> {
    const ended = await this.sessions.end(token);
    if (!ended) return;
    const { user, tokenHash } = ended;
    this.fire('token.ended', { userId: user.id, tokenHash });
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

  async issueMqttTicket(
    actor: Actor,
    token: string,
  ): Promise<{ username: string; password: string; expiresAt: number }> {
    const issued = await this.sessions.issueTicket(token);
    // Only for the caller's own token: a ticket opens MQTT as the token's person.
    if (!issued || issued.user.id !== actor.id) {
      throw new HalyardError('UNAUTHENTICATED', 'the session or token is invalid, expired or revoked');
    }
    const { user, ticket, expiresAt } = issued;
    await this.access.record(actor, 'mqtt-ticket.issue', `user:${user.username}`, user.tenantId, {
      expiresAt,
    });
    return { username: user.username, password: ticket, expiresAt };
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
}
