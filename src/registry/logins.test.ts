import assert from 'node:assert/strict';
import { createHmac, X509Certificate } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { isHalyardError } from '../core/errors.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from '../transport/pki.js';
import { openTestRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import type { Credential } from './model.js';
import { SYSTEM_ACTOR, type Actor, type DeviceLogin, type LoginContext } from './service.js';

const ctx: LoginContext = { address: '198.51.100.1', via: 'mqtt' };
const der = (pem: string) => new X509Certificate(pem).raw;
const hmacProof = (secretHex: string, nonce: Buffer) =>
  createHmac('sha256', Buffer.from(secretHex, 'hex')).update(nonce).digest();

function okDevice(login: DeviceLogin): Extract<DeviceLogin, { ok: true }> {
  assert.ok(login.ok, `login failed: ${login.ok ? '' : login.reason}`);
  return login;
}

function reason(login: DeviceLogin | { ok: boolean; reason?: string }): string | undefined {
  return login.ok ? undefined : (login as { reason: string }).reason;
}

const operator: Actor = { type: 'user', id: 'u-op', name: 'op', tenantId: 'acme', role: 'operator' };

describe('device logins', () => {
  let t: TestRegistry;
  let clock: number;
  before(async () => {
    clock = Date.now();
    t = await openTestRegistry({ now: () => clock });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex' });
  });
  after(() => t.close());
  // Each test moves the clock past the default window and lock (5 + 15 min), so failures of one
  // never lock the next; certificates (valid for days, by the real clock) stay valid.
  beforeEach(() => {
    clock += 1_200_000;
  });

  it('token: the right one logs in, a wrong one does not; both audited without the token', async () => {
    const device = await t.registry.createDevice(operator, { id: 'tok-1' });
    const issued = await t.registry.issueCredential(operator, device.id, { kind: 'token' });
    assert.match(issued.secret!, /^hd_[A-Za-z0-9_-]{43}$/);
    assert.equal(issued.credential.secret, null);
    assert.notEqual(issued.credential.lookup, issued.secret);
    const good = okDevice(await t.registry.loginDevice({ kind: 'token', token: issued.secret! }, ctx));
    assert.equal(good.device.id, device.id);
    assert.equal(good.credential.id, issued.credential.id);
    const bad = await t.registry.loginDevice({ kind: 'token', token: issued.secret! + 'x' }, ctx);
    assert.equal(reason(bad), 'bad-credentials');

    const [failure, success] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.', limit: 2 });
    assert.equal(failure.action, 'login.failure');
    assert.equal(failure.details.reason, 'bad-credentials');
    assert.equal(failure.details.via, 'mqtt');
    assert.equal(failure.address, ctx.address);
    assert.equal(success.action, 'login.success');
    assert.equal(success.actor, device.id);
    assert.equal(success.tenantId, 'acme');
    assert.deepEqual(success.details, { via: 'mqtt', kind: 'token', credentialId: issued.credential.id });
  });

  it('password: username unique among other devices, rotation keeps the username, both work until revoked', async () => {
    const device = await t.registry.createDevice(operator, { id: 'pw-1' });
    const other = await t.registry.createDevice(operator, { id: 'pw-2' });
    const first = await t.registry.issueCredential(operator, device.id, {
      kind: 'password',
      username: 'sensor-a',
    });
    assert.equal(first.secret!.length, 24);
    assert.ok(first.credential.secret!.startsWith('$scrypt$'));
    await assert.rejects(
      t.registry.issueCredential(operator, other.id, { kind: 'password', username: 'sensor-a' }),
      (err) => isHalyardError(err, 'CONFLICT') && err.context.field === 'username',
    );
    await assert.rejects(
      t.registry.issueCredential(operator, other.id, { kind: 'password', username: 'x', password: 'short' }),
      (err) => isHalyardError(err, 'INVALID_INPUT') && err.context.field === 'password',
    );
    const login = (password: string, username = 'sensor-a') =>
      t.registry.loginDevice({ kind: 'password', username, password: Buffer.from(password) }, ctx);
    okDevice(await login(first.secret!));
    assert.equal(reason(await login('wrong password')), 'bad-credentials');
    assert.equal(reason(await login(first.secret!, 'nobody')), 'bad-credentials');

    const second = await t.registry.rotateCredential(operator, first.credential.id);
    assert.equal(second.credential.lookup, 'sensor-a');
    assert.notEqual(second.secret, first.secret);
    assert.equal(okDevice(await login(first.secret!)).credential.id, first.credential.id);
    assert.equal(okDevice(await login(second.secret!)).credential.id, second.credential.id);
    await t.registry.revokeCredential(operator, first.credential.id);
    assert.equal(reason(await login(first.secret!)), 'bad-credentials');
    okDevice(await login(second.secret!));
    // Once no live credential of another device holds it, the name is free again.
    await t.registry.revokeCredential(operator, second.credential.id);
    const chosen = await t.registry.issueCredential(operator, other.id, {
      kind: 'password',
      username: 'sensor-a',
      password: 'chosen password',
    });
    assert.equal(chosen.secret, 'chosen password');
    assert.equal(okDevice(await login('chosen password')).device.id, other.id);
  });

  it('password: a device username may equal a person’s username', async () => {
    await t.registry.createUser(SYSTEM_ACTOR, {
      username: 'shared-name',
      password: 'user password',
      role: 'viewer',
      tenantId: 'acme',
    });
    const device = await t.registry.createDevice(operator, {});
    const issued = await t.registry.issueCredential(operator, device.id, {
      kind: 'password',
      username: 'shared-name',
    });
    const login = await t.registry.loginDevice(
      { kind: 'password', username: 'shared-name', password: Buffer.from(issued.secret!) },
      ctx,
    );
    assert.equal(okDevice(login).device.id, device.id);
  });

  it('certificate from the platform CA: issued, logs in by fingerprint, refused once revoked', async () => {
    const device = await t.registry.createDevice(operator, { id: 'cert-1' });
    const issued = await t.registry.issueCredential(operator, device.id, { kind: 'certificate', days: 30 });
    const cert = issued.certificate!;
    assert.equal(new X509Certificate(cert.certPem).subject, 'CN=cert-1');
    assert.equal(new X509Certificate(cert.certPem).fingerprint256, cert.fingerprint256);
    assert.equal(issued.credential.lookup, cert.fingerprint256);
    assert.equal(cert.caPem, t.ca.certPem);
    assert.ok(cert.keyPem?.includes('PRIVATE KEY'));
    const proof = { kind: 'certificate' as const, certDer: der(cert.certPem), verified: true };
    okDevice(await t.registry.loginDevice(proof, ctx));

    // Rotation issues a second certificate of the same length; both work until one is revoked.
    const rotated = await t.registry.rotateCredential(operator, issued.credential.id);
    assert.notEqual(rotated.certificate!.fingerprint256, cert.fingerprint256);
    okDevice(await t.registry.loginDevice({ ...proof, certDer: der(rotated.certificate!.certPem) }, ctx));
    await t.registry.revokeCredential(operator, issued.credential.id);
    assert.equal(reason(await t.registry.loginDevice(proof, ctx)), 'bad-credentials');

    // Signed by our CA, but never registered: refused.
    const stray = await issueCertificate(t.ca, { commonName: device.id, usage: 'client', days: 1 });
    const strayLogin = await t.registry.loginDevice(
      { kind: 'certificate', certDer: der(stray.certPem), verified: true },
      ctx,
    );
    assert.equal(reason(strayLogin), 'bad-credentials');
    const garbage = await t.registry.loginDevice(
      { kind: 'certificate', certDer: Buffer.from('nope'), verified: false },
      ctx,
    );
    assert.equal(reason(garbage), 'bad-credentials');
  });

  it('certificate uploaded by PEM: must name the device; logs in by fingerprint', async () => {
    const external = await createCertificateAuthority({ commonName: 'Someone Else', days: 5 });
    const device = await t.registry.createDevice(operator, { id: 'cert-up' });
    const leaf = await issueCertificate(external, {
      commonName: 'something',
      sans: ['cert-up'],
      usage: 'client',
      days: 2,
    });
    const issued = await t.registry.issueCredential(operator, device.id, {
      kind: 'certificate',
      certPem: leaf.certPem,
    });
    assert.equal(issued.credential.lookup, leaf.fingerprint256);
    assert.equal(issued.secret, undefined);
    const login = await t.registry.loginDevice(
      { kind: 'certificate', certDer: der(leaf.certPem), verified: false },
      ctx,
    );
    assert.equal(okDevice(login).device.id, 'cert-up');
    const wrongName = await issueCertificate(external, {
      commonName: 'cert-other',
      usage: 'client',
      days: 2,
    });
    await assert.rejects(
      t.registry.issueCredential(operator, device.id, { kind: 'certificate', certPem: wrongName.certPem }),
      (err) => isHalyardError(err, 'INVALID_INPUT') && err.context.field === 'certPem',
    );
    await assert.rejects(
      t.registry.issueCredential(operator, device.id, { kind: 'certificate', certPem: leaf.certPem }),
      (err) => isHalyardError(err, 'CONFLICT'),
    );
    // Halyard cannot re-issue a certificate somebody else signed.
    await assert.rejects(t.registry.rotateCredential(operator, issued.credential.id), (err) =>
      isHalyardError(err, 'INVALID_INPUT'),
    );
  });

  describe('certificates from a tenant CA', () => {
    let tenantCa: CertificateAuthority;
    let caId: string;
    before(async () => {
      tenantCa = await createCertificateAuthority({ commonName: 'Acme Device CA', days: 30 });
      caId = (await t.registry.addTenantCa(SYSTEM_ACTOR, 'acme', tenantCa.certPem)).id;
      await t.registry.createDevice(operator, { id: 'tca-1' });
      await t.registry.createDevice(operator, { id: 'tca-2' });
      await t.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'globex', id: 'tca-globex' });
    });
    const certFor = (cn: string, ca = tenantCa) =>
      issueCertificate(ca, { commonName: cn, usage: 'client', days: 2 });
    const login = (pem: string) =>
      t.registry.loginDevice({ kind: 'certificate', certDer: der(pem), verified: false }, ctx);

    it('logs in without registration, registering the certificate on first use', async () => {
      const leaf = await certFor('tca-1');
      const first = okDevice(await login(leaf.certPem));
      assert.equal(first.device.id, 'tca-1');
      assert.equal(first.credential.lookup, leaf.fingerprint256);
      const again = okDevice(await login(leaf.certPem));
      assert.equal(again.credential.id, first.credential.id);
      const listed = await t.registry.listCredentials(operator, 'tca-1');
      assert.deepEqual(
        listed.map((c) => c.id),
        [first.credential.id],
      );
    });

    it('refuses a revoked fingerprint for good', async () => {
      const leaf = await certFor('tca-2');
      const { credential } = okDevice(await login(leaf.certPem));
      await t.registry.revokeCredential(operator, credential.id);
      assert.equal(reason(await login(leaf.certPem)), 'bad-credentials');
      // A new certificate for the same device is still welcome.
      okDevice(await login((await certFor('tca-2')).certPem));
    });

    it('refuses devices of another tenant, unknown devices and other CAs', async () => {
      assert.equal(reason(await login((await certFor('tca-globex')).certPem)), 'bad-credentials');
      assert.equal(reason(await login((await certFor('no-such-device')).certPem)), 'bad-credentials');
      const rogue = await createCertificateAuthority({ commonName: 'Acme Device CA', days: 30 });
      assert.equal(reason(await login((await certFor('tca-1', rogue)).certPem)), 'bad-credentials');
    });

    it('stops trusting certificates it registered once the CA is removed', async () => {
      const leaf = await certFor('tca-1');
      okDevice(await login(leaf.certPem));
      await t.registry.removeTenantCa(SYSTEM_ACTOR, 'acme', caId);
      assert.equal(reason(await login(leaf.certPem)), 'bad-credentials');
    });
  });

  it('hmac: the right HMAC of the nonce logs in; a wrong nonce, secret or length does not', async () => {
    const device = await t.registry.createDevice(operator, { id: 'hm-1' });
    const issued = await t.registry.issueCredential(operator, device.id, { kind: 'hmac' });
    assert.match(issued.secret!, /^[0-9a-f]{64}$/);
    assert.ok(!issued.credential.secret!.includes(issued.secret!));
    const nonce = Buffer.from('nonce-1');
    const proof = (secret: string, n = nonce, forNonce = nonce) => ({
      kind: 'hmac' as const,
      deviceId: device.id,
      nonce: n,
      proof: hmacProof(secret, forNonce),
    });
    okDevice(await t.registry.loginDevice(proof(issued.secret!), ctx));
    const wrongNonce = proof(issued.secret!, Buffer.from('nonce-2'));
    assert.equal(reason(await t.registry.loginDevice(wrongNonce, ctx)), 'bad-credentials');
    assert.equal(reason(await t.registry.loginDevice(proof('00'.repeat(32)), ctx)), 'bad-credentials');
    const short = { ...proof(issued.secret!), proof: Buffer.alloc(3) };
    assert.equal(reason(await t.registry.loginDevice(short, ctx)), 'bad-credentials');

    const rotated = await t.registry.rotateCredential(operator, issued.credential.id);
    okDevice(await t.registry.loginDevice(proof(issued.secret!), ctx));
    okDevice(await t.registry.loginDevice(proof(rotated.secret!), ctx));
    await t.registry.revokeCredential(operator, issued.credential.id);
    assert.equal(reason(await t.registry.loginDevice(proof(issued.secret!), ctx)), 'bad-credentials');
    okDevice(await t.registry.loginDevice(proof(rotated.secret!), ctx));
  });

  it('hmac: a registry with another server key cannot open the secrets', async () => {
    const device = await t.registry.createDevice(operator, {});
    const issued = await t.registry.issueCredential(operator, device.id, { kind: 'hmac' });
    const other = await openTestRegistry({ store: t.store, now: () => clock });
    const nonce = Buffer.from('n');
    const login = await other.registry.loginDevice(
      { kind: 'hmac', deviceId: device.id, nonce, proof: hmacProof(issued.secret!, nonce) },
      ctx,
    );
    assert.equal(reason(login), 'bad-credentials');
  });

  it('revocation emits credential.revoked and is audited; revoking again changes nothing', async () => {
    const device = await t.registry.createDevice(operator, {});
    const issued = await t.registry.issueCredential(operator, device.id, { kind: 'token' });
    const revoked: Credential[] = [];
    t.registry.on('credential.revoked', (c) => revoked.push(c));
    const result = await t.registry.revokeCredential(operator, issued.credential.id);
    assert.equal(result.revokedAt, clock);
    await t.registry.revokeCredential(operator, issued.credential.id);
    assert.deepEqual(
      revoked.map((c) => c.id),
      [issued.credential.id],
    );
    await assert.rejects(t.registry.rotateCredential(operator, issued.credential.id), (err) =>
      isHalyardError(err, 'CONFLICT'),
    );
    const entries = await t.registry.queryAudit(SYSTEM_ACTOR, {
      action: 'credential.',
      target: `device:${device.id}`,
    });
    assert.deepEqual(
      entries.map((e) => [e.action, e.details.kind, e.details.credentialId]),
      [
        ['credential.revoke', 'token', issued.credential.id],
        ['credential.issue', 'token', issued.credential.id],
      ],
    );
  });

  it('refuses a deactivated device with a valid credential, until it is activated again', async () => {
    const device = await t.registry.createDevice(operator, {});
    const { secret } = await t.registry.issueCredential(operator, device.id, { kind: 'token' });
    await t.registry.setDeviceActive(operator, device.id, false);
    const refused = await t.registry.loginDevice({ kind: 'token', token: secret! }, ctx);
    assert.equal(reason(refused), 'deactivated');
    const [entry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.failure', limit: 1 });
    assert.equal(entry.details.reason, 'deactivated');
    assert.equal(entry.actor, device.id);
    await t.registry.setDeviceActive(operator, device.id, true);
    okDevice(await t.registry.loginDevice({ kind: 'token', token: secret! }, ctx));
  });

  it('returns the device profile with a successful login', async () => {
    const profile = await t.registry.createProfile(SYSTEM_ACTOR, { tenantId: 'acme', name: 'Meters' });
    const device = await t.registry.createDevice(operator, { profileId: profile.id });
    const { secret } = await t.registry.issueCredential(operator, device.id, { kind: 'token' });
    const login = okDevice(await t.registry.loginDevice({ kind: 'token', token: secret! }, ctx));
    assert.equal(login.profile?.id, profile.id);
  });
});

