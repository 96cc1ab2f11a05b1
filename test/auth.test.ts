import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as mqttPacket from 'mqtt-packet';
import type { UserConfig } from '../src/core/config.js';
import { ConfigUsersAuthenticator } from '../src/devices/config-users.js';
import { hashPassword } from '../src/devices/password.js';
import { startTestBroker, type TestBroker } from './helpers/broker-harness.js';
import { RawClient } from './helpers/raw-client.js';

/** Cheap scrypt parameters: the tests are about the broker's decisions, not the hash's cost. */
const FAST = { N: 1024, r: 8, p: 1 };

let tb: TestBroker;

before(async () => {
  const users: UserConfig[] = [
    {
      username: 'alice',
      passwordHash: await hashPassword('alice-pw', FAST),
      acl: [
        { action: 'all', topic: 'alice/#', permission: 'allow' },
        { action: 'subscribe', topic: 'public/#', permission: 'allow' },
      ],
    },
    // No ACL: the default rights (everything but publishing to $ topics).
    { username: 'bob', passwordHash: await hashPassword('bob-pw', FAST) },
    {
      username: 'carol',
      passwordHash: await hashPassword('carol-pw', FAST),
      acl: [
        { action: 'all', topic: 'users/%u/#', permission: 'allow' },
        { action: 'publish', topic: 'clients/%c/status', permission: 'allow' },
      ],
    },
    {
      username: 'root',
      passwordHash: await hashPassword('root-pw', FAST),
      acl: [
        { action: 'all', topic: '#', permission: 'allow' },
        { action: 'all', topic: '$SYS/#', permission: 'allow' },
      ],
    },
  ];
  tb = await startTestBroker({ authenticator: new ConfigUsersAuthenticator(users), allowAnonymous: false });
});

after(async () => {
  await tb.close();
});

type Version = 4 | 5;
type ConnectFields = Partial<mqttPacket.IConnectPacket>;

/** Sends CONNECT on a raw socket and returns the CONNACK code; a refusal must also close the socket. */
async function connackCode(version: Version, fields: ConnectFields): Promise<number> {
  const c = await RawClient.connect(tb.port, { protocolVersion: version });
  try {
    c.send({
      cmd: 'connect',
      protocolVersion: version,
      clientId: 'probe',
      clean: true,
      keepalive: 0,
      ...fields,
    });
    const connack = await c.next('connack');
    const code = (version === 5 ? connack.reasonCode : connack.returnCode) ?? 0;
    if (code !== 0) assert.deepEqual(await c.untilClosed(), [], 'nothing after a refusing CONNACK');
    return code;
  } finally {
    c.destroy();
  }
}

function login(
  user: string,
  version: Version,
  clientId: string,
  fields: ConnectFields = {},
): Promise<RawClient> {
  return RawClient.connected(tb.port, {
    protocolVersion: version,
    clientId,
    username: user,
    password: Buffer.from(`${user}-pw`),
    ...fields,
  });
}

/** Publishes at QoS 1 and returns the PUBACK (reason code 0 when the broker leaves it out). */
async function publish1(c: RawClient, topic: string, payload: string, id: number): Promise<number> {
  c.send({ cmd: 'publish', topic, payload, qos: 1, messageId: id, retain: false, dup: false });
  const puback = await c.next('puback');
  assert.equal(puback.messageId, id);
  return puback.reasonCode ?? 0;
}

async function subscribe(c: RawClient, filters: string[], id = 1): Promise<number[]> {
  c.send({
    cmd: 'subscribe',
    messageId: id,
    subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })),
  });
  const suback = await c.next('suback');
  return suback.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos));
}

/** The next PUBLISH the client receives: [topic, payload]; it is acknowledged. */
async function received(c: RawClient): Promise<[string, string]> {
  const p = await c.next('publish');
  if (p.qos > 0) c.send({ cmd: 'puback', messageId: p.messageId });
  return [p.topic, p.payload.toString()];
}

async function closeAll(...clients: RawClient[]): Promise<void> {
  for (const c of clients) {
    c.send({ cmd: 'disconnect' });
    c.destroy();
  }
  await Promise.all(clients.map((c) => c.closed));
}

