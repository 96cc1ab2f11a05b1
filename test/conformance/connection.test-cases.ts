import assert from 'node:assert/strict';
import type { IDisconnectPacket } from 'mqtt-packet';
import { connected, Inbox, once, type Case } from './support.js';

export function connectionCases(c: Case): void {
  c(
    'CONNACK (v5) states the broker limits',
    { options: { receiveMaximum: 50, maxPacketSize: 4096, topicAliasMaximum: 7 } },
    async (ctx) => {
      const { connack } = await ctx.connectWithAck();
      assert.equal(connack.reasonCode, 0);
      assert.equal(connack.sessionPresent, false);
      assert.equal(connack.properties?.receiveMaximum, 50);
      assert.equal(connack.properties?.maximumPacketSize, 4096);
      assert.equal(connack.properties?.topicAliasMaximum, 7);
    },
  );

  c('v3.1.1 and v3.1 clients connect, subscribe and exchange QoS 0/1/2 messages', {}, async (ctx) => {
    const v4 = await ctx.connect({ protocolVersion: 4 });
    const v3 = await ctx.connect({ protocolVersion: 3, protocolId: 'MQIsdp' });
    const in4 = new Inbox(v4);
    const in3 = new Inbox(v3);
    const g4 = await v4.subscribeAsync('legacy/to4', { qos: 2 });
    const g3 = await v3.subscribeAsync('legacy/to3', { qos: 1 });
    assert.deepEqual([g4[0].qos, g3[0].qos], [2, 1]);
    for (const qos of [0, 1, 2] as const) {
      await v3.publishAsync('legacy/to4', `q${qos}`, { qos });
      await v4.publishAsync('legacy/to3', `q${qos}`, { qos });
    }
    assert.deepEqual(
      (await in4.count(3)).map((m) => [m.payload, m.packet.qos]),
      [
        ['q0', 0],
        ['q1', 1],
        ['q2', 2],
      ],
    );
    assert.deepEqual(
      (await in3.count(3)).map((m) => [m.payload, m.packet.qos]),
      [
        ['q0', 0],
        ['q1', 1],
        ['q2', 1],
      ],
    );
  });

  c('an empty client id gets an assigned client identifier (v5)', {}, async (ctx) => {
    const { client, connack } = await ctx.connectWithAck({ clientId: '' });
    const assigned = connack.properties?.assignedClientIdentifier;
    assert.equal(typeof assigned, 'string');
    assert.ok((assigned as string).length > 0);
    // The assigned id works like any other: a second client with it takes the session over.
    const closed = once(client, 'close');
    await ctx.connect({ clientId: assigned as string });
    await closed;
  });

  c('an empty client id with clean session 0 is refused with CONNACK 2 (v3.1.1)', {}, async (ctx) => {
    const raw = await ctx.raw(4);
    // CONNECT, MQTT level 4, flags 0 (clean session 0), keep-alive 0, client id '' (mqtt-packet will not encode it).
    raw.stream.write(
      Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]),
    );
    assert.equal((await raw.next('connack')).returnCode, 2);
    await raw.closed;
    const ok = await ctx.raw(4);
    assert.equal((await ok.connect({ clientId: '', clean: true })).returnCode, 0);
  });

  c('an unsupported protocol level gets CONNACK 1 and the connection closes', {}, async (ctx) => {
    const raw = await ctx.raw(4);
    raw.stream.write(
      Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x07, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61]),
    );
    assert.equal((await raw.next('connack')).returnCode, 1);
    await raw.closed;
  });

  c('a first packet other than CONNECT closes the connection', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    raw.send({ cmd: 'pingreq' });
    await raw.closed;
    assert.equal(raw.received.length, 0);
  });

  c('a second CONNECT is a protocol error: DISCONNECT 0x82 (v5)', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    await raw.connect({ clientId: 'twice' });
    raw.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clean: true,
      clientId: 'twice',
      keepalive: 0,
    });
    assert.equal((await raw.next('disconnect')).reasonCode, 0x82);
    await raw.closed;
  });

  c(
    'Server Keep Alive is returned when the client asks more than the maximum',
    { options: { maxKeepAlive: 10 } },
    async (ctx) => {
      const { connack } = await ctx.connectWithAck({ keepalive: 100 });
      assert.equal(connack.properties?.serverKeepAlive, 10);
      const { connack: within } = await ctx.connectWithAck({ keepalive: 5 });
      assert.equal(within.properties?.serverKeepAlive, undefined);
    },
  );

  c('keep-alive: a silent v5 client gets DISCONNECT 0x8D after 1.5 x keep-alive', {}, async (ctx) => {
    const raw = await ctx.raw(5);
    const t0 = Date.now();
    await raw.connect({ keepalive: 1 });
    const disconnect = await raw.next('disconnect');
    const elapsed = Date.now() - t0;
    assert.equal(disconnect.reasonCode, 0x8d);
    await raw.closed;
    assert.ok(elapsed >= 1400 && elapsed < 4000, `closed after ${elapsed} ms`);
  });

  c('keep-alive: a silent v3.1.1 client is closed; a pinging one stays', {}, async (ctx) => {
    const silent = await ctx.raw(4);
    const pinging = await ctx.raw(4);
    await pinging.connect({ keepalive: 1 });
    await silent.connect({ keepalive: 1 });
    let pings = 0;
    const pinger = setInterval(() => {
      pings++;
      pinging.send({ cmd: 'pingreq' });
    }, 300);
    try {
      await silent.closed;
    } finally {
      clearInterval(pinger);
    }
    assert.ok(pings >= 3);
    assert.ok(!pinging.stream.destroyed, 'the pinging client is still connected');
    await pinging.ping();
    assert.equal(silent.received.filter((p) => p.cmd === 'disconnect').length, 0, 'no DISCONNECT in 3.1.1');
  });

  c('session takeover: the old connection gets DISCONNECT 0x8E and closes', {}, async (ctx) => {
    const id = ctx.id('takeover');
    const old = await ctx.connect({ clientId: id });
    const disconnect = once<IDisconnectPacket>(old, 'disconnect');
    const closed = once(old, 'close');
    const fresh = await ctx.connect({ clientId: id });
    assert.equal((await disconnect).reasonCode, 0x8e);
    await closed;
    assert.ok(fresh.connected);
    // The new connection works.
    const inbox = new Inbox(fresh);
    await fresh.subscribeAsync('to/fresh', { qos: 1 });
    await fresh.publishAsync('to/fresh', 'hi', { qos: 1 });
    assert.equal((await inbox.count(1))[0].payload, 'hi');
  });

  c('session takeover of a v3.1.1 client closes the old connection', {}, async (ctx) => {
    const id = ctx.id('takeover4');
    const old = await ctx.connect({ clientId: id, protocolVersion: 4 });
    const closed = once(old, 'close');
    await ctx.connect({ clientId: id, protocolVersion: 4 });
    await closed;
  });

  c('broker shutdown sends DISCONNECT 0x8B to v5 clients', {}, async (ctx) => {
    const client = await ctx.connect();
    const disconnect = once<IDisconnectPacket>(client, 'disconnect');
    const closed = once(client, 'close');
    await ctx.server.close();
    assert.equal((await disconnect).reasonCode, 0x8b);
    await closed;
  });

  c(
    '$SYS: clients/connected is published and tracks connections',
    { options: { sysInterval: 1 } },
    async (ctx) => {
      const watcher = ctx.client();
      const values: string[] = [];
      let resolveSeen: () => void = () => undefined;
      const seenTwo = new Promise<void>((resolve) => (resolveSeen = resolve));
      watcher.on('message', (topic, payload) => {
        assert.equal(topic, '$SYS/broker/clients/connected');
        values.push(payload.toString());
        if (values.includes('2')) resolveSeen();
      });
      await connected(watcher);
      await watcher.subscribeAsync('$SYS/broker/clients/connected', { qos: 0 });
      await ctx.connect();
      await seenTwo;
      assert.ok(values.every((v) => /^\d+$/.test(v)));
    },
  );
}
