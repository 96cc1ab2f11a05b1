import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { IClientOptions } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import {
  HalyardFixture,
  TEST_USER,
  connectClient,
  type HalyardProcess,
  type TestClient,
} from './helpers/halyard-process.js';
import { RawClient } from './helpers/raw-client.js';

/**
 * docs/mqtt.md "Durability": whatever the broker acknowledged (PUBACK/PUBREC,
 * SUBACK) survives `kill -9`. Real process, real SQLite, SIGKILL.
 */

const TIMEOUT = { timeout: 60_000 };
const N = 50;

const fixtures: HalyardFixture[] = [];
const clients: { drop(): unknown }[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.drop();
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

async function platform(): Promise<[HalyardFixture, HalyardProcess]> {
  const fx = await HalyardFixture.create();
  fixtures.push(fx);
  return [fx, await fx.start()];
}

/** `kill -9`, then start again on the same data dir and port. */
async function crashAndRestart(fx: HalyardFixture, proc: HalyardProcess): Promise<HalyardProcess> {
  const status = await HalyardFixture.crash(proc);
  assert.equal(status.signal, 'SIGKILL');
  return fx.start();
}

async function client(proc: HalyardProcess, opts: IClientOptions): Promise<TestClient> {
  const c = await connectClient(proc.url, opts);
  clients.push(c);
  return c;
}

async function raw(proc: HalyardProcess, version: 4 | 5, clientId: string): Promise<RawClient> {
  const c = await RawClient.connected(proc.port, {
    protocolVersion: version,
    clientId,
    clean: false,
    username: TEST_USER.username,
    password: Buffer.from(TEST_USER.password),
    ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  clients.push({ drop: () => c.destroy() });
  return c;
}

const persistent = (version: 4 | 5, clientId: string): IClientOptions =>
  version === 5
    ? { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 3600 } }
    : { protocolVersion: 4, clientId, clean: false };

const transient = (version: 4 | 5, clientId: string): IClientOptions => ({
  protocolVersion: version,
  clientId,
  clean: true,
});

/** Publishes and waits for a live marker message: everything before it has been delivered. */
async function expectNext(sub: TestClient, topic: string, payload: string): Promise<void> {
  const msg = await sub.nextMessage();
  assert.deepEqual([msg.topic, msg.payload], [topic, payload]);
}

for (const version of [5, 4] as const) {
  for (const qos of [1, 2] as const) {
    test(
      `v${version}: ${N} QoS ${qos} messages queued for an offline session survive kill -9, in order, once`,
      TIMEOUT,
      async () => {
        const [fx, first] = await platform();
        const id = `dur-a-${version}-${qos}`;
        const topic = `a/${id}`;
        const sub = await client(first, persistent(version, id));
        assert.equal((await sub.client.subscribeAsync(topic, { qos }))[0].qos, qos);
        await sub.client.endAsync();

        const pub = await client(first, transient(version, `${id}-pub`));
        // Awaiting each one: the PUBACK/PUBCOMP of every message has arrived before the kill.
        for (let i = 0; i < N; i++) await pub.client.publishAsync(topic, `m-${i}`, { qos });
        await pub.drop();

        const second = await crashAndRestart(fx, first);
        const back = await client(second, persistent(version, id)); // no re-subscribe
        assert.equal(back.connack.sessionPresent, true);
        for (let i = 0; i < N; i++) {
          const msg = await back.nextMessage();
          assert.equal(msg.topic, topic);
          assert.equal(msg.payload, `m-${i}`);
          assert.equal(msg.packet.qos, qos);
        }
        // Exactly N: the next message is a live one published now.
        const pub2 = await client(second, transient(version, `${id}-pub2`));
        await pub2.client.publishAsync(topic, 'live', { qos });
        await expectNext(back, topic, 'live');
      },
    );
  }
}

/** Reads `count` PUBLISH packets without acknowledging them. */
async function publishes(c: RawClient, count: number): Promise<IPublishPacket[]> {
  const out: IPublishPacket[] = [];
  for (let i = 0; i < count; i++) out.push(await c.next('publish'));
  return out;
}

for (const version of [5, 4] as const) {
  test(
    `v${version}: in-flight QoS 1 messages the subscriber never acked are redelivered with DUP after kill -9`,
    TIMEOUT,
    async () => {
      const [fx, first] = await platform();
      const id = `dur-b1-${version}`;
      const topic = `b/${id}`;
      const sub = await raw(first, version, id);
      sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
      await sub.next('suback');

      const pub = await client(first, transient(version, `${id}-pub`));
      for (let i = 0; i < 5; i++) await pub.client.publishAsync(topic, `m-${i}`, { qos: 1 });
      const sent = await publishes(sub, 5); // no PUBACK
      assert.deepEqual(
        sent.map((p) => [String(p.payload), p.dup]),
        [0, 1, 2, 3, 4].map((i) => [`m-${i}`, false]),
      );

      const second = await crashAndRestart(fx, first);
      await sub.closed;
      const back = await raw(second, version, id);
      assert.equal(back.received[0].cmd === 'connack' && back.received[0].sessionPresent, true);
      const again = await publishes(back, 5);
      assert.deepEqual(
        again.map((p) => [String(p.payload), p.qos, p.dup, p.messageId]),
        sent.map((p) => [String(p.payload), 1, true, p.messageId]),
      );
      for (const p of again) back.send({ cmd: 'puback', messageId: p.messageId });

      // Once acknowledged, they are gone: the next PUBLISH is a live one.
      const pub2 = await client(second, transient(version, `${id}-pub2`));
      await pub2.client.publishAsync(topic, 'live', { qos: 1 });
      const live = await back.next('publish');
      assert.equal(String(live.payload), 'live');
      assert.equal(live.dup, false);
    },
  );
}

test(
  'v5: QoS 2 in flight survives kill -9: unreceived PUBLISH resent with DUP, PUBREC-ed one gets PUBREL',
  TIMEOUT,
  async () => {
    const [fx, first] = await platform();
    const id = 'dur-b2';
    const topic = `b/${id}`;
    const sub = await raw(first, 5, id);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 2 }] });
    await sub.next('suback');

    const pub = await client(first, transient(5, `${id}-pub`));
    await pub.client.publishAsync(topic, 'released', { qos: 2 });
    await pub.client.publishAsync(topic, 'pending', { qos: 2 });
    const [released, pending] = await publishes(sub, 2);
    assert.equal(String(released.payload), 'released');
    sub.send({ cmd: 'pubrec', messageId: released.messageId });
    assert.equal((await sub.next('pubrel')).messageId, released.messageId); // no PUBCOMP

    const second = await crashAndRestart(fx, first);
    await sub.closed;
    const back = await raw(second, 5, id);
    // Resent in their original order: the PUBREL for the first, then the second PUBLISH again.
    const rel = await back.next();
    assert.deepEqual([rel.cmd, rel.cmd === 'pubrel' && rel.messageId], ['pubrel', released.messageId]);
    const resent = await back.next();
    assert.equal(resent.cmd, 'publish');
    assert.deepEqual(
      [String(resent.payload), resent.qos, resent.dup, resent.messageId],
      ['pending', 2, true, pending.messageId],
    );
    back.send({ cmd: 'pubcomp', messageId: released.messageId });
    back.send({ cmd: 'pubrec', messageId: resent.messageId });
    assert.equal((await back.next('pubrel')).messageId, resent.messageId);
    back.send({ cmd: 'pubcomp', messageId: resent.messageId });

    const pub2 = await client(second, transient(5, `${id}-pub2`));
    await pub2.client.publishAsync(topic, 'live', { qos: 2 });
    const live = await back.next('publish');
    assert.deepEqual([String(live.payload), live.dup], ['live', false]);
  },
);