describe('authentication', () => {
  it('refuses anonymous clients by default: v5 0x87 Not authorized, v4 return code 5', async () => {
    const failures = tb.broker.stats.authFailures;
    assert.equal(await connackCode(5, {}), 0x87);
    assert.equal(await connackCode(4, {}), 5);
    assert.equal(tb.broker.stats.authFailures - failures, 2);
  });

  it('refuses a wrong password: v5 0x86, v4 return code 4', async () => {
    const failures = tb.broker.stats.authFailures;
    const wrong = { username: 'alice', password: Buffer.from('nope') };
    assert.equal(await connackCode(5, wrong), 0x86);
    assert.equal(await connackCode(4, wrong), 4);
    assert.equal(tb.broker.stats.authFailures - failures, 2);
  });

  it('treats an unknown user and a missing password like a wrong password', async () => {
    const failures = tb.broker.stats.authFailures;
    const unknown = { username: 'mallory', password: Buffer.from('alice-pw') };
    assert.equal(await connackCode(5, unknown), 0x86);
    assert.equal(await connackCode(4, unknown), 4);
    assert.equal(await connackCode(5, { username: 'alice' }), 0x86);
    assert.equal(await connackCode(4, { username: 'alice' }), 4);
    assert.equal(tb.broker.stats.authFailures - failures, 4);
  });

  it('v5: a password without a username is refused with 0x86', async () => {
    const failures = tb.broker.stats.authFailures;
    // mqtt-packet will not encode this (3.1.1 forbids it), so the CONNECT is built by hand.
    const body = Buffer.concat([
      Buffer.from([0, 4, ...Buffer.from('MQTT'), 5, 0x42, 0, 0, 0]), // level 5, flags: password + clean start
      Buffer.from([0, 5, ...Buffer.from('probe')]),
      Buffer.from([0, 8, ...Buffer.from('alice-pw')]),
    ]);
    const c = await RawClient.connect(tb.port, { protocolVersion: 5 });
    c.send(Buffer.concat([Buffer.from([0x10, body.length]), body]));
    assert.equal((await c.next('connack')).reasonCode, 0x86);
    assert.deepEqual(await c.untilClosed(), []);
    c.destroy();
    assert.equal(tb.broker.stats.authFailures - failures, 1);
  });

  it('accepts the right password on v4 and v5', async () => {
    const failures = tb.broker.stats.authFailures;
    const good = { username: 'alice', password: Buffer.from('alice-pw') };
    assert.equal(await connackCode(5, good), 0);
    assert.equal(await connackCode(4, good), 0);
    assert.equal(tb.broker.stats.authFailures, failures);
  });

  it('refuses a will whose topic is outside the ACL: v5 0x87, v4 return code 5', async () => {
    const will = (topic: string) => ({
      username: 'alice',
      password: Buffer.from('alice-pw'),
      will: { topic, payload: Buffer.from('bye'), qos: 0 as const, retain: false },
    });
    assert.equal(await connackCode(5, will('bob/will')), 0x87);
    assert.equal(await connackCode(4, will('bob/will')), 5);
    assert.equal(await connackCode(5, will('alice/will')), 0);
  });
});

describe('authorization (topic ACLs)', () => {
  it('v5: a publish outside the ACL gets PUBACK 0x87 and reaches nobody', async () => {
    const bob = await login('bob', 5, 'bob-watch');
    const alice = await login('alice', 5, 'alice-5');
    try {
      assert.deepEqual(await subscribe(bob, ['#']), [1]);
      assert.equal(await publish1(alice, 'bob/secret', 'leak', 1), 0x87);
      assert.equal(await publish1(alice, 'alice/marker', 'marker', 2), 0);
      // The marker is the first thing bob sees: the refused message was never routed.
      assert.deepEqual(await received(bob), ['alice/marker', 'marker']);
    } finally {
      await closeAll(alice, bob);
    }
  });

  it('v4: a publish outside the ACL is acknowledged but not delivered', async () => {
    const bob = await login('bob', 4, 'bob-watch4');
    const alice = await login('alice', 4, 'alice-4');
    try {
      await subscribe(bob, ['#']);
      assert.equal(await publish1(alice, 'bob/secret', 'leak', 1), 0);
      assert.equal(await publish1(alice, 'alice/marker', 'marker', 2), 0);
      assert.deepEqual(await received(bob), ['alice/marker', 'marker']);
    } finally {
      await closeAll(alice, bob);
    }
  });

  it('a subscription outside the ACL is refused: SUBACK 0x87 (v5), 0x80 (v4)', async () => {
    const a5 = await login('alice', 5, 'alice-sub5');
    const a4 = await login('alice', 4, 'alice-sub4');
    try {
      assert.deepEqual(await subscribe(a5, ['alice/#', 'bob/#', 'public/news', '#']), [1, 0x87, 1, 0x87]);
      assert.deepEqual(await subscribe(a4, ['alice/#', 'bob/#', 'public/news', '#']), [1, 0x80, 1, 0x80]);
    } finally {
      await closeAll(a5, a4);
    }
  });

  it('%u and %c in ACL patterns stand for the username and the client id', async () => {
    const bob = await login('bob', 5, 'bob-carol');
    const carol = await login('carol', 5, 'dev-1');
    try {
      await subscribe(bob, ['#']);
      assert.equal(await publish1(carol, 'users/carol/temp', '21', 1), 0);
      assert.deepEqual(await received(bob), ['users/carol/temp', '21']);
      assert.equal(await publish1(carol, 'clients/dev-1/status', 'up', 2), 0);
      assert.deepEqual(await received(bob), ['clients/dev-1/status', 'up']);
      assert.equal(await publish1(carol, 'users/dave/temp', 'x', 3), 0x87);
      assert.equal(await publish1(carol, 'clients/dev-2/status', 'x', 4), 0x87);
      assert.deepEqual(
        await subscribe(carol, ['users/carol/#', 'users/+/temp', 'clients/dev-1/status']),
        [1, 0x87, 0x87],
      );
      assert.equal(await publish1(carol, 'users/carol/marker', 'm', 5), 0);
      assert.deepEqual(await received(bob), ['users/carol/marker', 'm']);
    } finally {
      await closeAll(carol, bob);
    }
  });

  it('nobody may publish to $SYS, even with an ACL that names it', async () => {
    const watcher = await login('root', 5, 'root-watch');
    const bob = await login('bob', 5, 'bob-sys');
    const root = await login('root', 4, 'root-pub');
    try {
      assert.deepEqual(await subscribe(watcher, ['$SYS/#', 'marker']), [1, 1]);
      assert.equal(await publish1(bob, '$SYS/broker/uptime', 'fake', 1), 0x87);
      assert.equal(await publish1(root, '$SYS/broker/uptime', 'fake', 1), 0); // v4: acked, dropped
      assert.equal(await publish1(bob, 'marker', 'm', 2), 0);
      assert.deepEqual(await received(watcher), ['marker', 'm']);
    } finally {
      await closeAll(watcher, bob, root);
    }
  });
});
