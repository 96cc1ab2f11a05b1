import { startHalyard, type RunningHalyard } from '../../src/app.js';
import { configSchema, type Config } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Device } from '../../src/registry/model.js';
import { SYSTEM_ACTOR, type Actor, type IssuedCredential } from '../../src/registry/service.js';
import { tempDir } from './temp-dir.js';

/**
 * The whole platform in this process (registry on SQLite, or PostgreSQL when
 * `databaseUrl` is given), on ephemeral loopback ports: MQTT, MQTT over TLS
 * (client certificates requested) and HTTP with the REST API.
 */
export interface TestPlatform {
  app: RunningHalyard;
  config: Config;
  mqttUrl: string;
  mqttsPort: number;
  httpUrl: string;
  /** PEM of Halyard's CA, for TLS clients. */
  caPem: string;
  /** The platform admin's password, as printed on first start. */
  adminPassword: string;
  stop(): Promise<void>;
}

export async function startTestPlatform(
  overrides: {
    security?: Record<string, unknown>;
    users?: unknown[];
    databaseUrl?: string;
    /** Reuse a data dir (a restart); a fresh temp dir otherwise. */
    dataDir?: string;
    /** More listeners, or changed ones (e.g. `{ line: { enabled: true, host: '127.0.0.1', port: 0 } }`). */
    listeners?: Record<string, unknown>;
    /** The built dashboard to serve; default dist/web of the package. */
    webRoot?: string;
  } = {},
): Promise<TestPlatform> {
  const dataDir = overrides.dataDir ?? tempDir('halyard-platform-');
  const local = { host: '127.0.0.1', port: 0 };
  const config = configSchema.parse({
    dataDir,
    log: { level: 'silent' },
    listeners: {
      mqtt: local,
      mqtts: local,
      http: local,
      https: { ...local, enabled: false },
      line: { enabled: false },
      lines: { enabled: false },
      ...overrides.listeners,
    },
    broker: { sysInterval: 0 },
    store: { synchronous: 'normal' },
    database: { url: overrides.databaseUrl },
    // Tests open many connections from 127.0.0.1; the suites that test the rate limit set their own.
    security: { connectRate: { perAddressPerSecond: 0 }, ...overrides.security },
    users: overrides.users ?? [],
  });
  const app = await startHalyard(config, { logger: silentLogger(), webRoot: overrides.webRoot });
  const { mqtt, mqtts, http } = app.addresses;
  if (!mqtt || !mqtts || !http || !app.listeners.tls?.ca) throw new Error('test platform listeners missing');
  return {
    app,
    config,
    mqttUrl: `mqtt://127.0.0.1:${mqtt.port}`,
    mqttsPort: mqtts.port,
    httpUrl: `http://127.0.0.1:${http.port}`,
    caPem: app.listeners.tls.ca,
    adminPassword: app.initialAdmin?.password ?? '',
    stop: () => app.stop(),
  };
}

/** A tenant admin of a new tenant, as an Actor for registry calls. */
export async function createTenantAdmin(
  platform: TestPlatform,
  tenantId: string,
): Promise<{ actor: Actor; username: string; password: string }> {
  const registry = platform.app.registry;
  await registry.createTenant(SYSTEM_ACTOR, { id: tenantId, name: `Tenant ${tenantId}` });
  const username = `${tenantId}-admin`;
  const password = `${tenantId}-password-123`;
  const user = await registry.createUser(SYSTEM_ACTOR, { username, password, role: 'admin', tenantId });
  const actor: Actor = { type: 'user', id: user.id, name: username, tenantId, role: 'admin' };
  return { actor, username, password };
}

/** A device with an access token: connect with the token as MQTT username. */
export async function createTokenDevice(
  platform: TestPlatform,
  actor: Actor,
  input: { id: string; acl?: Device['acl'] },
): Promise<{ device: Device; token: string; issued: IssuedCredential }> {
  const registry = platform.app.registry;
  const device = await registry.createDevice(actor, { id: input.id, acl: input.acl });
  const issued = await registry.issueCredential(actor, device.id, { kind: 'token' });
  if (!issued.secret) throw new Error('token credential without a secret');
  return { device, token: issued.secret, issued };
}
