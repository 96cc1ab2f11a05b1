import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { BrokerOptions } from '../src/broker/options.js';
import type { Authenticator } from '../src/broker/auth.js';
import { ConfigUsersAuthenticator } from '../src/devices/config-users.js';
import { startTestBroker } from './helpers/broker-harness.js';
import { RawClient } from './helpers/raw-client.js';

/** Runs a test against a fresh broker with the given limits and always closes it. */
async function withBroker(
  options: Partial<BrokerOptions>,
  body: (port: number, tb: Awaited<ReturnType<typeof startTestBroker>>) => Promise<void>,
): Promise<void> {
  const tb = await startTestBroker({ options });
  try {
    await body(tb.port, tb);
  } finally {
    await tb.close();
  }
}

/** A well-behaved client that must keep working whatever the limits did to others. */
async function assertRoundTrip(port: number, topic: string): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    reconnectPeriod: 0,
    protocolVersion: 5,
  });
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    const arrived = new Promise<string>((resolve) =>
      client.once('message', (_t, p) => resolve(p.toString())),
    );
    await client.publishAsync(topic, 'still here', { qos: 1 });
    assert.equal(await arrived, 'still here');
  } finally {
    await client.endAsync();
  }
}

describe('limits that protect the process', () => {
  it('refuses connections beyond maxConnections with Server busy (0x89), then accepts again', async () => {
    await withBroker({ maxConnections: 2 }, async (port) => {
      const first = await RawClient.connected(port, { protocolVersion: 5, clientId: 'a' });
      const second = await RawClient.connected(port, { protocolVersion: 5, clientId: 'b' });
      const third = await RawClient.connect(port, { protocolVersion: 5 });
      third.send({ cmd: 'connect', clientId: 'c', protocolVersion: 5, clean: true, keepalive: 0 });
      assert.equal((await third.next('connack')).reasonCode, 0x89);
      await third.closed;
      const v4 = await RawClient.connect(port, { protocolVersion: 4 });
      v4.send({ cmd: 'connect', clientId: 'd', protocolVersion: 4, clean: true, keepalive: 0 });
      assert.equal((await v4.next('connack')).returnCode, 3); // 3.1.1: server unavailable
      await v4.closed;
      first.end();
      await first.closed;
      second.end();
      await second.closed;
      await assertRoundTrip(port, 'limits/after-connections');
    });
  });

  it('holds maxConnections when CONNECTs arrive together and authentication takes a while', async () => {
    // Every authentication waits until each of the 8 CONNECTs has been either refused or handed to
    // the authenticator: the checks of all of them come before any connection is counted.
    const anyone = new ConfigUsersAuthenticator([]);
    const waiting: (() => void)[] = [];
    let refused = 0;
    const releaseWhenAllIn = () => {
      if (waiting.length + refused === 8) waiting.splice(0).forEach((go) => go());
    };
    const gated: Authenticator = {
      authenticate: async (attempt) => {
        await new Promise<void>((go) => {
          waiting.push(go);
          releaseWhenAllIn();
        });
        return anyone.authenticate(attempt);
      },
    };
    const tb = await startTestBroker({ options: { maxConnections: 2 }, authenticator: gated });
    try {
      const codes = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const c = await RawClient.connect(tb.port, { protocolVersion: 5 });
          c.send({ cmd: 'connect', clientId: `c${i}`, protocolVersion: 5, clean: true, keepalive: 0 });
          const { reasonCode } = await c.next('connack');
          if (reasonCode !== 0) {
            refused++;
            releaseWhenAllIn();
          }
          return reasonCode;
        }),
      );
      assert.deepEqual(
        [codes.filter((c) => c === 0).length, codes.filter((c) => c === 0x89).length],
        [2, 6],
        codes.join(' '),
      );
    } finally {
      await tb.close();
    }
  });

  for (const policy of ['drop-new', 'drop-oldest'] as const) {
    it(`keeps at most maxQueuedMessages for an absent client (${policy})`, async () => {
      await withBroker({ maxQueuedMessages: 5, queueOverflow: policy }, async (port, tb) => {
        const subscribe = { protocolVersion: 5 as const, clientId: 'sleeper', clean: false };
        const sleeper = await RawClient.connected(port, {
          ...subscribe,
          properties: { sessionExpiryInterval: 600 },
        });
        sleeper.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'queue/#', qos: 1 }] });
        await sleeper.next('suback');
        sleeper.end();
        await sleeper.closed;

        const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
        for (let i = 0; i < 10; i++) await publisher.publishAsync('queue/n', String(i), { qos: 1 });
        assert.equal(tb.broker.stats.publishDropped, 5);

        const back = await RawClient.connect(port, { protocolVersion: 5 });
        back.send({
          cmd: 'connect',
          ...subscribe,
          keepalive: 0,
          properties: { sessionExpiryInterval: 600 },
        });
        assert.equal((await back.next('connack')).sessionPresent, true);
        const payloads: string[] = [];
        for (let i = 0; i < 5; i++) {
          const message = await back.next('publish');
          payloads.push(message.payload.toString());
          back.send({ cmd: 'puback', messageId: message.messageId });
        }
        // Nothing else was kept: the next message is a live one.
        await publisher.publishAsync('queue/n', 'live', { qos: 1 });
        assert.equal((await back.next('publish')).payload.toString(), 'live');
        assert.deepEqual(
          payloads,
          policy === 'drop-new' ? ['0', '1', '2', '3', '4'] : ['5', '6', '7', '8', '9'],
        );
        await publisher.endAsync();
        back.destroy();
      });
    });
  }

  it('disconnects a subscriber that stops reading instead of buffering without bound', async () => {
    await withBroker({ maxOutputBuffer: 256 * 1024 }, async (port, tb) => {
      const slow = await RawClient.connected(port, { protocolVersion: 4, clientId: 'slow' });
      slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood/#', qos: 0 }] });
      await slow.next('suback');
      slow.socket.pause(); // the kernel buffers fill, then the broker's output buffer grows

      const flooder = await RawClient.connected(port, { protocolVersion: 4, clientId: 'flooder' });
      const payload = Buffer.alloc(1024, 0x66);
      let sent = 0;
      // Bounded: at most 64 MiB offered; the broker must cut the slow client off long before.
      // (A paused socket does not notice its own close, so the broker's count tells.)
      while (tb.broker.stats.clientsConnected === 2 && sent < 65_536) {
        for (let i = 0; i < 256; i++) {
          flooder.send({ cmd: 'publish', topic: 'flood/x', payload, qos: 0, retain: false, dup: false });
        }
        sent += 256;
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(tb.broker.stats.clientsConnected, 1, 'the slow reader was never disconnected');
      slow.socket.resume();
      await slow.closed;
      const delivered = slow.received.filter((p) => p.cmd === 'publish').length;
      assert.ok(delivered < sent, `all ${sent} messages were buffered for a client that did not read`);
      flooder.destroy();
      await assertRoundTrip(port, 'limits/after-flood');
    });
  });
});
