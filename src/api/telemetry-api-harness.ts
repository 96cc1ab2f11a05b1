/**
 * For the telemetry API tests: the real HTTP app on a real port, the real
 * Registry and a real SQLite telemetry store, an ingest that writes straight
 * to the store (or refuses, to test back-pressure), and a seeded tenant pair.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BrokerStats } from '../broker/stats.js';
import { HalyardError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { SYSTEM_ACTOR, type Actor } from '../registry/service.js';
import type { DataPoint } from '../telemetry/model.js';
import { SqliteTelemetryStore } from '../telemetry/sqlite/telemetry-store.js';
import type { TelemetryStore } from '../telemetry/store.js';
import { buildHttpApp, type HttpApp } from '../transport/http.js';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { registerRegistryApi } from './registry-api.js';
import { telemetryApi } from './telemetry-api.js';

/** Writes to the store; `busy` makes it refuse like a TelemetryIngest whose backlog is full. */
export class DirectIngest {
  busy = false;
  accepted = 0;
  constructor(private readonly store: TelemetryStore) {}
  async accept(points: DataPoint[]): Promise<void> {
    if (this.busy)
      throw new HalyardError('QUOTA_EXCEEDED', 'telemetry storage is behind', { retryAfterMs: 2500 });
    await this.store.write(points);
    this.accepted += points.length;
  }
}

export interface TelemetryHarness extends TestRegistry {
  app: HttpApp;
  telemetry: TelemetryStore;
  ingest: DirectIngest;
  base: string;
  clock: { now: number };
  /** Session tokens (Bearer) of acme's viewer and globex's admin. */
  acmeViewer: string;
  globexAdmin: string;
  acmeOperator: Actor;
  /** A device of acme and its token. */
  deviceId: string;
  deviceToken: string;
  fetch(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  close(): Promise<void>;
}

export const MAX_SKEW_MS = 60_000;

export async function openTelemetryHarness(): Promise<TelemetryHarness> {
  const test = await openTestRegistry();
  const telemetry = SqliteTelemetryStore.open(join(tempDir('halyard-telemetry-'), 'telemetry.db'));
  const ingest = new DirectIngest(telemetry);
  const clock = { now: Date.parse('2024-05-01T12:00:00Z') };
  const app = buildHttpApp({ logger: silentLogger(), stats: new BrokerStats() });
  await registerRegistryApi(app, {
    registry: test.registry,
    presence: { isOnline: () => false },
    secureCookies: false,
    extensions: [
      telemetryApi({
        registry: test.registry,
        ingest,
        store: telemetry,
        maxSkewMs: MAX_SKEW_MS,
        now: () => clock.now,
      }),
    ],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const r = test.registry;
  for (const id of ['acme', 'globex']) await r.createTenant(SYSTEM_ACTOR, { id, name: id });
  const session = async (tenantId: string, role: 'admin' | 'operator' | 'viewer') => {
    const user = await r.createUser(SYSTEM_ACTOR, {
      username: `${tenantId}-${role}`,
      password: `pw-${tenantId}-${role}-0123`,
      role,
      tenantId,
    });
    return (await r.createSession(user, { address: '127.0.0.1', via: 'test' })).token;
  };
  const acmeOperator: Actor = { type: 'user', id: 'u-op', name: 'op', tenantId: 'acme', role: 'operator' };
  const device = await r.createDevice(acmeOperator, { id: 'sensor-1' });
  const issued = await r.issueCredential(acmeOperator, device.id, { kind: 'token' });

  return {
    ...test,
    app,
    telemetry,
    ingest,
    base,
    clock,
    acmeViewer: await session('acme', 'viewer'),
    globexAdmin: await session('globex', 'admin'),
    acmeOperator,
    deviceId: device.id,
    deviceToken: issued.secret!,
    fetch: (path, init = {}) => {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
      return fetch(base + path, { ...rest, headers });
    },
    close: async () => {
      await app.close();
      await telemetry.close();
      await test.close();
    },
  };
}
