import assert from 'node:assert/strict';
import { createHmac, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { SYSTEM_ACTOR, type Actor, type IssuedCredential } from './service.js';

/**
 * Everything secret the registry hands out or is handed goes through one
 * scenario; afterwards no audit entry may contain any of it.
 */
describe('audit log and secrets', () => {
  let t: TestRegistry;
  const secrets: string[] = [];
  const keep = (value: string | undefined) => {
    assert.ok(value && value.length >= 8, 'a secret to look for');
    secrets.push(value);
  };
  const admin: Actor = {
    type: 'user',
    id: 'u-a',
    name: 'alice',
    tenantId: 'acme',
    role: 'admin',
    address: '::1',
  };
  const ctx = { address: '192.0.2.1', via: 'mqtts' };

  before(async () => {
    t = await openTestRegistry();
    const platform = await t.registry.ensurePlatformAdmin();
    keep(platform?.password);
    keep((await t.registry.resetAdminPassword()).password);
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    const device = await t.registry.createDevice(admin, { id: 'dev-1' });

    const issued: IssuedCredential[] = [
      await t.registry.issueCredential(admin, device.id, { kind: 'token' }),
      await t.registry.issueCredential(admin, device.id, { kind: 'password', username: 'dev-one' }),
      await t.registry.issueCredential(admin, device.id, {
        kind: 'password',
        username: 'dev-one-b',
        password: 'chosen device password',
      }),
      await t.registry.issueCredential(admin, device.id, { kind: 'hmac' }),
      await t.registry.issueCredential(admin, device.id, { kind: 'certificate' }),
    ];
    for (const c of [...issued]) issued.push(await t.registry.rotateCredential(admin, c.credential.id));
    for (const c of issued) {
      if (c.secret) keep(c.secret);
      if (c.certificate?.keyPem) keep(c.certificate.keyPem.split('\n')[1]); // a line of the private key
      if (c.credential.secret) keep(c.credential.secret); // stored hashes and sealed values stay out too
      // Logins with the right secrets, and with wrong ones that are someone's guesses.
      switch (c.credential.kind) {
        case 'token':
          assert.ok((await t.registry.loginDevice({ kind: 'token', token: c.secret! }, ctx)).ok);
          break;
        case 'password':
          assert.ok(
            (
              await t.registry.loginDevice(
                { kind: 'password', username: c.credential.lookup, password: Buffer.from(c.secret!) },
                ctx,
              )
            ).ok,
          );
          break;
        case 'hmac': {
          const nonce = Buffer.from('challenge');
          const proof = createHmac('sha256', Buffer.from(c.secret!, 'hex')).update(nonce).digest();
          assert.ok(
            (await t.registry.loginDevice({ kind: 'hmac', deviceId: device.id, nonce, proof }, ctx)).ok,
          );
          break;
        }
        case 'certificate': {
          const certDer = new X509Certificate(c.certificate!.certPem).raw;
          assert.ok((await t.registry.loginDevice({ kind: 'certificate', certDer, verified: true }, ctx)).ok);
          break;
        }
      }
    }
    for (const c of issued) await t.registry.revokeCredential(admin, c.credential.id);

    const guess = 'guessed-password-123';
    keep(guess);
    await t.registry.loginDevice(
      { kind: 'password', username: 'dev-one', password: Buffer.from(guess) },
      ctx,
    );
    await t.registry.loginDevice({ kind: 'token', token: 'hd_guessed-token-value' }, ctx);
    keep('hd_guessed-token-value');

    const user = await t.registry.createUser(admin, {
      username: 'bob',
      password: 'bob first password',
      role: 'viewer',
    });
    keep('bob first password');
    await t.registry.setPassword(admin, user.id, 'bob second password');
    keep('bob second password');
    await t.registry.loginUser('bob', 'bob wrong password', ctx);
    keep('bob wrong password');
    const login = await t.registry.loginUser('bob', 'bob second password', ctx);
    assert.ok(login.ok);
    const session = await t.registry.createSession(login.user, ctx);
    keep(session.token);
    const bob: Actor = { type: 'user', id: user.id, name: 'bob', tenantId: 'acme', role: 'viewer' };
    const apiToken = await t.registry.createApiToken(bob, { name: 'cli' });
    keep(apiToken.token);
    keep(apiToken.record.tokenHash);
    await t.registry.resolveBearer(apiToken.token, '::1');
    await t.registry.revokeApiToken(bob, apiToken.record.id);
    await t.registry.endSession(session.token);
  });
  after(() => t.close());

  it('contains no secret, hash or sealed value anywhere', async () => {
    const json = JSON.stringify(await t.registry.queryAudit(SYSTEM_ACTOR, { limit: 1000 }));
    assert.ok(secrets.length >= 20);
    for (const secret of secrets) assert.ok(!json.includes(secret), `audit log leaks ${secret.slice(0, 6)}…`);
  });

  it('records every issue, rotation and revocation with kind and credential id', async () => {
    const entries = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'credential.', limit: 1000 });
    const count = (action: string) => entries.filter((e) => e.action === action).length;
    assert.equal(count('credential.issue'), 5);
    assert.equal(count('credential.rotate'), 5);
    assert.equal(count('credential.revoke'), 10);
    for (const e of entries) {
      assert.match(String(e.details.kind), /^(token|password|hmac|certificate)$/);
      assert.match(String(e.details.credentialId), /^c-/);
      assert.equal(e.actor, 'alice');
      assert.equal(e.address, '::1');
      assert.equal(e.tenantId, 'acme');
    }
    assert.ok(
      entries
        .filter((e) => e.action === 'credential.rotate')
        .every((e) => typeof e.details.replaces === 'string'),
    );
  });

  it('records logins good and bad, with where they came from', async () => {
    const logins = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.', limit: 1000 });
    const ok = logins.filter((e) => e.action === 'login.success');
    const failed = logins.filter((e) => e.action === 'login.failure');
    assert.equal(ok.length, 11); // ten device logins and bob
    assert.equal(failed.length, 3);
    assert.ok(logins.every((e) => e.address === ctx.address && e.details.via === 'mqtts'));
  });
});