test(
  'v5: an inbound QoS 2 packet id completed (PUBCOMP) before kill -9 may be reused after restart',
  TIMEOUT,
  async () => {
    const [fx, first] = await platform();
    const topic = 'b/reuse';
    const sub = await client(first, persistent(5, 'dur-b3-sub'));
    await sub.client.subscribeAsync(topic, { qos: 2 });
    await sub.client.endAsync();
    const pub = await raw(first, 5, 'dur-b3-pub');
    pub.send({ cmd: 'publish', topic, payload: 'one', qos: 2, messageId: 7, retain: false, dup: false });
    await pub.next('pubrec');
    pub.send({ cmd: 'pubrel', messageId: 7 });
    assert.equal((await pub.next('pubcomp')).reasonCode ?? 0, 0);

    const second = await crashAndRestart(fx, first);
    await pub.closed;
    const pubBack = await raw(second, 5, 'dur-b3-pub');
    // A new message with the same id: the first flow is complete, so this one must be routed.
    pubBack.send({ cmd: 'publish', topic, payload: 'two', qos: 2, messageId: 7, retain: false, dup: false });
    assert.equal((await pubBack.next('pubrec')).reasonCode ?? 0, 0);
    pubBack.send({ cmd: 'pubrel', messageId: 7 });
    await pubBack.next('pubcomp');

    const back = await client(second, persistent(5, 'dur-b3-sub'));
    await expectNext(back, topic, 'one');
    await expectNext(back, topic, 'two');
  },
);

