import assert from 'node:assert/strict';
import type { IConnectPacket } from 'mqtt-packet';
import { Inbox, type Case, type Ctx } from './support.js';

type Will = NonNullable<IConnectPacket['will']>;

function will(topic: string, payload: string, properties?: Will['properties']): Will {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: false, properties };
}

/** A watcher subscribed to the will topics, and a way to publish a marker after which nothing else is expected. */
async function watch(ctx: Ctx, filter: string) {
  const watcher = await ctx.connect();
  const inbox = new Inbox(watcher);
  await watcher.subscribeAsync(filter, { qos: 1 });
  const marker = async (topic: string): Promise<string[]> => {
    const pub = await ctx.connect();
    await pub.publishAsync(topic, 'marker', { qos: 1 });
    await pub.endAsync();
    return (await inbox.upTo('marker')).map((m) => m.payload);
  };
  return { inbox, marker };
}

export function willCases(c: Case): void {
  c('the will is published when the connection drops, with its properties', {}, async (ctx) => {
    const { inbox } = await watch(ctx, 'will/#');
    const client = await ctx.connect({
      will: will('will/drop', 'gone', {
        contentType: 'text/plain',
        userProperties: { why: 'test' },
        responseTopic: 'will/reply',
        correlationData: Buffer.from('cd'),
      }),
    });
    client.stream.destroy();
    const [m] = await inbox.count(1);
    assert.deepEqual([m.topic, m.payload, m.packet.qos], ['will/drop', 'gone', 1]);
    assert.equal(m.packet.properties?.contentType, 'text/plain');
    assert.deepEqual({ ...m.packet.properties?.userProperties }, { why: 'test' });
    assert.equal(m.packet.properties?.responseTopic, 'will/reply');
    assert.equal(Buffer.from(m.packet.properties?.correlationData ?? []).toString(), 'cd');
  });

  c('a v3.1.1 client will is published on abnormal close, retained if asked', {}, async (ctx) => {
    const client = await ctx.connect({
      protocolVersion: 4,
      will: { ...will('will4/t', 'bye'), retain: true },
    });
    const { inbox } = await watch(ctx, 'will4/#');
    client.stream.destroy();
    const [live] = await inbox.count(1);
    assert.equal(live.payload, 'bye');
    const late = await ctx.connect();
    const lateIn = new Inbox(late);
    await late.subscribeAsync('will4/t', { qos: 1 });
    const [retained] = await lateIn.count(1);
    assert.deepEqual([retained.payload, retained.packet.retain], ['bye', true]);
  });

  c('the will is not published after a normal DISCONNECT', {}, async (ctx) => {
    const { marker } = await watch(ctx, 'willn/#');
    const raw = await ctx.raw(5);
    await raw.connect({ will: will('willn/t', 'should-not') });
    raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await raw.closed; // the broker closed the socket: it has processed the DISCONNECT
    assert.deepEqual(await marker('willn/marker'), ['marker']);
  });

  c('the will is published after DISCONNECT with reason 0x04', {}, async (ctx) => {
    const { inbox } = await watch(ctx, 'will04/#');
    const raw = await ctx.raw(5);
    await raw.connect({ will: will('will04/t', 'with-will') });
    raw.send({ cmd: 'disconnect', reasonCode: 0x04 });
    assert.equal((await inbox.count(1))[0].payload, 'with-will');
    await raw.closed;
  });

  c('will delay: published after the delay when the client does not come back', {}, async (ctx) => {
    const { inbox } = await watch(ctx, 'willd/#');
    const client = await ctx.connect({
      properties: { sessionExpiryInterval: 60 },
      will: will('willd/t', 'late', { willDelayInterval: 1 }),
    });
    const t0 = Date.now();
    client.stream.destroy();
    assert.equal((await inbox.count(1))[0].payload, 'late');
    assert.ok(Date.now() - t0 >= 900, `published after ${Date.now() - t0} ms`);
  });

  c('will delay: not published when the client reconnects within the delay', {}, async (ctx) => {
    const { marker } = await watch(ctx, 'willr/#');
    const id = ctx.id('willr');
    const client = await ctx.connect({
      clientId: id,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: will('willr/t', 'should-not', { willDelayInterval: 30 }),
    });
    client.stream.destroy();
    const back = await ctx.raw(5);
    const connack = await back.connect({
      clientId: id,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    assert.equal(connack.sessionPresent, true);
    // Ending the session now would publish a will that were still pending; it must have been cancelled.
    back.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    await back.closed;
    assert.deepEqual(await marker('willr/marker'), ['marker']);
  });

  c('will delay longer than the session expiry: published when the session ends', {}, async (ctx) => {
    const { inbox } = await watch(ctx, 'willse/#');
    const client = await ctx.connect({
      properties: { sessionExpiryInterval: 1 },
      will: will('willse/t', 'at-session-end', { willDelayInterval: 3600 }),
    });
    client.stream.destroy();
    assert.equal((await inbox.count(1))[0].payload, 'at-session-end');
  });

  c('a will with a $ topic is refused (CONNACK 0x90)', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    const connack = await raw.connect({ will: will('$SYS/x', 'no') });
    assert.equal(connack.reasonCode, 0x90);
    await raw.closed;
  });

  c('a will message expiry interval is forwarded', {}, async (ctx) => {
    const { inbox } = await watch(ctx, 'wille/#');
    const client = await ctx.connect({ will: will('wille/t', 'exp', { messageExpiryInterval: 120 }) });
    client.stream.destroy();
    const [m] = await inbox.count(1);
    assert.ok((m.packet.properties?.messageExpiryInterval ?? 0) > 100);
  });
}
