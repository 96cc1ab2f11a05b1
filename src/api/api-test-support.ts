/**
 * Helpers for the REST API tests: the real HTTP app with the real Registry on
 * SQLite (test/helpers/registry.ts), a recorded log of every response (for the
 * secret scan) and a seeded pair of tenants with one user per role.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
  /** Log lines of the app (warnings and errors). */
  logs: string[];
  /** Every route the app registered (HEAD routes included), as `METHOD /url`. */
  routes: string[];
  call(method: string, url: string, opts?: CallOptions): Promise<ApiResponse>;
  /** Listens on 127.0.0.1:0 (real sockets) and returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function openApiHarness(
  opts: { secureCookies?: boolean; now?: () => number } = {},
): Promise<ApiHarness> {
  const test = await openTestRegistry(opts.now ? { now: opts.now } : {});
  // Kept, not printed: buildHttpApp logs warnings and errors, and some tests provoke them.
  const logs: string[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      logs.push(chunk.toString());
      done();
    },
  });
  const app = buildHttpApp({ logger: pino({ level: 'warn' }, sink), stats: new BrokerStats() });
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
    logs,
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

/** A secret handed out once; `response` is the index (in h.responses) of the one answer allowed to show it, -1 for none. */
export interface IssuedSecret {
  value: string;
  response: number;
  what: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Scans every response so far: no password hash, token hash (API, device, session) or
 * stored credential secret, ever; each issued secret only in the answer that issued it;
 * a `secret` field only in the 201 of issuing or rotating a credential. Returns the
 * number of forbidden values checked.
 */
export async function assertNoSecretLeaked(
  h: ApiHarness,
  seed: Seed,
  issued: readonly IssuedSecret[],
): Promise<number> {
  const forbidden = new Map<string, string>();
  for (const user of await h.store.listUsers()) {
    forbidden.set(user.passwordHash, `password hash of ${user.username}`);
    for (const t of await h.store.listApiTokens(user.id))
      forbidden.set(t.tokenHash, `hash of API token ${t.id}`);
  }
  for (const device of (await h.store.listDevices({ limit: 1000 })).items) {
    for (const c of await h.store.listCredentials(device.id)) {
      if (c.secret !== null) forbidden.set(c.secret, `stored secret of ${c.kind} credential ${c.id}`);
      if (c.kind === 'token') forbidden.set(c.lookup, `hash of device token ${c.id}`);
    }
  }
  for (const user of [
    seed.platform,
    seed.acme.admin,
    seed.acme.operator,
    seed.acme.viewer,
    seed.globex.admin,
  ]) {
    forbidden.set(sha256(user.token), `session token hash of ${user.username}`);
  }
  h.responses.forEach((res, index) => {
    const where = `${res.method} ${res.url} (${res.status})`;
    assert.doesNotMatch(res.text, /passwordHash|tokenHash/, where);
    for (const [value, what] of forbidden) assert.ok(!res.text.includes(value), `${what} in ${where}`);
    for (const secret of issued) {
      if (index !== secret.response)
        assert.ok(!res.text.includes(secret.value), `${secret.what} again in ${where}`);
    }
    if (/"secret":/.test(res.text)) {
      assert.match(res.url, /\/credentials(\/[^/]+\/rotate)?$/, `a secret field in ${where}`);
      assert.equal(res.status, 201, where);
    }
  });
  return forbidden.size;
}
