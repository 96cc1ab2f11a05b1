/**
 * For the ThingSpeak API tests: the API on a real port over the real Registry
 * and ChannelService, with a fixed clock, a tenant, a user API key and one
 * channel with its keys.
 */
import type { AddressInfo } from 'node:net';
import { BrokerStats } from '../../broker/stats.js';
import type { TelemetryStore } from '../../telemetry/store.js';
import { silentLogger } from '../../core/logger.js';
import { SYSTEM_ACTOR, type Actor } from '../../registry/service.js';
import { buildHttpApp, type HttpApp } from '../../transport/http.js';
import { openTestRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import type { Channels } from '../channels.js';
import type { ChannelWithKeys } from '../service.js';
import type { ChannelStore } from '../store.js';
import { registerThingSpeakApi } from './api.js';
import { openTestChannels } from './test-channels.js';

export interface ThingSpeakHarness extends TestRegistry {
  app: HttpApp;
  channels: Channels;
  /** The channel store under `channels`. */
  channelStore: ChannelStore;
  /** The telemetry store the channel updates are mirrored into. */
  telemetry: TelemetryStore;
  base: string;
  port: number;
  clock: { now: number };
  actor: Actor;
  /** The user API key (a Halyard API token). */
  userKey: string;
  ch: ChannelWithKeys;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export const T0 = Date.parse('2024-05-01T12:00:00Z');

export async function openThingSpeakHarness(): Promise<ThingSpeakHarness> {
  const test = await openTestRegistry();
  const clock = { now: T0 };
  const opened = openTestChannels(test, () => clock.now);
  const app = buildHttpApp({ logger: silentLogger(), stats: new BrokerStats() });
  await registerThingSpeakApi(app, {
    channels: opened.channels,
    registry: test.registry,
    now: () => clock.now,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;

  const r = test.registry;
  await r.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'acme' });
  const user = await r.createUser(SYSTEM_ACTOR, {
    username: 'acme-admin',
    password: 'pw-acme-admin-0123',
    role: 'admin',
    tenantId: 'acme',
  });
  const actor: Actor = { type: 'user', id: user.id, name: user.username, tenantId: 'acme', role: 'admin' };
  const { token: userKey } = await r.createApiToken(actor, { name: 'thingspeak' });
  const ch = await opened.channels.createChannel(actor, {
    name: 'Weather',
    fields: { field1: 'temperature', field2: 'humidity' },
  });
  return {
    ...test,
    app,
    channels: opened.channels,
    channelStore: opened.store,
    telemetry: opened.telemetry,
    base,
    port,
    clock,
    actor,
    userKey,
    ch,
    fetch: (path, init) => fetch(base + path, init),
    close: async () => {
      await app.close();
      await opened.close();
      await test.close();
    },
  };
}
