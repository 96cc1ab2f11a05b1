/**
 * What the rest of Halyard asks of the registry: the REST API, the CLI (through
 * the API), the broker's authenticator and the line protocol. Every management
 * call takes the Actor doing it; the registry checks role and tenant
 * (permissions.ts), writes the audit entry and emits an event, so no caller can
 * forget one of the three.
 *
 * Tenant scoping: an actor of tenant A asking for a record of tenant B gets
 * NOT_FOUND, exactly as for a record that does not exist.
 */
import type { AclRule } from '../devices/acl.js';
import type {
  ApiToken,
  AuditEntry,
  Credential,
  CredentialKind,
  Device,
  DeviceLimits,
  DeviceProfile,
  Page,
  Role,
  Tenant,
  TenantCa,
  User,
} from './model.js';
import type { AuditQuery, DeviceQuery } from './store.js';

/** Who is acting, for permission checks and the audit log. */
export interface Actor {
  type: 'user' | 'api-token' | 'system';
  /** User id (also for API tokens: the token's owner), or 'system'. */
  id: string;
  /** Username or 'system': what the audit log shows. */
  name: string;
  /** null = platform level (platform admin, or the system itself). */
  tenantId: string | null;
  role: Role;
  /** Source address of the request, for the audit log. */
  address?: string;
}

export const SYSTEM_ACTOR: Actor = {
  type: 'system',
  id: 'system',
  name: 'system',
  tenantId: null,
  role: 'admin',
};

export interface NewTenant {
  id?: string;
  name: string;
  maxConnections?: number;
  /** Days of telemetry to keep; 0 (the default) = forever. */
  retentionDays?: number;
  /** Per-key overrides of retentionDays; replaced whole on update. */
  keyRetentionDays?: Record<string, number>;
}

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  /** Required unless a platform admin creates another platform admin (then null). */
  tenantId?: string | null;
}

export interface NewProfile {
  id?: string;
  tenantId?: string;
  name: string;
  description?: string;
  acl?: AclRule[];
  limits?: Partial<DeviceLimits>;
}

export interface NewDevice {
  id?: string;
  /** Defaults to the actor's tenant; required for platform admins. */
  tenantId?: string;
  name?: string;
  profileId?: string | null;
  type?: string;
  serial?: string | null;
  tags?: string[];
  labels?: Record<string, string>;
  acl?: AclRule[];
}

export type DeviceUpdate = Partial<Omit<NewDevice, 'id' | 'tenantId'>>;

export type CredentialRequest =
  | { kind: 'token' }
  /** Username unique across the platform; password generated when omitted. */
  | { kind: 'password'; username: string; password?: string }
  /** Issued by the platform CA; CN = device id. */
  | { kind: 'certificate'; days?: number }
  /** Registers a certificate issued elsewhere (e.g. by a tenant CA) by its PEM. */
  | { kind: 'certificate'; certPem: string }
  | { kind: 'hmac' };

/** A new credential and the secret that is shown this once and never again. */
export interface IssuedCredential {
  credential: Credential;
  /** token: the token; password: the password; hmac: the secret (hex); certificate: absent. */
  secret?: string;
  /** certificate only. */
  certificate?: { certPem: string; keyPem?: string; caPem: string; fingerprint256: string };
}

export interface ApiTokenRequest {
  name: string;
  expiresInDays?: number;
}

/** A device proof as a transport presents it. */
export type DeviceProof =
  | { kind: 'token'; token: string }
  | { kind: 'password'; username: string; password: Buffer }
  /** From a TLS handshake: `verified` when it chains to the platform CA; otherwise checked against tenant CAs. */
  | { kind: 'certificate'; certDer: Buffer; verified: boolean }
  | { kind: 'hmac'; deviceId: string; nonce: Buffer; proof: Buffer };

export interface LoginContext {
  /** Source address, for lockout and the audit log. */
  address: string;
  /** 'mqtt', 'mqtts', 'ws', 'wss', 'http', 'line'…: recorded in the audit entry. */
  via: string;
}

/** 'totp-required': a person's password was right, but their second factor's code is missing. */
export type LoginFailure = 'bad-credentials' | 'locked-out' | 'deactivated' | 'totp-required';

export type LoginRefused = { ok: false; reason: LoginFailure; retryAfterMs?: number };