describe('lockout', () => {
  let t: TestRegistry;
  let clock: number;
  let secret: string;
  const policy = { maxFailures: 3, windowMs: 10_000, lockMs: 60_000 };
  const at = (address: string): LoginContext => ({ address, via: 'mqtt' });
  let addressCounter = 0;
  /** A fresh source address, so that only the identity counter is in play. */
  const anywhere = () => at(`203.0.113.${++addressCounter}`);
  const tryPassword = (password: string, c: LoginContext, username = 'locky') =>
    t.registry.loginDevice({ kind: 'password', username, password: Buffer.from(password) }, c);

  before(async () => {
    clock = Date.now();
    t = await openTestRegistry({ now: () => clock, lockout: policy });
    await t.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
    const device = await t.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'acme', id: 'locky-dev' });
    const issued = await t.registry.issueCredential(SYSTEM_ACTOR, device.id, {
      kind: 'password',
      username: 'locky',
    });
    secret = issued.secret!;
  });
  after(() => t.close());
  beforeEach(() => {
    clock += 86_400_000;
  });

  it('locks an identity after maxFailures within the window, even for the right password, until the lock expires', async () => {
    for (let i = 0; i < 3; i++)
      assert.equal(reason(await tryPassword('wrong one', anywhere())), 'bad-credentials');
    const locked = await tryPassword(secret, anywhere());
    assert.equal(reason(locked), 'locked-out');
    assert.equal((locked as { retryAfterMs: number }).retryAfterMs, 60_000);
    const [lockEntry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.locked' });
    assert.equal(lockEntry.details.scope, 'identity');
    assert.equal(lockEntry.actor, 'locky');
    assert.equal(lockEntry.tenantId, 'acme');
    clock += 59_999;
    assert.equal((await tryPassword(secret, anywhere())).ok, false);
    clock += 1;
    okDevice(await tryPassword(secret, anywhere()));
  });

  it('forgets failures that fall out of the window', async () => {
    await tryPassword('wrong one', anywhere());
    await tryPassword('wrong one', anywhere());
    clock += 10_001;
    await tryPassword('wrong one', anywhere());
    await tryPassword('wrong one', anywhere());
    okDevice(await tryPassword(secret, anywhere()));
  });

  it('resets the count on success', async () => {
    await tryPassword('wrong one', anywhere());
    await tryPassword('wrong one', anywhere());
    okDevice(await tryPassword(secret, anywhere()));
    await tryPassword('wrong one', anywhere());
    await tryPassword('wrong one', anywhere());
    okDevice(await tryPassword(secret, anywhere()));
  });

  it('resets the count of an MQTT username and password on success, as a device login does', async () => {
    const connect = (password: string) =>
      t.registry.loginPassword('locky', Buffer.from(password), anywhere());
    for (let round = 0; round < 3; round++) {
      assert.equal(reason(await connect('wrong one')), 'bad-credentials');
      assert.equal(reason(await connect('wrong two')), 'bad-credentials');
      assert.equal((await connect(secret)).ok, true, `round ${round}`);
    }
  });

  it('locks a source address guessing many identities, and only that address', async () => {
    const attacker = at('192.0.2.66');
    for (const name of ['a1', 'a2', 'a3']) await tryPassword('guess', attacker, name);
    const blocked = await tryPassword(secret, attacker);
    assert.equal(reason(blocked), 'locked-out');
    const [lockEntry] = await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.locked', limit: 1 });
    assert.equal(lockEntry.details.scope, 'address');
    assert.equal(lockEntry.address, '192.0.2.66');
    okDevice(await tryPassword(secret, at('192.0.2.67')));
    clock += 60_000;
    okDevice(await tryPassword(secret, attacker));
  });

  it('locks token guessing by address and audits no token', async () => {
    const attacker = at('192.0.2.99');
    const guesses = ['hd_guess1', 'hd_guess2', 'hd_guess3'];
    for (const token of guesses) await t.registry.loginDevice({ kind: 'token', token }, attacker);
    const blocked = await t.registry.loginDevice({ kind: 'token', token: 'hd_guess4' }, attacker);
    assert.equal(reason(blocked), 'locked-out');
    const json = JSON.stringify(await t.registry.queryAudit(SYSTEM_ACTOR, { limit: 1000 }));
    for (const token of [...guesses, 'hd_guess4']) assert.ok(!json.includes(token), token);
  });

  describe('an MQTT username and password, tried as a device and then as a person', () => {
    let devicePassword: string;
    before(async () => {
      await t.registry.createUser(SYSTEM_ACTOR, {
        username: 'dual',
        password: 'person password',
        role: 'viewer',
        tenantId: 'acme',
      });
      const device = await t.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'acme', id: 'dual-dev' });
      const issued = await t.registry.issueCredential(SYSTEM_ACTOR, device.id, {
        kind: 'password',
        username: 'dual',
      });
      devicePassword = issued.secret!;
    });
    const connect = async (password: string, from: LoginContext) => {
      const login = await t.registry.loginPassword('dual', Buffer.from(password), from);
      return login.ok ? login.as : login.reason;
    };

    it('logs in the device, or else the person of that name', async () => {
      assert.equal(await connect(devicePassword, anywhere()), 'device');
      assert.equal(await connect('person password', anywhere()), 'person');
    });

    it('counts a wrong password once, though two checks refused it', async () => {
      const from = at('192.0.2.150');
      assert.equal(await connect('wrong 1', from), 'bad-credentials');
      assert.equal(await connect('wrong 2', from), 'bad-credentials');
      // Two guesses counted twice each would have locked the address (limit 3).
      assert.equal(await connect(devicePassword, from), 'device');
      assert.equal(await connect('person password', from), 'person');
      const failures = (await t.registry.queryAudit(SYSTEM_ACTOR, { action: 'login.failure' })).filter(
        (e) => e.address === from.address,
      );
      // Both checks of each guess are audited, and the device check before the person's login.
      assert.deepEqual(failures.map((e) => `${e.actorType} ${e.actor}`).sort(), [
        'device dual-dev',
        'device dual-dev',
        'device dual-dev',
        'user dual',
        'user dual',
      ]);
    });

    it("does not let the device's owner wear down the person's count", async () => {
      assert.equal(await connect('wrong 1', anywhere()), 'bad-credentials');
      assert.equal(await connect('wrong 2', anywhere()), 'bad-credentials');
      assert.equal(await connect(devicePassword, anywhere()), 'device');
      assert.equal(await connect('wrong 3', anywhere()), 'bad-credentials');
      assert.equal(reason(await t.registry.loginUser('dual', 'person password', anywhere())), 'locked-out');
    });

    it('locks both names after the limit, over MQTT and for the REST API alike', async () => {
      const since = clock;
      for (const guess of ['wrong 1', 'wrong 2', 'wrong 3']) {
        assert.equal(await connect(guess, anywhere()), 'bad-credentials');
      }
      assert.equal(await connect(devicePassword, anywhere()), 'locked-out');
      assert.equal(await connect('person password', anywhere()), 'locked-out');
      assert.equal(reason(await t.registry.loginUser('dual', 'person password', anywhere())), 'locked-out');
      const locks = await t.registry.queryAudit(SYSTEM_ACTOR, {
        actor: 'dual',
        action: 'login.locked',
        since,
      });
      assert.deepEqual(locks.map((e) => e.actorType).sort(), ['device', 'user']);
    });

    it('does not count a person logging in as a failed device login', async () => {
      const from = at('192.0.2.151');
      for (let i = 0; i < 5; i++)
        assert.equal(await connect('person password', from), 'person', `round ${i}`);
      assert.equal(await connect(devicePassword, from), 'device');
    });
  });

  it('locks people out the same way, and an administrator reset lifts it', async () => {
    await t.registry.createUser(SYSTEM_ACTOR, {
      username: 'root',
      password: 'root password',
      role: 'admin',
      tenantId: null,
    });
    for (let i = 0; i < 3; i++) {
      const r = await t.registry.loginUser('root', 'wrong password', anywhere());
      assert.equal(reason(r), 'bad-credentials');
    }
    assert.equal(reason(await t.registry.loginUser('root', 'root password', anywhere())), 'locked-out');
    const reset = await t.registry.resetAdminPassword('root');
    assert.equal((await t.registry.loginUser('root', reset.password, anywhere())).ok, true);
  });
});
