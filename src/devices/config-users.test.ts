import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ConnectAttempt, Identity } from '../broker/auth.js';
import type { UserConfig } from '../core/config.js';
import { ConfigUsersAuthenticator } from './config-users.js';
import { hashPassword } from './password.js';

function attempt(over: Partial<ConnectAttempt>): ConnectAttempt {
  return { clientId: 'c1', listener: 'mqtt', remoteAddress: '127.0.0.1', allowAnonymous: false, ...over };
}

async function identityOf(auth: ConfigUsersAuthenticator, over: Partial<ConnectAttempt>): Promise<Identity> {
  const result = await auth.authenticate(attempt(over));
  assert.ok(result.ok, `expected success, got ${JSON.stringify(result)}`);
  return result.identity;
}

describe('ConfigUsersAuthenticator', () => {
  let auth: ConfigUsersAuthenticator;
  before(async () => {
    const users: UserConfig[] = [
      { username: 'ann', passwordHash: await hashPassword('ann-pw') },
      {
        username: 'dev',
        passwordHash: await hashPassword('dev-pw'),
        acl: [
          { action: 'publish', topic: 'devices/%c/up', permission: 'allow' },
          { action: 'subscribe', topic: 'devices/%c/down/#', permission: 'allow' },
        ],
      },
    ];
    auth = new ConfigUsersAuthenticator(users);
  });

  it('refuses at construction a hash whose parameters it cannot use', () => {
    const hash = '$scrypt$N=1000,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
    assert.throws(
      () => new ConfigUsersAuthenticator([{ username: 'x', passwordHash: hash }]),
      (err: Error & { code?: string }) =>
        err.code === 'CONFIG_INVALID' && /users\.0\.passwordHash: unusable scrypt hash/.test(err.message),
    );
  });

  it('accepts a known user with the right password', async () => {
    const id = await identityOf(auth, { username: 'ann', password: Buffer.from('ann-pw') });
    assert.equal(id.name, 'ann');
    assert.equal(id.anonymous, false);
    assert.equal(id.mountPoint, '');
  });

  it('refuses a wrong password, an unknown user and a missing password alike', async () => {
    for (const over of [
      { username: 'ann', password: Buffer.from('nope') },
      { username: 'zed', password: Buffer.from('ann-pw') },
      { username: 'ann' },
      { password: Buffer.from('ann-pw') },
    ]) {
      assert.deepEqual(await auth.authenticate(attempt({ ...over, allowAnonymous: true })), {
        ok: false,
        reason: 'bad-credentials',
      });
    }
  });

  it('lets anonymous clients in only where the listener allows it', async () => {
    const refused = await auth.authenticate(attempt({}));
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.reason, 'not-authorized');
    const id = await identityOf(auth, { allowAnonymous: true });
    assert.equal(id.name, 'anonymous');
    assert.equal(id.anonymous, true);
    assert.equal(id.canPublish('a/b'), true);
    assert.equal(id.canSubscribe('#'), true);
    assert.equal(id.canSubscribe('$SYS/#'), true);
    assert.equal(id.canPublish('$SYS/fake'), false);
  });

  it('gives a user without an ACL full non-$ access and read-only $SYS', async () => {
    const id = await identityOf(auth, { username: 'ann', password: Buffer.from('ann-pw') });
    assert.equal(id.canPublish('anything/at/all'), true);
    assert.equal(id.canSubscribe('$SYS/broker/#'), true);
    assert.equal(id.canPublish('$SYS/broker/uptime'), false);
  });

  it('compiles %c rules for each connection', async () => {
    const a = await identityOf(auth, { username: 'dev', password: Buffer.from('dev-pw'), clientId: 'd1' });
    const b = await identityOf(auth, { username: 'dev', password: Buffer.from('dev-pw'), clientId: 'd2' });
    assert.equal(a.canPublish('devices/d1/up'), true);
    assert.equal(a.canPublish('devices/d2/up'), false);
    assert.equal(b.canPublish('devices/d2/up'), true);
    assert.equal(a.canSubscribe('devices/d1/down/#'), true);
    assert.equal(a.canSubscribe('devices/+/down/#'), false);
    assert.equal(a.canSubscribe('$SYS/#'), false);
  });
});