describe('retained messages', () => {
  test('a retained message set with QoS 1, and its clearing, each survive kill -9', TIMEOUT, async () => {
    const [fx, first] = await platform();
    const pub = await client(first, transient(5, 'dur-c-pub'));
    await pub.client.publishAsync('c/state', 'on', { qos: 1, retain: true });
    await pub.client.publishAsync('c/kept', 'kept', { qos: 1, retain: true });

    const second = await crashAndRestart(fx, first);
    const sub = await client(second, transient(5, 'dur-c-sub'));
    await sub.client.subscribeAsync('c/state', { qos: 1 });
    const msg = await sub.nextMessage();
    assert.deepEqual([msg.topic, msg.payload, msg.packet.retain], ['c/state', 'on', true]);

    await sub.client.publishAsync('c/state', '', { qos: 1, retain: true }); // clear
    await sub.drop();

    const third = await crashAndRestart(fx, second);
    const sub2 = await client(third, transient(5, 'dur-c-sub2'));
    await sub2.client.subscribeAsync(['c/state', 'c/kept', 'c/marker'], { qos: 1 });
    // Retained copies are sent on SUBSCRIBE, before a PUBLISH that follows it on the same connection.
    await sub2.client.publishAsync('c/marker', 'marker', { qos: 1 });
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const m = await sub2.nextMessage();
      seen.push(`${m.topic}=${m.payload}`);
      if (m.topic === 'c/marker') break;
    }
    assert.deepEqual(seen, ['c/kept=kept', 'c/marker=marker']);
  });
});

describe('subscriptions and sessions', () => {
  for (const version of [5, 4] as const) {
    test(
      `v${version}: a subscription acknowledged before kill -9 still routes after restart`,
      TIMEOUT,
      async () => {
        const [fx, first] = await platform();
        const id = `dur-d-${version}`;
        const sub = await client(first, persistent(version, id));
        await sub.client.subscribeAsync(['d/+/temp', 'd/other'], { qos: 1 }); // SUBACK received
        const second = await crashAndRestart(fx, first);
        await sub.closed;

        const back = await client(second, persistent(version, id)); // no re-subscribe
        assert.equal(back.connack.sessionPresent, true);
        const pub = await client(second, transient(version, `${id}-pub`));
        await pub.client.publishAsync('d/kitchen/temp', '21.5', { qos: 1 });
        await pub.client.publishAsync('d/other', 'x', { qos: 0 });
        await expectNext(back, 'd/kitchen/temp', '21.5');
        await expectNext(back, 'd/other', 'x');
      },
    );

    test(`v${version}: a clean session leaves nothing behind after kill -9`, TIMEOUT, async () => {
      const [fx, first] = await platform();
      const id = `dur-e-${version}`;
      const sub = await client(first, transient(version, id));
      assert.equal(sub.connack.sessionPresent, false);
      await sub.client.subscribeAsync('e/t', { qos: 1 });
      const pub = await client(first, transient(version, `${id}-pub`));
      await pub.client.publishAsync('e/t', 'delivered', { qos: 1 });
      await expectNext(sub, 'e/t', 'delivered');

      const second = await crashAndRestart(fx, first);
      await sub.closed;
      const back = await client(second, persistent(version, id));
      assert.equal(back.connack.sessionPresent, false);
      // The old subscription is gone: only the marker subscribed now arrives.
      await back.client.subscribeAsync('e/marker', { qos: 1 });
      const pub2 = await client(second, transient(version, `${id}-pub2`));
      await pub2.client.publishAsync('e/t', 'stale', { qos: 1 });
      await pub2.client.publishAsync('e/marker', 'marker', { qos: 1 });
      await expectNext(back, 'e/marker', 'marker');
    });
  }
});
