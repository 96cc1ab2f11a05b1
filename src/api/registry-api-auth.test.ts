import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  expectStatus,
  login,
  openApiHarness,
  seedTenants,
  type ApiHarness,
  type Seed,
} from './api-test-support.js';

interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

describe('REST API: sign-in, sessions and cookies', () => {
  let h: ApiHarness;
  let seed: Seed;
  let base: string;
  before(async () => {
    h = await openApiHarness({ secureCookies: true });
    seed = await seedTenants(h);
    base = await h.listen();
  });
  after(() => h.close());

  it('login answers with a session token and the user, and sets a Secure, HttpOnly, SameSite=Strict cookie', async () => {
    const { username, password } = seed.acme.viewer;
    const res = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string; expiresAt: number; user: Record<string, unknown> };
    assert.equal(body.user.username, username);
    assert.equal(body.user.role, 'viewer');
    assert.equal(body.user.tenantId, 'acme');
    assert.ok(!('passwordHash' in body.user));
    assert.ok(body.expiresAt > Date.now());
    const cookies = res.headers.getSetCookie();
    assert.equal(cookies.length, 1);
    const [pair, ...attrs] = cookies[0].split(/; */);
    assert.equal(pair, `halyard_session=${body.token}`);
    const flags = new Set(attrs.map((a) => a.toLowerCase()));
    for (const flag of ['httponly', 'secure', 'samesite=strict', 'path=/']) assert.ok(flags.has(flag), flag);

    // The cookie alone authenticates a read over a real socket.
    const me = await fetch(`${base}/api/me`, { headers: { cookie: `halyard_session=${body.token}` } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { role: string }).role, 'viewer');
  });

  it('an unknown user and a wrong password get the same 401 body', async () => {
    const unknown = await h.call('POST', '/api/auth/login', {
      body: { username: 'nobody-here', password: 'whatever-123' },
      remoteAddress: '10.0.0.2',
    });
    const wrong = await h.call('POST', '/api/auth/login', {
      body: { username: seed.acme.admin.username, password: 'not-the-password' },
      remoteAddress: '10.0.0.2',
    });
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.equal(unknown.text, wrong.text);
    assert.equal(unknown.json<ErrorBody>().error, 'UNAUTHENTICATED');
    assert.equal(unknown.headers['set-cookie'], undefined);
  });

  it('repeated failures lock the identity out with 429 and Retry-After, even for the right password', async () => {
    const { username, password } = seed.acme.operator;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await h.call('POST', '/api/auth/login', {
        body: { username, password: `wrong-${i}-password` },
        remoteAddress: '10.0.0.3',
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.equal(statuses[5], 429);
    const locked = await h.call('POST', '/api/auth/login', {
      body: { username, password },
      remoteAddress: '10.0.0.4',
    });
    assert.equal(locked.status, 429);
    assert.equal(locked.json<ErrorBody>().error, 'LOCKED_OUT');
    const retryAfter = Number(locked.headers['retry-after']);
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 900,
      `Retry-After ${retryAfter}`,
    );
    // The session issued before the lock still works: lockout concerns sign-ins only.
    await expectStatus(h, 200, 'GET', '/api/me', { token: seed.acme.operator.token });
  });

  it('GET /api/me names the user, tenant and role for Bearer and cookie; 401 without either', async () => {
    const me = (await expectStatus(h, 200, 'GET', '/api/me', { token: seed.acme.admin.token })).json<{
      user: { id: string; username: string };
      tenantId: string | null;
      role: string;
    }>();
    assert.deepEqual(
      { id: me.user.id, username: me.user.username, tenantId: me.tenantId, role: me.role },
      { id: seed.acme.admin.id, username: 'acme-admin', tenantId: 'acme', role: 'admin' },
    );
    const platform = (await expectStatus(h, 200, 'GET', '/api/me', { cookie: seed.platform.token })).json<{
      tenantId: string | null;
    }>();
    assert.equal(platform.tenantId, null);

    const none = await expectStatus(h, 401, 'GET', '/api/me');
    assert.equal(none.json<ErrorBody>().error, 'UNAUTHENTICATED');
    await expectStatus(h, 401, 'GET', '/api/me', { token: 'hs_not-a-session' });
    await expectStatus(h, 401, 'GET', '/api/me', {
      headers: { authorization: `Basic ${seed.acme.admin.token}` },
    });
    // A stale cookie is cleared.
    const stale = await expectStatus(h, 401, 'GET', '/api/me', { cookie: 'hs_expired-or-made-up' });
    assert.match(String(stale.headers['set-cookie']), /^halyard_session=;.*Expires=Thu, 01 Jan 1970/);
  });

  it('cookie-authenticated writes need x-halyard-csrf: 1 and a matching Origin; Bearer writes need neither', async () => {
    const cookie = seed.acme.admin.token;
    const device = (id: string) => ({ body: { id } });

    const missing = await expectStatus(h, 403, 'POST', '/api/devices', { cookie, ...device('csrf-1') });
    assert.equal(missing.json<ErrorBody>().error, 'NOT_AUTHORIZED');
    assert.match(missing.json<ErrorBody>().message, /x-halyard-csrf/);
    await expectStatus(h, 403, 'POST', '/api/devices', {
      cookie,
      headers: { 'x-halyard-csrf': 'yes' },
      ...device('csrf-2'),
    });
    const foreign = await expectStatus(h, 403, 'POST', '/api/devices', {
      cookie,
      headers: { 'x-halyard-csrf': '1', origin: 'https://evil.example', host: 'halyard.example:8080' },
      ...device('csrf-3'),
    });
    assert.match(foreign.json<ErrorBody>().message, /Origin/);
    await expectStatus(h, 403, 'DELETE', '/api/devices/csrf-4', { cookie });
    // None of the refused requests reached the registry.
    await expectStatus(h, 404, 'GET', '/api/devices/csrf-1', { cookie });

    await expectStatus(h, 201, 'POST', '/api/devices', {
      cookie,
      headers: {
        'x-halyard-csrf': '1',
        origin: 'https://halyard.example:8080',
        host: 'halyard.example:8080',
      },
      ...device('csrf-ok-origin'),
    });
    await expectStatus(h, 201, 'POST', '/api/devices', {
      cookie,
      headers: { 'x-halyard-csrf': '1' },
      ...device('csrf-ok-no-origin'),
    });
    await expectStatus(h, 201, 'POST', '/api/devices', { token: cookie, ...device('csrf-bearer') });
    await expectStatus(h, 200, 'GET', '/api/devices/csrf-bearer', { cookie });
  });

  it('the same CSRF rule holds over a real socket, where fetch sets Host and Origin', async () => {
    const cookie = `halyard_session=${seed.acme.admin.token}`;
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/api/devices`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        body: JSON.stringify({}),
      });
    assert.equal((await post({})).status, 403);
    assert.equal((await post({ 'x-halyard-csrf': '1', origin: 'http://attacker.test' })).status, 403);
    assert.equal((await post({ 'x-halyard-csrf': '1', origin: base })).status, 201);
  });

  it('logout ends the session and clears the cookie; the old token is refused afterwards', async () => {
    const token = await login(h, seed.acme.viewer.username, seed.acme.viewer.password);
    await expectStatus(h, 403, 'POST', '/api/auth/logout', { cookie: token });
    await expectStatus(h, 200, 'GET', '/api/me', { cookie: token });

    const out = await expectStatus(h, 204, 'POST', '/api/auth/logout', {
      cookie: token,
      headers: { 'x-halyard-csrf': '1' },
    });
    assert.equal(out.text, '');
    assert.match(String(out.headers['set-cookie']), /^halyard_session=;.*Expires=Thu, 01 Jan 1970.*HttpOnly/);
    await expectStatus(h, 401, 'GET', '/api/me', { cookie: token });

    const bearer = await login(h, seed.acme.viewer.username, seed.acme.viewer.password);
    await expectStatus(h, 204, 'POST', '/api/auth/logout', { token: bearer });
    await expectStatus(h, 401, 'GET', '/api/me', { token: bearer });
    // Signing out twice is harmless.
    await expectStatus(h, 204, 'POST', '/api/auth/logout', { token: bearer });
  });

  it('API tokens: shown once, usable as Bearer, listed without secrets, refused once revoked', async () => {
    const owner = seed.acme.viewer;
    const created = await expectStatus(h, 201, 'POST', '/api/tokens', {
      token: owner.token,
      body: { name: 'ci script', expiresInDays: 30 },
    });
    const { token, record } = created.json<{ token: string; record: Record<string, unknown> }>();
    assert.match(token, /^hu_/);
    assert.equal(record.name, 'ci script');
    assert.equal(record.userId, owner.id);
    assert.ok(!('tokenHash' in record));

    const me = (await expectStatus(h, 200, 'GET', '/api/me', { token })).json<{ role: string }>();
    assert.equal(me.role, 'viewer');
    // An API token of a viewer is still a viewer.
    await expectStatus(h, 403, 'POST', '/api/devices', { token, body: { id: 'by-token' } });

    const list = await expectStatus(h, 200, 'GET', '/api/tokens', { token: owner.token });
    assert.ok(!list.text.includes(token));
    assert.ok(!list.text.includes('tokenHash'));
    assert.deepEqual(
      list.json<Array<{ id: string }>>().map((t) => t.id),
      [record.id],
    );
    // Another user does not see it and cannot revoke it.
    assert.deepEqual(
      (await expectStatus(h, 200, 'GET', '/api/tokens', { token: seed.acme.admin.token })).json(),
      [],
    );
    await expectStatus(h, 404, 'DELETE', `/api/tokens/${String(record.id)}`, {
      token: seed.acme.admin.token,
    });

    await expectStatus(h, 204, 'DELETE', `/api/tokens/${String(record.id)}`, { token: owner.token });
    await expectStatus(h, 401, 'GET', '/api/me', { token });
    const revoked = (await expectStatus(h, 200, 'GET', '/api/tokens', { token: owner.token })).json<
      Array<{ revokedAt: number | null }>
    >();
    assert.ok(revoked[0].revokedAt !== null);
  });
});

describe('REST API: request errors', () => {
  let h: ApiHarness;
  let token: string;
  before(async () => {
    h = await openApiHarness();
    token = (await seedTenants(h)).acme.admin.token;
  });
  after(() => h.close());

  it('a cookie is not Secure when the app is served over plain HTTP', async () => {
    const admin = await h.registry.resetAdminPassword();
    const res = await expectStatus(h, 200, 'POST', '/api/auth/login', { body: admin });
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.doesNotMatch(cookie, /Secure/);
  });

  it('validation errors are 400 INVALID_INPUT naming the field', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/api/tenants', { name: 42 }, 'body.name'],
      ['POST', '/api/devices', { id: 'bad id!' }, 'body.id'],
      ['POST', '/api/devices', { tags: ['ok', 7] }, 'body.tags[1]'],
      ['POST', '/api/devices', { acl: [{ action: 'publish', topic: 'a/#/b' }] }, 'body.acl[0].topic'],
      ['POST', '/api/devices', { nmae: 'typo' }, 'body.nmae'],
      ['POST', '/api/devices/x/credentials', { kind: 'telepathy' }, 'body.kind'],
      ['POST', '/api/devices/x/credentials', { kind: 'password' }, 'body.username'],
      ['PUT', '/api/devices/x/acl', { rules: [{ action: 'read', topic: 'a' }] }, 'body.rules[0].action'],
      ['POST', '/api/auth/login', { username: 'a' }, 'body.password'],
    ];
    for (const [method, url, body, field] of cases) {
      const res = await h.call(method, url, { token, body });
      assert.equal(res.status, 400, `${method} ${url} ${JSON.stringify(body)}: ${res.text}`);
      const err = res.json<ErrorBody>();
      assert.equal(err.error, 'INVALID_INPUT');
      assert.equal(err.field, field, res.text);
      assert.ok(err.message.startsWith(`${field}:`), err.message);
    }
    const query = await expectStatus(h, 400, 'GET', '/api/devices?limit=0', { token });
    assert.equal(query.json<ErrorBody>().field, 'query.limit');
    const active = await expectStatus(h, 400, 'GET', '/api/devices?active=maybe', { token });
    assert.equal(active.json<ErrorBody>().field, 'query.active');
  });

  it("the registry's own checks come back as 400 with their field", async () => {
    const res = await expectStatus(h, 400, 'POST', '/api/users', {
      token,
      body: { username: 'has space', password: 'long-enough-1', role: 'viewer' },
    });
    assert.equal(res.json<ErrorBody>().field, 'username');
  });

  it('a malformed JSON body is a 400 that says so; an empty one is no body', async () => {
    const res = await expectStatus(h, 400, 'POST', '/api/devices', { token, raw: '{"id": "d1",' });
    const err = res.json<ErrorBody>();
    assert.equal(err.error, 'INVALID_INPUT');
    assert.equal(err.field, 'body');
    assert.match(err.message, /not valid JSON/);

    await expectStatus(h, 201, 'POST', '/api/devices', { token, body: { id: 'empty-body' } });
    const activated = await expectStatus(h, 200, 'POST', '/api/devices/empty-body/activate', {
      token,
      raw: '',
    });
    assert.equal(activated.json<{ active: boolean }>().active, true);
    const missing = await expectStatus(h, 400, 'POST', '/api/devices', { token, raw: '' });
    assert.equal(missing.json<ErrorBody>().field, 'body');
  });

  it('__proto__ in a body is refused, not merged', async () => {
    const res = await expectStatus(h, 400, 'POST', '/api/devices', {
      token,
      raw: '{"id":"proto","__proto__":{"active":false}}',
    });
    assert.equal(res.json<ErrorBody>().error, 'INVALID_INPUT');
  });

  it('a body that is not JSON is refused with 415 in the same error shape', async () => {
    const res = await expectStatus(h, 415, 'POST', '/api/devices', {
      token,
      raw: '<device id="x"/>',
      headers: { 'content-type': 'application/xml' },
    });
    assert.equal(res.json<ErrorBody>().error, 'INVALID_INPUT');
  });

  it('unknown routes under /api are JSON 404s; /healthz and /metrics are untouched', async () => {
    const res = await expectStatus(h, 404, 'GET', '/api/nothing-here?x=secret', { token });
    assert.deepEqual(res.json(), { error: 'NOT_FOUND', message: 'no route GET /api/nothing-here' });
    const health = await expectStatus(h, 200, 'GET', '/healthz');
    assert.deepEqual(health.json(), { status: 'ok' });
    const metrics = await expectStatus(h, 200, 'GET', '/metrics');
    assert.match(metrics.text, /halyard_clients_connected/);
  });
});

describe('REST API: unexpected failures', () => {
  it('answer 500 INTERNAL without any detail of the cause', async () => {
    const h = await openApiHarness();
    const admin = await h.registry.ensurePlatformAdmin();
    assert.ok(admin);
    const token = await login(h, admin.username, admin.password);
    await h.store.close(); // every registry call now fails inside the store
    const res = await h.call('GET', '/api/devices', { token });
    await h.app.close();
    assert.equal(res.status, 500);
    assert.deepEqual(res.json(), { error: 'INTERNAL', message: 'internal error' });
    // The cause goes to the log instead, with the request it broke.
    const line = h.logs.find((l) => l.includes('API request failed'));
    assert.ok(line, h.logs.join(''));
    assert.match(line, /"code":"STORE_FAILURE"/);
    assert.match(line, /"url":"\/api\/devices"/);
    assert.ok(!line.includes(token), 'the bearer token is not logged');
  });
});
