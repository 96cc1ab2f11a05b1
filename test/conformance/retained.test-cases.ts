import assert from 'node:assert/strict';
import type { MqttClient } from 'mqtt';
import { Inbox, type Case, type Ctx } from './support.js';

/** Subscribes, then publishes a live marker on `markerTopic`: what arrived before it is what the subscribe produced. */
async function subscribeAndMark(
  ctx: Ctx,
  sub: MqttClient,
  inbox: Inbox,
  filter: string,
  opts: { qos: 0 | 1 | 2; rh?: number; rap?: boolean },
  markerTopic: string,
): Promise<string[]> {
  const marker = `marker-${inbox.messages.length}-${Math.random()}`;
  const before = inbox.messages.length;
  await sub.subscribeAsync(filter, opts);
  const pub = await ctx.connect();
  await pub.publishAsync(markerTopic, marker, { qos: 1 });
  const got = await inbox.upTo(marker);
  await pub.endAsync();
  return got.slice(before, -1).map((m) => m.payload);
}

export function retainedCases(c: Case): void {
  c(
    'a retained message is delivered on subscribe with the retain flag; replaced; cleared by empty payload',
    {},
    async (ctx) => {
      const pub = await ctx.connect();
      await pub.publishAsync('ret/a', 'first', { qos: 1, retain: true });
      await pub.publishAsync('ret/a', 'second', { qos: 1, retain: true });

      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      await sub.subscribeAsync('ret/+', { qos: 1 });
      const [retained] = await inbox.count(1);
      assert.equal(retained.topic, 'ret/a');
      assert.equal(retained.payload, 'second', 'the newer retained message replaced the older');
      assert.equal(retained.packet.retain, true);
      assert.equal(retained.packet.qos, 1);

      // A live message published with retain reaches an existing subscriber with retain 0 (no RAP).
      await pub.publishAsync('ret/a', 'third', { qos: 1, retain: true });
      const [, live] = await inbox.count(2);
      assert.equal(live.payload, 'third');
      assert.equal(live.packet.retain, false);

      // An empty retained payload clears it (and is itself forwarded).
      await pub.publishAsync('ret/a', '', { qos: 1, retain: true });
      await inbox.count(3);
      const late = await ctx.connect();
      const lateInbox = new Inbox(late);
      assert.deepEqual(await subscribeAndMark(ctx, late, lateInbox, 'ret/+', { qos: 1 }, 'ret/marker'), []);
    },
  );

  c(
    'retained messages are delivered at min(message QoS, granted QoS) and for wildcard filters',
    {},
    async (ctx) => {
      const pub = await ctx.connect();
      await pub.publishAsync('rq/one', '1', { qos: 2, retain: true });
      await pub.publishAsync('rq/two/deep', '2', { qos: 1, retain: true });
      await pub.publishAsync('other/three', '3', { qos: 1, retain: true });
      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      const got = await subscribeAndMark(ctx, sub, inbox, 'rq/#', { qos: 1 }, 'rq/marker');
      assert.deepEqual(got.sort(), ['1', '2']);
      for (const m of inbox.messages.filter((x) => x.packet.retain)) assert.equal(m.packet.qos, 1);
    },
  );

  c(
    'retain handling 0 sends retained on every subscribe, 1 only on a new subscription, 2 never',
    {},
    async (ctx) => {
      const pub = await ctx.connect();
      await pub.publishAsync('rh/t', 'kept', { qos: 1, retain: true });
      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      assert.deepEqual(await subscribeAndMark(ctx, sub, inbox, 'rh/t', { qos: 1, rh: 0 }, 'rh/t'), ['kept']);
      assert.deepEqual(await subscribeAndMark(ctx, sub, inbox, 'rh/t', { qos: 1, rh: 0 }, 'rh/t'), ['kept']);

      const sub1 = await ctx.connect();
      const inbox1 = new Inbox(sub1);
      assert.deepEqual(await subscribeAndMark(ctx, sub1, inbox1, 'rh/t', { qos: 1, rh: 1 }, 'rh/t'), [
        'kept',
      ]);
      assert.deepEqual(await subscribeAndMark(ctx, sub1, inbox1, 'rh/t', { qos: 1, rh: 1 }, 'rh/t'), []);

      const sub2 = await ctx.connect();
      const inbox2 = new Inbox(sub2);
      assert.deepEqual(await subscribeAndMark(ctx, sub2, inbox2, 'rh/t', { qos: 1, rh: 2 }, 'rh/t'), []);
    },
  );

  c('retain as published keeps the retain flag on live messages', {}, async (ctx) => {
    const rap = await ctx.connect();
    const plain = await ctx.connect();
    const rapInbox = new Inbox(rap);
    const plainInbox = new Inbox(plain);
    await rap.subscribeAsync('rap/t', { qos: 1, rap: true });
    await plain.subscribeAsync('rap/t', { qos: 1, rap: false });
    const pub = await ctx.connect();
    await pub.publishAsync('rap/t', 'r', { qos: 1, retain: true });
    await pub.publishAsync('rap/t', 'n', { qos: 1, retain: false });
    assert.deepEqual(
      (await rapInbox.count(2)).map((m) => [m.payload, m.packet.retain]),
      [
        ['r', true],
        ['n', false],
      ],
    );
    assert.deepEqual(
      (await plainInbox.count(2)).map((m) => [m.payload, m.packet.retain]),
      [
        ['r', false],
        ['n', false],
      ],
    );
  });

  c('retained messages work for v3.1.1 and v3.1 clients', {}, async (ctx) => {
    const v3 = await ctx.connect({ protocolVersion: 3, protocolId: 'MQIsdp' });
    await v3.publishAsync('legacy/r', 'from-3.1', { qos: 1, retain: true });
    const v4 = await ctx.connect({ protocolVersion: 4 });
    const inbox = new Inbox(v4);
    await v4.subscribeAsync('legacy/#', { qos: 1 });
    const [m] = await inbox.count(1);
    assert.deepEqual([m.topic, m.payload, m.packet.retain], ['legacy/r', 'from-3.1', true]);
  });
}
