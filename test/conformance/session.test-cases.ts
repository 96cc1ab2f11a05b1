import assert from 'node:assert/strict';
import type { IClientOptions } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import { connected, Inbox, type Case, type Ctx } from './support.js';

/** Connects a client whose messages are recorded from the very first packet after CONNACK. */
async function resume(ctx: Ctx, opts: IClientOptions) {
  const client = ctx.client(opts);
  const inbox = new Inbox(client);
  const connack = await connected(client);
  return { client, inbox, connack };
}

export function sessionCases(c: Case): void {
  c(
    'v5 resumed session: sessionPresent, subscriptions kept, offline QoS 1/2 delivered, QoS 0 not queued',
    {},
    async (ctx) => {
      const id = ctx.id('persist');
      const opts: IClientOptions = { clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } };
      const first = await resume(ctx, opts);
      assert.equal(first.connack.sessionPresent, false);
      await first.client.subscribeAsync('persist/#', { qos: 2 });
      await first.client.endAsync();

      const pub = await ctx.connect();
      await pub.publishAsync('persist/a', 'q1', { qos: 1 });
      await pub.publishAsync('persist/a', 'q0', { qos: 0 });
      await pub.publishAsync('persist/b', 'q2', { qos: 2 });

      const second = await resume(ctx, opts);
      assert.equal(second.connack.sessionPresent, true);
      const got = await second.inbox.count(2);
      assert.deepEqual(
        got.map((m) => [m.payload, m.packet.qos]),
        [
          ['q1', 1],
          ['q2', 2],
        ],
      );
      // The subscription is still live without re-subscribing.
      await pub.publishAsync('persist/c', 'live', { qos: 1 });
      assert.deepEqual(
        (await second.inbox.upTo('live')).map((m) => m.payload),
        ['q1', 'q2', 'live'],
      );
    },
  );

  c('clean start discards the previous session', {}, async (ctx) => {
    const id = ctx.id('clean');
    const first = await resume(ctx, {
      clientId: id,
      clean: false,
      properties: { sessionExpiryInterval: 300 },
    });
    await first.client.subscribeAsync('clean/t', { qos: 1 });
    await first.client.endAsync();
    const pub = await ctx.connect();
    await pub.publishAsync('clean/t', 'queued', { qos: 1 });

    const second = await resume(ctx, {
      clientId: id,
      clean: true,
      properties: { sessionExpiryInterval: 300 },
    });
    assert.equal(second.connack.sessionPresent, false);
    await second.client.subscribeAsync('clean/marker', { qos: 1 });
    await pub.publishAsync('clean/t', 'after', { qos: 1 });
    await pub.publishAsync('clean/marker', 'marker', { qos: 1 });
    assert.deepEqual(
      (await second.inbox.upTo('marker')).map((m) => m.payload),
      ['marker'],
      'neither the queued message nor the old subscription survived',
    );
  });

  c('session expiry 0 (v5 default): nothing survives the connection', {}, async (ctx) => {
    const id = ctx.id('transient');
    const first = await resume(ctx, { clientId: id, clean: false });
    await first.client.subscribeAsync('transient/t', { qos: 1 });
    await first.client.endAsync();
    const second = await resume(ctx, { clientId: id, clean: false });
    assert.equal(second.connack.sessionPresent, false);
  });

  c('v3.1.1 clean session 0 resumes with subscriptions and queued QoS 1 messages', {}, async (ctx) => {
    const id = ctx.id('persist4');
    const opts: IClientOptions = { clientId: id, clean: false, protocolVersion: 4 };
    const first = await resume(ctx, opts);
    assert.equal(first.connack.sessionPresent, false);
    await first.client.subscribeAsync('p4/t', { qos: 1 });
    await first.client.endAsync();
    const pub = await ctx.connect({ protocolVersion: 4 });
    for (const p of ['a', 'b', 'c']) await pub.publishAsync('p4/t', p, { qos: 1 });
    const second = await resume(ctx, opts);
    assert.equal(second.connack.sessionPresent, true);
    assert.deepEqual(
      (await second.inbox.count(3)).map((m) => m.payload),
      ['a', 'b', 'c'],
    );
    const clean = await resume(ctx, { ...opts, clean: true });
    assert.equal(clean.connack.sessionPresent, false);
  });

  c(
    'an expired queued message is not delivered when the session comes back',
    { clock: true },
    async (ctx) => {
      const id = ctx.id('expq');
      const opts: IClientOptions = {
        clientId: id,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      };
      const first = await resume(ctx, opts);
      await first.client.subscribeAsync('expq/t', { qos: 1 });
      await first.client.endAsync();
      const pub = await ctx.connect();
      await pub.publishAsync('expq/t', 'short', { qos: 1, properties: { messageExpiryInterval: 1 } });
      await pub.publishAsync('expq/t', 'long', { qos: 1, properties: { messageExpiryInterval: 100 } });
      await pub.publishAsync('expq/t', 'forever', { qos: 1 });
      ctx.clock!.advance(10_000);
      const second = await resume(ctx, opts);
      assert.equal(second.connack.sessionPresent, true);
      const got = await second.inbox.upTo('forever');
      assert.deepEqual(
        got.map((m) => [m.payload, m.packet.properties?.messageExpiryInterval]),
        [
          ['long', 90],
          ['forever', undefined],
        ],
      );
    },
  );

  c('session expiry: the session is gone once the interval has passed', { clock: true }, async (ctx) => {
    const id = ctx.id('sexp');
    const opts: IClientOptions = { clientId: id, clean: false, properties: { sessionExpiryInterval: 5 } };
    const first = await resume(ctx, opts);
    await first.client.subscribeAsync('sexp/t', { qos: 1 });
    await first.client.endAsync();

    ctx.clock!.advance(2_000);
    const within = await resume(ctx, opts);
    assert.equal(within.connack.sessionPresent, true, 'still there within the interval');
    await within.client.endAsync();

    ctx.clock!.advance(6_000);
    const after = await resume(ctx, opts);
    assert.equal(after.connack.sessionPresent, false, 'gone after the interval');
    const pub = await ctx.connect();
    await after.client.subscribeAsync('sexp/marker', { qos: 1 });
    await pub.publishAsync('sexp/t', 'old-sub', { qos: 1 });
    await pub.publishAsync('sexp/marker', 'marker', { qos: 1 });
    assert.deepEqual(
      (await after.inbox.upTo('marker')).map((m) => m.payload),
      ['marker'],
    );
  });

  c('session expiry set on DISCONNECT (v5) replaces the one from CONNECT', { clock: true }, async (ctx) => {
    const id = ctx.id('dexp');
    const opts: IClientOptions = { clientId: id, clean: false, properties: { sessionExpiryInterval: 3600 } };
    const first = await resume(ctx, opts);
    await first.client.subscribeAsync('dexp/t', { qos: 1 });
    await first.client.endAsync(false, { properties: { sessionExpiryInterval: 1 } });
    ctx.clock!.advance(5_000);
    const second = await resume(ctx, opts);
    assert.equal(second.connack.sessionPresent, false);
  });

  c(
    'in-flight messages survive a reconnect: QoS 1 re-sent with DUP, QoS 2 after PUBREC resumes with PUBREL',
    {},
    async (ctx) => {
      const id = ctx.id('inflight');
      const connect = { clientId: id, clean: false, properties: { sessionExpiryInterval: 300 } };
      const first = await ctx.raw(5);
      await first.connect(connect);
      await first.subscribe([{ topic: 'infl/#', qos: 2 }]);
      const pub = await ctx.connect();
      await pub.publishAsync('infl/one', 'q1', { qos: 1 });
      await pub.publishAsync('infl/two', 'q2', { qos: 2 });
      const q1 = await first.next<IPublishPacket>((p) => p.cmd === 'publish' && p.qos === 1);
      const q2 = await first.next<IPublishPacket>((p) => p.cmd === 'publish' && p.qos === 2);
      first.send({ cmd: 'pubrec', messageId: q2.messageId });
      await first.next('pubrel');
      first.destroy(); // neither PUBACK nor PUBCOMP sent

      const second = await ctx.raw(5);
      assert.equal((await second.connect(connect)).sessionPresent, true);
      const again = await second.next('publish');
      assert.deepEqual([again.payload.toString(), again.dup, again.messageId], ['q1', true, q1.messageId]);
      const pubrel = await second.next('pubrel');
      assert.equal(pubrel.messageId, q2.messageId);
      second.send({ cmd: 'puback', messageId: again.messageId });
      second.send({ cmd: 'pubcomp', messageId: pubrel.messageId });
      await second.ping();
      assert.equal(second.publishes().length, 1, 'the QoS 2 message was not delivered a second time');
    },
  );

  c(
    'the broker caps Session Expiry Interval and says so in CONNACK',
    { options: { maxSessionExpiry: 60 } },
    async (ctx) => {
      const { connack } = await ctx.connectWithAck({
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
      });
      assert.equal(connack.properties?.sessionExpiryInterval, 60);
    },
  );
}
