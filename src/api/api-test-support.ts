/**
 * Helpers for the REST API tests: the real HTTP app with the real Registry on
 * SQLite (test/helpers/registry.ts), a recorded log of every response (for the
 * secret scan) and a seeded pair of tenants with one user per role.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { BrokerStats } from '../broker/stats.js';
import { buildHttpApp, type HttpApp } from '../transport/http.js';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { registerRegistryApi } from './registry-api.js';

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  json<T>(): T;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as the session cookie. */
  cookie?: string;
  body?: unknown;
  /** A raw body, sent as application/json as it is. */
  raw?: string;
  headers?: Record<string, string>;
  /** The client's address as the server sees it (lockout is per address too). */
  remoteAddress?: string;
}

export interface RecordedResponse {
  method: string;
  url: string;
  status: number;
  text: string;
}

export interface ApiHarness extends TestRegistry {
  app: HttpApp;
  /** Device ids the presence stub reports online. */
  online: Set<string>;
  /** Every response so far, in order. */
  responses: RecordedResponse[];
  /** Every route the app registered (HEAD routes included), as `METHOD /url`. */
  routes: string[];
  call(method: string, url: string, opts?: CallOptions): Promise<ApiResponse>;
  /** Listens on 127.0.0.1:0 (real sockets) and returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function openApiHarness(opts: { secureCookies?: boolean } = {}): Promise<ApiHarness> {
  const test = await openTestRegistry();
  // buildHttpApp raises its logger to 'warn'; the 500 test's error line would land in the test output.
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const app = buildHttpApp({ logger: pino({ level: 'silent' }, discard), stats: new BrokerStats() });
  const online = new Set<string>();
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push(`${method} ${route.url}`);
  });
  await registerRegistryApi(app, {
    registry: test.registry,
    presence: { isOnline: (id) => online.has(id) },
    secureCookies: opts.secureCookies ?? false,
  });
  await app.ready();
  const responses: RecordedResponse[] = [];

  const call = async (method: string, url: string, o: CallOptions = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    if (o.cookie !== undefined) headers.cookie = `halyard_session=${o.cookie}`;
    let payload: string | undefined;
    if (o.raw !== undefined || o.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = o.raw ?? JSON.stringify(o.body);
    }
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers,
      payload,
      remoteAddress: o.remoteAddress,
    });
    responses.push({ method, url, status: res.statusCode, text: res.body });
    return {
      status: res.statusCode,
      headers: res.headers,
      text: res.body,
      json: <T>() => JSON.parse(res.body) as T,
    };
  };

  return {
    ...test,
    app,
    online,
    responses,
    routes,
    call,
    listen: async () => {
      await app.listen({ host: '127.0.0.1', port: 0 });
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
    close: async () => {
      await app.close();
      await test.close();
    },
  };
}

/** Calls and asserts the status, with the body in the failure message. */
export async function expectStatus(
  h: ApiHarness,
  status: number,
  method: string,
  url: string,
  opts?: CallOptions,
): Promise<ApiResponse> {
  const res = await h.call(method, url, opts);
  assert.equal(res.status, status, `${method} ${url} → ${res.status} ${res.text}`);
  return res;
}

export interface SeededUser {
  id: string;
  username: string;
  password: string;
  /** A session token, used as a Bearer token. */
  token: string;
}

export interface Seed {
  platform: SeededUser;
  acme: { admin: SeededUser; operator: SeededUser; viewer: SeededUser };
  globex: { admin: SeededUser };
}

export async function login(h: ApiHarness, username: string, password: string): Promise<string> {
  const res = await expectStatus(h, 200, 'POST', '/api/auth/login', { body: { username, password } });
  return res.json<{ token: string }>().token;
}

/** Tenants `acme` and `globex`, an admin, operator and viewer in acme and an admin in globex, all signed in. */
export async function seedTenants(h: ApiHarness): Promise<Seed> {
  const first = await h.registry.ensurePlatformAdmin();
  assert.ok(first, 'a fresh registry creates the platform admin');
  const platformToken = await login(h, first.username, first.password);
  const me = (await expectStatus(h, 200, 'GET', '/api/me', { token: platformToken })).json<{
    user: { id: string };
  }>();
  const platform = { id: me.user.id, ...first, token: platformToken };

  for (const id of ['acme', 'globex']) {
    await expectStatus(h, 201, 'POST', '/api/tenants', { token: platformToken, body: { id, name: id } });
  }
  const user = async (tenantId: string, role: string): Promise<SeededUser> => {
    const username = `${tenantId}-${role}`;
    const password = `pw-${username}-0123`;
    const res = await expectStatus(h, 201, 'POST', '/api/users', {
      token: platformToken,
      body: { username, password, role, tenantId },
    });
    return {
      id: res.json<{ id: string }>().id,
      username,
      password,
      token: await login(h, username, password),
    };
  };
  return {
    platform,
    acme: {
      admin: await user('acme', 'admin'),
      operator: await user('acme', 'operator'),
      viewer: await user('acme', 'viewer'),
    },
    globex: { admin: await user('globex', 'admin') },
  };
}