export type DeviceLogin =
  { ok: true; device: Device; profile: DeviceProfile | undefined; credential: Credential } | LoginRefused;

/**
 * The session or API token a person proved themselves with instead of a password (an MQTT
 * password may be one, or an MQTT ticket issued for one): its end ends what it opened.
 */
export interface SignedInWith {
  kind: 'session' | 'api-token';
  /** SHA-256 hex of the token, as the store keeps it. */
  tokenHash: string;
  /** null: an API token without expiry. */
  expiresAt: number | null;
}

export type UserLogin = { ok: true; user: User; token?: SignedInWith } | LoginRefused;

/** A username and password that may be a device's password credential or a person's (MQTT). */
export type PasswordLogin =
  | ({ as: 'device' } & Extract<DeviceLogin, { ok: true }>)
  | ({ as: 'person' } & Extract<UserLogin, { ok: true }>)
  | LoginRefused;

/** What an authenticator app needs to enrol: the secret (base32) and the otpauth:// URL a QR code carries. */
export interface TotpEnrolment {
  secret: string;
  otpauthUrl: string;
}

export interface RegistryEvents {
  'device.created': [device: Device];
  'device.updated': [device: Device];
  /** Live connections of the device must be closed. */
  'device.deactivated': [device: Device];
  'device.activated': [device: Device];
  'device.deleted': [device: Device];
  /** Live connections authenticated with this credential must be closed. */
  'credential.revoked': [credential: Credential];
  /** The ACL of a device, or of a profile (and so of its devices) changed. */
  'acl.changed': [scope: { deviceId?: string; profileId?: string }];
  'user.changed': [user: User];
  'user.deleted': [user: User];
  /** A session ended (sign-out) or an API token was revoked: connections that signed in with it must be closed. */
  'token.ended': [token: { userId: string; tokenHash: string }];
  'tenant.ca.changed': [tenantId: string];
  /** Every audit entry, once stored (live views of the audit log). */
  'audit.appended': [entry: AuditEntry];
}

export interface RegistryService {
  createTenant(actor: Actor, input: NewTenant): Promise<Tenant>;
  listTenants(actor: Actor): Promise<Tenant[]>;
  getTenant(actor: Actor, id: string): Promise<Tenant>;
  updateTenant(actor: Actor, id: string, patch: Partial<Omit<NewTenant, 'id'>>): Promise<Tenant>;
  deleteTenant(actor: Actor, id: string): Promise<void>;

  createUser(actor: Actor, input: NewUser): Promise<User>;
  listUsers(actor: Actor, filter?: { tenantId?: string }): Promise<User[]>;
  getUser(actor: Actor, id: string): Promise<User>;
  updateUser(actor: Actor, id: string, patch: { role?: Role; active?: boolean }): Promise<User>;
  /** Own password (needs the current one) or, for an admin, anybody's in their scope. */
  setPassword(actor: Actor, userId: string, password: string, currentPassword?: string): Promise<void>;
  deleteUser(actor: Actor, id: string): Promise<void>;

  createProfile(actor: Actor, input: NewProfile): Promise<DeviceProfile>;
  listProfiles(actor: Actor, filter?: { tenantId?: string }): Promise<DeviceProfile[]>;
  getProfile(actor: Actor, id: string): Promise<DeviceProfile>;
  updateProfile(
    actor: Actor,
    id: string,
    patch: Partial<Omit<NewProfile, 'id' | 'tenantId'>>,
  ): Promise<DeviceProfile>;
  deleteProfile(actor: Actor, id: string): Promise<void>;

  createDevice(actor: Actor, input: NewDevice): Promise<Device>;
  listDevices(actor: Actor, query: DeviceQuery): Promise<Page<Device>>;
  getDevice(actor: Actor, id: string): Promise<Device>;
  updateDevice(actor: Actor, id: string, patch: DeviceUpdate): Promise<Device>;
  setDeviceActive(actor: Actor, id: string, active: boolean): Promise<Device>;
  deleteDevice(actor: Actor, id: string): Promise<void>;

  issueCredential(actor: Actor, deviceId: string, request: CredentialRequest): Promise<IssuedCredential>;
  listCredentials(actor: Actor, deviceId: string): Promise<Credential[]>;
  /** A new credential of the same kind (same username for passwords); the old one stays valid until revoked. */
  rotateCredential(actor: Actor, credentialId: string): Promise<IssuedCredential>;
  revokeCredential(actor: Actor, credentialId: string): Promise<Credential>;

