import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import { Inbox, type Case } from './support.js';

export function qosCases(c: Case): void {
  c(
    'delivery QoS is the minimum of publish QoS and granted QoS, with packet ids for QoS > 0',
    {},
    async (ctx) => {
      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      const granted = await sub.subscribeAsync({
        'q/g0': { qos: 0 },
        'q/g1': { qos: 1 },
        'q/g2': { qos: 2 },
      });
      assert.deepEqual(
        granted.map((g) => [g.topic, g.qos]),
        [
          ['q/g0', 0],
          ['q/g1', 1],
          ['q/g2', 2],
        ],
      );
      const pub = await ctx.connect();
      for (const g of [0, 1, 2] as const) {
        for (const p of [0, 1, 2] as const) await pub.publishAsync(`q/g${g}`, `p${p}g${g}`, { qos: p });
      }
      const got = await inbox.count(9);
      for (const m of got) {
        const [p, g] = [Number(m.payload[1]), Number(m.payload[3])];
        assert.equal(m.topic, `q/g${g}`);
        assert.equal(m.packet.qos, Math.min(p, g), m.payload);
        if (m.packet.qos > 0) assert.ok((m.packet.messageId ?? 0) > 0, 'QoS > 0 carries a packet id');
        assert.equal(m.packet.dup, false);
      }
      // Per topic, messages keep their publish order.
      for (const g of [0, 1, 2]) {
        assert.deepEqual(
          got.filter((m) => m.topic === `q/g${g}`).map((m) => m.payload),
          [0, 1, 2].map((p) => `p${p}g${g}`),
        );
      }
    },
  );

  c('QoS 1 and 2 from a v3.1.1 publisher reach a v5 subscriber and vice versa', {}, async (ctx) => {
    const v5 = await ctx.connect({ protocolVersion: 5 });
    const v4 = await ctx.connect({ protocolVersion: 4 });
    const in5 = new Inbox(v5);
    const in4 = new Inbox(v4);
    await v5.subscribeAsync('mix/to5', { qos: 2 });
    await v4.subscribeAsync('mix/to4', { qos: 2 });
    await v4.publishAsync('mix/to5', 'a', { qos: 1 });
    await v4.publishAsync('mix/to5', 'b', { qos: 2 });
    await v5.publishAsync('mix/to4', 'c', { qos: 1 });
    await v5.publishAsync('mix/to4', 'd', { qos: 2 });
    assert.deepEqual(
      (await in5.count(2)).map((m) => [m.payload, m.packet.qos]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    assert.deepEqual(
      (await in4.count(2)).map((m) => [m.payload, m.packet.qos]),
      [
        ['c', 1],
        ['d', 2],
      ],
    );
  });

  c('an inbound QoS 2 PUBLISH re-sent before PUBREL is delivered exactly once', {}, async (ctx) => {
    const sub = await ctx.connect();
    const inbox = new Inbox(sub);
    await sub.subscribeAsync('once/x', { qos: 2 });
    const raw = await ctx.raw(5);
    assert.equal((await raw.connect()).reasonCode, 0);
    const publish: IPublishPacket = {
      cmd: 'publish',
      topic: 'once/x',
      payload: 'only-once',
      qos: 2,
      retain: false,
      dup: false,
      messageId: 7,
    };
    raw.send(publish);
    assert.equal((await raw.next('pubrec')).messageId, 7);
    raw.send({ ...publish, dup: true });
    assert.equal((await raw.next('pubrec')).messageId, 7);
    raw.send({ cmd: 'pubrel', messageId: 7 });
    const pubcomp = await raw.next('pubcomp');
    assert.equal(pubcomp.messageId, 7);
    assert.equal(pubcomp.reasonCode ?? 0, 0);
    // The same packet id is free again: a new message with it is a new message.
    raw.send({ ...publish, payload: 'marker' });
    await raw.next('pubrec');
    raw.send({ cmd: 'pubrel', messageId: 7 });
    await raw.next('pubcomp');
    assert.deepEqual(
      (await inbox.upTo('marker')).map((m) => m.payload),
      ['only-once', 'marker'],
    );
  });

  c('outbound QoS 2 completes the PUBREC/PUBREL/PUBCOMP flow with a raw subscriber', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    await raw.connect();
    const suback = await raw.subscribe([{ topic: 'q2/out', qos: 2 }]);
    assert.deepEqual(suback.granted, [2]);
    const pub = await ctx.connect();
    await pub.publishAsync('q2/out', 'x', { qos: 2 });
    const msg = await raw.next('publish');
    assert.equal(msg.qos, 2);
    assert.ok((msg.messageId ?? 0) > 0);
    raw.send({ cmd: 'pubrec', messageId: msg.messageId });
    const pubrel = await raw.next('pubrel');
    assert.equal(pubrel.messageId, msg.messageId);
    raw.send({ cmd: 'pubcomp', messageId: msg.messageId });
    await raw.ping();
    assert.equal(raw.publishes().length, 1, 'no re-delivery after the flow completed');
  });

  c('PUBREL for an unknown packet id gets PUBCOMP 0x92 (v5)', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    await raw.connect();
    raw.send({ cmd: 'pubrel', messageId: 99 });
    const pubcomp = await raw.next('pubcomp');
    assert.equal(pubcomp.messageId, 99);
    assert.equal(pubcomp.reasonCode, 0x92);
  });

  c('PUBACK/PUBREC carry 0x10 when no subscriber matched (v5), 0x00 otherwise', {}, async (ctx) => {
    const sub = await ctx.connect();
    await sub.subscribeAsync('somebody/home', { qos: 1 });
    const raw = await ctx.raw(5);
    await raw.connect();
    const base = { cmd: 'publish', payload: 'x', retain: false, dup: false } as const;
    raw.send({ ...base, topic: 'nobody/home', qos: 1, messageId: 1 });
    raw.send({ ...base, topic: 'somebody/home', qos: 1, messageId: 2 });
    raw.send({ ...base, topic: 'nobody/home', qos: 2, messageId: 3 });
    const [a, b] = [await raw.next('puback'), await raw.next('puback')];
    assert.deepEqual(
      [a, b].map((p) => [p.messageId, p.reasonCode ?? 0]),
      [
        [1, 0x10],
        [2, 0],
      ],
    );
    const pubrec = await raw.next('pubrec');
    assert.deepEqual([pubrec.messageId, pubrec.reasonCode], [3, 0x10]);
  });

  c('QoS 1 messages to one subscriber arrive in publish order', {}, async (ctx) => {
    const sub = await ctx.connect();
    const inbox = new Inbox(sub);
    await sub.subscribeAsync('order/#', { qos: 1 });
    const pub = await ctx.connect();
    const sent = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((p, i) => pub.publishAsync(`order/${i % 3}`, p, { qos: 1 })));
    assert.deepEqual(
      (await inbox.count(50)).map((m) => m.payload),
      sent,
    );
  });
}
