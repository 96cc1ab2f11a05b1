import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import type { IUnsubackPacket } from 'mqtt-packet';
import { Inbox, subscriptionIds, type Case } from './support.js';

/** Resolves once the clients together received n messages. */
function groupTotal(clients: MqttClient[], n: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    for (const client of clients) {
      client.on('message', () => {
        if (++seen === n) resolve();
      });
    }
  });
}

export function subscriptionCases(c: Case): void {
  c('+ matches one level, # matches the rest including the parent level', {}, async (ctx) => {
    const plus = await ctx.connect();
    const hash = await ctx.connect();
    const plusIn = new Inbox(plus);
    const hashIn = new Inbox(hash);
    await plus.subscribeAsync(['w/+/t', 'w/+'], { qos: 1 });
    await hash.subscribeAsync('w/#', { qos: 1 });
    const pub = await ctx.connect();
    for (const topic of ['w', 'w/a', 'w/a/t', 'w/a/b/t', 'w//t', 'x/a/t'])
      await pub.publishAsync(topic, topic, { qos: 1 });
    await pub.publishAsync('w/end', 'end', { qos: 1 });
    assert.deepEqual(
      (await plusIn.upTo('end')).map((m) => m.payload),
      ['w/a', 'w/a/t', 'w//t', 'end'],
    );
    assert.deepEqual(
      (await hashIn.upTo('end')).map((m) => m.payload),
      ['w', 'w/a', 'w/a/t', 'w/a/b/t', 'w//t', 'end'],
    );
  });

  c('leading wildcards do not match $ topics; $SYS/# does', { options: { sysInterval: 1 } }, async (ctx) => {
    const pub = await ctx.connect();
    await pub.publishAsync('plain/r', 'plain-retained', { qos: 1, retain: true });
    const all = await ctx.connect();
    const allIn = new Inbox(all);
    await all.subscribeAsync(['#', '+/broker/#'], { qos: 0 });
    // Retained $SYS values exist; they would arrive right after the SUBACK, before this marker.
    await pub.publishAsync('plain/marker', 'marker', { qos: 1 });
    const got = await allIn.upTo('marker');
    assert.ok(
      got.every((m) => !m.topic.startsWith('$')),
      got.map((m) => m.topic).join(),
    );
    assert.ok(got.some((m) => m.payload === 'plain-retained'));

    const sys = await ctx.connect();
    const sysIn = new Inbox(sys);
    await sys.subscribeAsync('$SYS/#', { qos: 0 });
    const [first] = await sysIn.count(1);
    assert.ok(first.topic.startsWith('$SYS/broker/'));
  });

  c(
    'invalid filters get SUBACK 0x8F (v5) while valid ones in the same SUBSCRIBE are granted',
    {},
    async (ctx) => {
      const raw = await ctx.raw(5);
      await raw.connect();
      const suback = await raw.subscribe([
        { topic: 'ok/+', qos: 1 },
        { topic: 'bad/#/x', qos: 1 },
        { topic: 'bad+/x', qos: 1 },
        { topic: '$share/g', qos: 1 },
        { topic: 'ok/#', qos: 2 },
      ]);
      assert.deepEqual(suback.granted, [1, 0x8f, 0x8f, 0x8f, 2]);
    },
  );

  c('invalid filters get SUBACK 0x80 (v3.1.1)', {}, async (ctx) => {
    const raw = await ctx.raw(4);
    assert.equal((await raw.connect()).returnCode, 0);
    const suback = await raw.subscribe([
      { topic: 'a/#/b', qos: 0 },
      { topic: 'a/b', qos: 1 },
    ]);
    assert.deepEqual(suback.granted, [0x80, 1]);
  });

  c('unsubscribe stops delivery; UNSUBACK reports 0x11 for an unknown filter (v5)', {}, async (ctx) => {
    const sub = await ctx.connect();
    const inbox = new Inbox(sub);
    await sub.subscribeAsync(['u/a', 'u/b'], { qos: 1 });
    const unsuback = await sub.unsubscribeAsync(['u/a', 'u/none']);
    assert.deepEqual((unsuback as IUnsubackPacket).granted, [0, 0x11]);
    const pub = await ctx.connect();
    await pub.publishAsync('u/a', 'gone', { qos: 1 });
    await pub.publishAsync('u/b', 'marker', { qos: 1 });
    assert.deepEqual(
      (await inbox.upTo('marker')).map((m) => m.payload),
      ['marker'],
    );
  });

  c(
    'overlapping subscriptions give one delivery with the highest QoS and every subscription identifier',
    {},
    async (ctx) => {
      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      await sub.subscribeAsync('sid/+', { qos: 0, properties: { subscriptionIdentifier: 11 } });
      await sub.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 22 } });
      await sub.subscribeAsync('sid/only', { qos: 1 });
      const pub = await ctx.connect();
      await pub.publishAsync('sid/x', 'both', { qos: 1 });
      await pub.publishAsync('sid/x/y', 'one', { qos: 1 });
      await pub.publishAsync('sid/only', 'three', { qos: 1 });
      const got = await inbox.count(3);
      assert.deepEqual(
        got.map((m) => [m.payload, m.packet.qos, subscriptionIds(m.packet)]),
        [
          ['both', 1, [11, 22]],
          ['one', 1, [22]],
          ['three', 1, [11, 22]],
        ],
      );
    },
  );

  c('a retained message delivered on subscribe carries that subscription identifier', {}, async (ctx) => {
    const pub = await ctx.connect();
    await pub.publishAsync('sidr/t', 'r', { qos: 1, retain: true });
    const sub = await ctx.connect();
    const inbox = new Inbox(sub);
    await sub.subscribeAsync('sidr/#', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    const [m] = await inbox.count(1);
    assert.deepEqual(subscriptionIds(m.packet), [7]);
    assert.equal(m.packet.retain, true);
  });

  c('no local: a client does not receive its own messages on a no-local subscription', {}, async (ctx) => {
    const self = await ctx.connect();
    const inbox = new Inbox(self);
    await self.subscribeAsync('nl/t', { qos: 1, nl: true });
    await self.subscribeAsync('nl/other', { qos: 1 });
    await self.publishAsync('nl/t', 'own', { qos: 1 });
    await self.publishAsync('nl/other', 'own-other', { qos: 1 });
    const peer = await ctx.connect();
    await peer.publishAsync('nl/t', 'peer', { qos: 1 });
    assert.deepEqual(
      (await inbox.upTo('peer')).map((m) => m.payload),
      ['own-other', 'peer'],
    );
  });

  c('shared subscriptions: each message goes to exactly one member, spread round robin', {}, async (ctx) => {
    const members = await Promise.all([ctx.connect(), ctx.connect(), ctx.connect()]);
    const inboxes = members.map((m) => new Inbox(m));
    const groupDone = groupTotal(members, 12);
    for (const m of members) await m.subscribeAsync('$share/g1/jobs/+', { qos: 1 });
    const plain = await ctx.connect();
    const plainIn = new Inbox(plain);
    await plain.subscribeAsync('jobs/+', { qos: 1 });
    const pub = await ctx.connect();
    const sent = Array.from({ length: 12 }, (_, i) => `job${i}`);
    for (const p of sent) await pub.publishAsync('jobs/a', p, { qos: 1 });
    await plainIn.count(12);
    await groupDone;
    const all = inboxes.flatMap((ib) => ib.payloads());
    assert.deepEqual([...all].sort(), [...sent].sort(), 'each message went to exactly one member');
    for (const ib of inboxes) assert.equal(ib.messages.length, 4, 'round robin spreads evenly');
    for (const ib of inboxes) assert.ok(ib.messages.every((m) => m.topic === 'jobs/a'));
  });

  c('two share groups on one filter each get every message once', {}, async (ctx) => {
    const a1 = await ctx.connect();
    const a2 = await ctx.connect();
    const b1 = await ctx.connect();
    const inA = [new Inbox(a1), new Inbox(a2)];
    const aDone = groupTotal([a1, a2], 6);
    const inB = new Inbox(b1);
    await a1.subscribeAsync('$share/A/grp/#', { qos: 1 });
    await a2.subscribeAsync('$share/A/grp/#', { qos: 1 });
    await b1.subscribeAsync('$share/B/grp/#', { qos: 1 });
    const pub = await ctx.connect();
    for (let i = 0; i < 6; i++) await pub.publishAsync('grp/x', `m${i}`, { qos: 1 });
    assert.equal((await inB.count(6)).length, 6);
    await aDone;
    assert.deepEqual(inA.flatMap((ib) => ib.payloads()).sort(), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });

  c('shared subscriptions get no retained messages on subscribe', {}, async (ctx) => {
    const pub = await ctx.connect();
    await pub.publishAsync('sr/t', 'retained', { qos: 1, retain: true });
    const member = await ctx.connect();
    const inbox = new Inbox(member);
    await member.subscribeAsync('$share/g/sr/#', { qos: 1 });
    await pub.publishAsync('sr/t', 'live', { qos: 1 });
    assert.deepEqual(
      (await inbox.upTo('live')).map((m) => m.payload),
      ['live'],
    );
  });

  c('unsubscribing one share member sends the group messages to the remaining member', {}, async (ctx) => {
    const a = await ctx.connect();
    const b = await ctx.connect();
    const inA = new Inbox(a);
    const inB = new Inbox(b);
    await a.subscribeAsync('$share/g/us/t', { qos: 1 });
    await b.subscribeAsync('$share/g/us/t', { qos: 1 });
    await a.unsubscribeAsync('$share/g/us/t');
    const pub = await ctx.connect();
    for (let i = 0; i < 4; i++) await pub.publishAsync('us/t', `m${i}`, { qos: 1 });
    assert.deepEqual(
      (await inB.count(4)).map((m) => m.payload),
      ['m0', 'm1', 'm2', 'm3'],
    );
    assert.equal(inA.messages.length, 0);
  });
}