  addTenantCa(actor: Actor, tenantId: string, certPem: string): Promise<TenantCa>;
  listTenantCas(actor: Actor, tenantId: string): Promise<TenantCa[]>;
  removeTenantCa(actor: Actor, tenantId: string, caId: string): Promise<void>;

  /** The secret token is returned once; only its hash is kept. */
  createApiToken(actor: Actor, request: ApiTokenRequest): Promise<{ token: string; record: ApiToken }>;
  listApiTokens(actor: Actor): Promise<ApiToken[]>;
  revokeApiToken(actor: Actor, id: string): Promise<void>;

  /** Starts (or restarts) the actor's own TOTP enrolment; inactive until confirmTotp. CONFLICT when it is on. */
  enrolTotp(actor: Actor): Promise<TotpEnrolment>;
  /** Turns the pending enrolment on with a first code (INVALID_INPUT on a wrong one). */
  confirmTotp(actor: Actor, code: string): Promise<void>;
  /** Turns the actor's own second factor off; needs a current code (counted toward lockout when wrong). */
  disableTotp(actor: Actor, code: string): Promise<void>;
  /** An admin removes another person's second factor (a lost phone); they sign in with the password alone. */
  resetTotp(actor: Actor, userId: string): Promise<void>;

  queryAudit(actor: Actor, query: AuditQuery): Promise<AuditEntry[]>;

  /**
   * Password login of a person (REST API, dashboard), with the code of their second
   * factor when they have one ('totp-required' without it). Lockout and audit included.
   */
  loginUser(username: string, password: string, ctx: LoginContext, totp?: string): Promise<UserLogin>;
  /**
   * An MQTT username and password: a device's password credential, else a person
   * (the dashboard's MQTT console). Both checks are one guess: at most one failure
   * is counted. A person's password may also be their session token, an API token or
   * an MQTT ticket (see issueMqttTicket), which is how people with a second factor
   * connect: with the password alone they are refused ('totp-required').
   */
  loginPassword(username: string, password: Buffer, ctx: LoginContext): Promise<PasswordLogin>;
  /** Creates a browser session for a logged-in user; returns the cookie value. */
  createSession(user: User, ctx: LoginContext): Promise<{ token: string; expiresAt: number }>;
  /** The actor behind a session cookie or an API token (Bearer), or undefined. */
  resolveBearer(token: string, address: string): Promise<Actor | undefined>;
  endSession(token: string): Promise<void>;
  /**
   * A short-lived MQTT password for the actor, standing for `token` (the session or API
   * token the actor presented): the dashboard's MQTT console cannot read its HttpOnly
   * cookie. The ticket works only while that token does. Audited.
   */
  issueMqttTicket(
    actor: Actor,
    token: string,
  ): Promise<{ username: string; password: string; expiresAt: number }>;

  /** Device login for MQTT and the line protocol. Lockout and audit included. */
  loginDevice(proof: DeviceProof, ctx: LoginContext): Promise<DeviceLogin>;
  /**
   * A device token presented on each HTTP request (telemetry ingest): like
   * loginDevice, lockout included, but only failures are audited.
   */
  authenticateDeviceToken(token: string, ctx: LoginContext): Promise<DeviceLogin>;
  /** Reads for the broker, without an actor (the broker is trusted). */
  deviceById(id: string): Promise<Device | undefined>;
  profileById(id: string): Promise<DeviceProfile | undefined>;
  tenantById(id: string): Promise<Tenant | undefined>;
  /** Presence writes last-seen in batches. */
  recordLastSeen(entries: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void>;
  /** For audit entries raised outside the registry (e.g. a quota or rate limit hit in the broker). */
  audit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;

  /** First start: creates the platform admin with a random password when no user exists; returns it once. */
  ensurePlatformAdmin(): Promise<{ username: string; password: string } | undefined>;
  /** `halyard admin reset-password`: a new random password for a platform admin, whose second factor is removed. */
  resetAdminPassword(username?: string): Promise<{ username: string; password: string }>;

  on<E extends keyof RegistryEvents>(event: E, listener: (...args: RegistryEvents[E]) => void): this;
  off<E extends keyof RegistryEvents>(event: E, listener: (...args: RegistryEvents[E]) => void): this;
}

export type { CredentialKind };
