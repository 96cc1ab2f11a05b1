import assert from 'node:assert/strict';
import type { IPublishPacket } from 'mqtt-packet';
import { connected, Inbox, type Case } from './support.js';

export function propertiesCases(c: Case): void {
  c(
    'payload format, content type, response topic, correlation data and user properties pass unchanged',
    {},
    async (ctx) => {
      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      await sub.subscribeAsync('props/t', { qos: 1 });
      const pub = await ctx.connect();
      const properties = {
        payloadFormatIndicator: true,
        contentType: 'application/json',
        responseTopic: 'reply/to/me',
        correlationData: Buffer.from([1, 2, 3, 250]),
        userProperties: { a: '1', multi: ['x', 'y'], ünï: 'çødé' },
      };
      await pub.publishAsync('props/t', '{"v":1}', { qos: 1, properties });
      const [m] = await inbox.count(1);
      const p = m.packet.properties ?? {};
      assert.equal(p.payloadFormatIndicator, true);
      assert.equal(p.contentType, 'application/json');
      assert.equal(p.responseTopic, 'reply/to/me');
      assert.deepEqual(Buffer.from(p.correlationData ?? []), properties.correlationData);
      assert.deepEqual({ ...p.userProperties }, properties.userProperties);
      assert.equal(p.messageExpiryInterval, undefined, 'no expiry was set');
    },
  );

  c('a payload marked UTF-8 that is not gets PUBACK 0x99 and is not forwarded', {}, async (ctx) => {
    const sub = await ctx.connect();
    const inbox = new Inbox(sub);
    await sub.subscribeAsync('pfi/t', { qos: 1 });
    const raw = await ctx.raw(5);
    await raw.connect();
    const base = { cmd: 'publish', topic: 'pfi/t', qos: 1, retain: false, dup: false } as const;
    raw.send({
      ...base,
      payload: Buffer.from([0xff, 0xfe]),
      messageId: 1,
      properties: { payloadFormatIndicator: true },
    });
    assert.equal((await raw.next('puback')).reasonCode, 0x99);
    raw.send({ ...base, payload: 'marker', messageId: 2 });
    await raw.next('puback');
    assert.deepEqual(
      (await inbox.upTo('marker')).map((m) => m.payload),
      ['marker'],
    );
  });

  c('client-to-broker topic alias: defined with a topic, then used with an empty topic', {}, async (ctx) => {
    const sub = await ctx.connect();
    const inbox = new Inbox(sub);
    await sub.subscribeAsync('alias/#', { qos: 1 });
    const raw = await ctx.raw(5);
    const connack = await raw.connect();
    assert.ok((connack.properties?.topicAliasMaximum ?? 0) >= 1);
    const base = { cmd: 'publish', qos: 1, retain: false, dup: false } as const;
    raw.send({
      ...base,
      topic: 'alias/long/topic',
      payload: 'one',
      messageId: 1,
      properties: { topicAlias: 1 },
    });
    raw.send({ ...base, topic: '', payload: 'two', messageId: 2, properties: { topicAlias: 1 } });
    raw.send({
      ...base,
      topic: 'alias/other',
      payload: 'three',
      messageId: 3,
      properties: { topicAlias: 1 },
    });
    raw.send({ ...base, topic: '', payload: 'four', messageId: 4, properties: { topicAlias: 1 } });
    const got = await inbox.count(4);
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload]),
      [
        ['alias/long/topic', 'one'],
        ['alias/long/topic', 'two'],
        ['alias/other', 'three'],
        ['alias/other', 'four'],
      ],
    );
  });

  c('an undefined or out-of-range topic alias closes the connection with DISCONNECT', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    await raw.connect();
    raw.send({
      cmd: 'publish',
      topic: '',
      payload: 'x',
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: 5 },
    });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
    await raw.closed;

    const raw2 = await ctx.raw(5);
    const connack = await raw2.connect();
    const max = connack.properties?.topicAliasMaximum ?? 0;
    raw2.send({
      cmd: 'publish',
      topic: 't',
      payload: 'x',
      qos: 0,
      retain: false,
      dup: false,
      properties: { topicAlias: max + 1 },
    });
    assert.equal((await raw2.next('disconnect')).reasonCode, 0x94);
    await raw2.closed;
  });

  c('broker-to-client topic alias when the client allows them', {}, async (ctx) => {
    const sub = ctx.client({ properties: { topicAliasMaximum: 5 } });
    const wire: { topic: string; alias: number | undefined }[] = [];
    sub.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') wire.push({ topic: packet.topic, alias: packet.properties?.topicAlias });
    });
    const inbox = new Inbox(sub);
    await connected(sub);
    await sub.subscribeAsync('ta/#', { qos: 1 });
    const pub = await ctx.connect();
    await pub.publishAsync('ta/some/long/topic', 'one', { qos: 1 });
    await pub.publishAsync('ta/some/long/topic', 'two', { qos: 1 });
    const got = await inbox.count(2);
    assert.deepEqual(
      got.map((m) => [m.topic, m.payload]),
      [
        ['ta/some/long/topic', 'one'],
        ['ta/some/long/topic', 'two'],
      ],
    );
    assert.equal(wire[0].topic, 'ta/some/long/topic');
    assert.equal(typeof wire[0].alias, 'number');
    assert.deepEqual(wire[1], { topic: '', alias: wire[0].alias });
  });

  c('no topic aliases are sent to a client that did not allow them', {}, async (ctx) => {
    const sub = await ctx.connect();
    const aliases: unknown[] = [];
    sub.on('packetreceive', (packet) => {
      if (packet.cmd === 'publish') aliases.push(packet.properties?.topicAlias);
    });
    const inbox = new Inbox(sub);
    await sub.subscribeAsync('nta/t', { qos: 0 });
    const pub = await ctx.connect();
    await pub.publishAsync('nta/t', 'a', { qos: 1 });
    await pub.publishAsync('nta/t', 'b', { qos: 1 });
    await inbox.count(2);
    assert.deepEqual(aliases, [undefined, undefined]);
  });

  c(
    'message expiry: remaining interval is forwarded and decreases; expired retained is dropped',
    { clock: true },
    async (ctx) => {
      const clock = ctx.clock!;
      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      await sub.subscribeAsync('exp/live', { qos: 1 });
      const pub = await ctx.connect();
      await pub.publishAsync('exp/live', 'live', { qos: 1, properties: { messageExpiryInterval: 60 } });
      assert.equal((await inbox.count(1))[0].packet.properties?.messageExpiryInterval, 60);

      await pub.publishAsync('exp/kept', 'kept', {
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: 100 },
      });
      await pub.publishAsync('exp/gone', 'gone', {
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: 5 },
      });
      clock.advance(30_000);
      const late = await ctx.connect();
      const lateIn = new Inbox(late);
      await late.subscribeAsync('exp/+', { qos: 1 });
      await pub.publishAsync('exp/marker', 'marker', { qos: 1 });
      const got = await lateIn.upTo('marker');
      assert.deepEqual(
        got.map((m) => m.payload),
        ['kept', 'marker'],
      );
      assert.equal(got[0].packet.properties?.messageExpiryInterval, 70);
    },
  );

  c('maximum packet size: messages larger than the client allows are not sent to it', {}, async (ctx) => {
    const small = await ctx.connect({ properties: { maximumPacketSize: 200 } });
    const inbox = new Inbox(small);
    await small.subscribeAsync('mps/#', { qos: 1 });
    const pub = await ctx.connect();
    await pub.publishAsync('mps/big', 'x'.repeat(500), { qos: 1 });
    await pub.publishAsync('mps/big0', 'y'.repeat(500), { qos: 0 });
    await pub.publishAsync('mps/small', 'marker', { qos: 1 });
    assert.deepEqual(
      (await inbox.upTo('marker')).map((m) => m.payload),
      ['marker'],
    );
  });

  c(
    'maximum packet size: a client sending a larger packet gets DISCONNECT 0x95',
    { options: { maxPacketSize: 1000 } },
    async (ctx) => {
      const sub = await ctx.connect();
      const inbox = new Inbox(sub);
      await sub.subscribeAsync('big/#', { qos: 0 });
      const raw = await ctx.raw(5);
      const connack = await raw.connect();
      assert.equal(connack.properties?.maximumPacketSize, 1000);
      raw.send({
        cmd: 'publish',
        topic: 'big/t',
        payload: Buffer.alloc(2000, 1),
        qos: 0,
        retain: false,
        dup: false,
      });
      assert.equal((await raw.next('disconnect')).reasonCode, 0x95);
      await raw.closed;
      const pub = await ctx.connect();
      await pub.publishAsync('big/t', 'marker', { qos: 1 });
      assert.deepEqual(
        (await inbox.upTo('marker')).map((m) => m.payload),
        ['marker'],
      );
    },
  );

  c('receive maximum: the broker keeps at most that many QoS 1 messages unacknowledged', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    await raw.connect({ properties: { receiveMaximum: 2 } });
    await raw.subscribe([{ topic: 'rm/t', qos: 1 }]);
    const pub = await ctx.connect();
    for (let i = 0; i < 10; i++) await pub.publishAsync('rm/t', `m${i}`, { qos: 1 });
    // Every delivery decision was made before the publisher's PUBACKs; a PING round trip flushes the socket.
    await raw.ping();
    assert.deepEqual(
      raw.publishes().map((p) => p.payload.toString()),
      ['m0', 'm1'],
    );
    const acked = new Set<IPublishPacket>();
    const ackOne = (): void => {
      const next = raw.publishes().find((p) => !acked.has(p)) as IPublishPacket;
      acked.add(next);
      raw.send({ cmd: 'puback', messageId: next.messageId });
    };
    ackOne();
    await raw.ping();
    assert.equal(raw.publishes().length, 3, 'one ack frees exactly one slot');
    while (acked.size < 10) {
      const before = raw.publishes().length;
      ackOne();
      if (before < 10) await raw.next((p) => p.cmd === 'publish' && raw.publishes().indexOf(p) >= before);
      assert.ok(raw.publishes().length - acked.size <= 2, 'never more than 2 unacknowledged');
    }
    await raw.ping();
    assert.deepEqual(
      raw.publishes().map((p) => p.payload.toString()),
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
  });

  c(
    'receive maximum: a client exceeding the broker receive maximum gets DISCONNECT 0x93',
    { options: { receiveMaximum: 2 } },
    async (ctx) => {
      const raw = await ctx.raw(5);
      const connack = await raw.connect();
      assert.equal(connack.properties?.receiveMaximum, 2);
      // QoS 2 publishes without PUBREL stay unacknowledged.
      for (let id = 1; id <= 3; id++) {
        raw.send({
          cmd: 'publish',
          topic: 'rmx/t',
          payload: 'x',
          qos: 2,
          retain: false,
          dup: false,
          messageId: id,
        });
      }
      assert.equal((await raw.next('disconnect')).reasonCode, 0x93);
      await raw.closed;
    },
  );
}
