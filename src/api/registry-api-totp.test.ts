import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCode, totpSecretFromBase32 } from '../registry/totp.js';
import {
  expectStatus,
  openApiHarness,
  seedTenants,
  type ApiHarness,
  type Seed,
  type SeededUser,
} from './api-test-support.js';

interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

interface Enrolment {
  secret: string;
  otpauthUrl: string;
  qrSvg: string;
}

const STEP_MS = 30_000;

describe('REST API: TOTP second factor', () => {
  let h: ApiHarness;
  let seed: Seed;
  let clock = Date.now();
  /** Every secret handed out, to check that no other answer or log line shows it. */
  const secrets: string[] = [];
  let addresses = 0;

  before(async () => {
    h = await openApiHarness({ now: () => clock });
    seed = await seedTenants(h);
  });
  after(() => h.close());

  const signIn = (who: SeededUser, extra: { totp?: string; password?: string } = {}) =>
    h.call('POST', '/api/auth/login', {
      body: { username: who.username, password: extra.password ?? who.password, totp: extra.totp },
      remoteAddress: `10.9.0.${++addresses}`,
    });
  const me = async (who: SeededUser) =>
    (await expectStatus(h, 200, 'GET', '/api/me', { token: who.token })).json<{
      user: { totpEnabled: boolean };
    }>().user;
  /** Enrols and confirms `who`; the key as their authenticator app holds it. */
  const turnOn = async (who: SeededUser): Promise<Buffer> => {
    const enrolment = (
      await expectStatus(h, 200, 'POST', '/api/me/totp', { token: who.token })
    ).json<Enrolment>();
    secrets.push(enrolment.secret);
    const key = totpSecretFromBase32(enrolment.secret);
    await expectStatus(h, 204, 'POST', '/api/me/totp/confirm', {
      token: who.token,
      body: { code: totpCode(key, clock) },
    });
    return key;
  };

  it('enrol → confirm → sign-in asks for the code → a code signs in once', async () => {
    const viewer = seed.acme.viewer;
    assert.equal((await me(viewer)).totpEnabled, false);
    const res = await expectStatus(h, 200, 'POST', '/api/me/totp', { token: viewer.token });
    const enrolment = res.json<Enrolment>();
    secrets.push(enrolment.secret);
    assert.match(enrolment.secret, /^[A-Z2-7]{32}$/);
    assert.match(enrolment.otpauthUrl, /^otpauth:\/\/totp\/Halyard:acme-viewer\?/);
    assert.ok(enrolment.otpauthUrl.includes(`secret=${enrolment.secret}`));
    assert.match(enrolment.qrSvg, /^<svg[^>]*>[\s\S]*<\/svg>\s*$/);
    assert.equal((await me(viewer)).totpEnabled, false, 'pending until confirmed');
    assert.equal((await signIn(viewer)).status, 200, 'a pending enrolment asks for nothing');

    const key = totpSecretFromBase32(enrolment.secret);
    const wrong = await expectStatus(h, 400, 'POST', '/api/me/totp/confirm', {
      token: viewer.token,
      body: { code: '000000' },
    });
    assert.deepEqual(
      [wrong.json<ErrorBody>().error, wrong.json<ErrorBody>().field],
      ['INVALID_INPUT', 'code'],
    );
    const confirming = totpCode(key, clock);
    await expectStatus(h, 204, 'POST', '/api/me/totp/confirm', {
      token: viewer.token,
      body: { code: confirming },
    });
    assert.equal((await me(viewer)).totpEnabled, true);
    const listed = await expectStatus(h, 200, 'GET', `/api/users/${viewer.id}`, {
      token: seed.acme.admin.token,
    });
    assert.equal(listed.json<{ totpEnabled: boolean }>().totpEnabled, true);
    await expectStatus(h, 409, 'POST', '/api/me/totp', { token: viewer.token });

    const required = await signIn(viewer);
    assert.equal(required.status, 401);
    assert.equal(required.json<ErrorBody>().error, 'TOTP_REQUIRED');
    assert.equal(required.headers['set-cookie'], undefined);
    const badPassword = await signIn(viewer, { password: 'not-the-password', totp: totpCode(key, clock) });
    assert.equal(badPassword.json<ErrorBody>().error, 'UNAUTHENTICATED');
    const replayed = await signIn(viewer, { totp: confirming });
    assert.equal(replayed.status, 401, 'the confirming code is spent');
    assert.equal(replayed.json<ErrorBody>().error, 'UNAUTHENTICATED');

    clock += STEP_MS;
    const code = totpCode(key, clock);
    const ok = await signIn(viewer, { totp: code });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json<{ user: { totpEnabled: boolean } }>().user.totpEnabled, true);
    assert.equal((await signIn(viewer, { totp: code })).status, 401, 'no replay within the window');
  });

  it('wrong codes count toward the lockout exactly like wrong passwords', async () => {
    const operator = seed.acme.operator;
    const key = await turnOn(operator);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await signIn(operator, { totp: `00000${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
    clock += STEP_MS;
    const locked = await signIn(operator, { totp: totpCode(key, clock) });
    assert.equal(locked.status, 429);
    assert.equal(locked.json<ErrorBody>().error, 'LOCKED_OUT');
  });

  it('turning it off needs a current code, over a session with the CSRF header', async () => {
    const admin = seed.globex.admin;
    const key = await turnOn(admin);
    const wrong = await expectStatus(h, 400, 'DELETE', '/api/me/totp', {
      token: admin.token,
      body: { code: '123456' },
    });
    assert.deepEqual(
      [wrong.json<ErrorBody>().error, wrong.json<ErrorBody>().field],
      ['BAD_CREDENTIALS', 'code'],
    );
    clock += STEP_MS;
    const body = { code: totpCode(key, clock) };
    await expectStatus(h, 403, 'DELETE', '/api/me/totp', { cookie: admin.token, body });
    await expectStatus(h, 204, 'DELETE', '/api/me/totp', {
      cookie: admin.token,
      headers: { 'x-halyard-csrf': '1' },
      body,
    });
    assert.equal((await me(admin)).totpEnabled, false);
    assert.equal((await signIn(admin)).status, 200);
    await expectStatus(h, 409, 'DELETE', '/api/me/totp', { token: admin.token, body });
    await expectStatus(h, 400, 'DELETE', '/api/me/totp', { token: admin.token });
  });

  it('an admin resets a user who lost their phone; a viewer cannot, nor another tenant', async () => {
    const { admin, viewer } = seed.acme;
    assert.equal((await me(viewer)).totpEnabled, true, 'turned on by the first test');
    await expectStatus(h, 403, 'DELETE', `/api/users/${admin.id}/totp`, { token: viewer.token });
    await expectStatus(h, 404, 'DELETE', `/api/users/${viewer.id}/totp`, { token: seed.globex.admin.token });
    await expectStatus(h, 403, 'DELETE', `/api/users/${admin.id}/totp`, { token: admin.token });
    assert.equal((await me(viewer)).totpEnabled, true);

    await expectStatus(h, 204, 'DELETE', `/api/users/${viewer.id}/totp`, { token: admin.token });
    assert.equal((await me(viewer)).totpEnabled, false);
    assert.equal((await signIn(viewer)).status, 200, 'the password alone signs in again');
    await expectStatus(h, 204, 'DELETE', `/api/users/${viewer.id}/totp`, { token: seed.platform.token });

    const audit = await expectStatus(h, 200, 'GET', '/api/audit?action=user.totp.', { token: admin.token });
    const entries = audit.json<Array<{ action: string; actor: string; outcome: string; target: string }>>();
    const seen = entries.map((e) => `${e.action} ${e.actor} ${e.outcome}`);
    for (const expected of [
      'user.totp.enrol acme-viewer success',
      'user.totp.confirm acme-viewer success',
      'user.totp.reset acme-viewer failure',
      'user.totp.reset acme-admin failure',
      'user.totp.reset acme-admin success',
    ]) {
      assert.ok(seen.includes(expected), `${expected} in ${seen.join('; ')}`);
    }
  });

  it('shows each secret in its enrolment answer only, never in a log line, sealed at rest', async () => {
    assert.ok(secrets.length >= 3);
    const sealed = (await h.store.listUsers()).map((u) => h.store.getUserTotp(u.id));
    const stored = (await Promise.all(sealed)).flatMap((t) => (t ? [t.secret] : []));
    assert.ok(stored.length >= 1);
    for (const secret of secrets) {
      const showing = h.responses.filter((r) => r.text.includes(secret));
      assert.equal(showing.length, 1, 'one answer shows the secret');
      assert.equal(`${showing[0].method} ${showing[0].url} ${showing[0].status}`, 'POST /api/me/totp 200');
      assert.ok(!h.logs.some((line) => line.includes(secret)), 'never logged');
      assert.ok(!stored.some((s) => s.includes(secret)), 'never stored in clear');
    }
    for (const value of stored) assert.ok(!h.responses.some((r) => r.text.includes(value)));
  });
});
