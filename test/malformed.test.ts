import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import * as mqttPacket from 'mqtt-packet';
import { startTestBroker, type TestBroker } from './helpers/broker-harness.js';
import { RawClient } from './helpers/raw-client.js';

/**
 * Bad input closes the offending connection (MQTT 5: after a DISCONNECT with the
 * right reason code) and never disturbs anybody else: a well-behaved MQTT.js
 * client publishes and receives a fresh message after every attack.
 */

const MAX_PACKET = 2048;
const CONNECT_TIMEOUT_MS = 300;
const RECEIVE_MAXIMUM = 2;
const TOPIC_ALIAS_MAXIMUM = 10;

let tb: TestBroker;
let good: mqtt.MqttClient;
let goodCloses = 0;
let probes = 0;

before(async () => {
  tb = await startTestBroker({
    options: {
      maxPacketSize: MAX_PACKET,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      receiveMaximum: RECEIVE_MAXIMUM,
      topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
    },
  });
  good = await mqtt.connectAsync(tb.url, { protocolVersion: 5, clientId: 'good', reconnectPeriod: 0 });
  good.on('close', () => goodCloses++);
  await good.subscribeAsync('good/#', { qos: 1 });
});

after(async () => {
  await good.endAsync();
  await tb.close();
});

/** The good client publishes a new message and receives it back. */
async function probe(): Promise<void> {
  const topic = `good/${++probes}`;
  const got = new Promise<string>((resolve) => {
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      good.off('message', onMessage);
      resolve(payload.toString());
    };
    good.on('message', onMessage);
  });
  await good.publishAsync(topic, `still here ${probes}`, { qos: 1 });
  assert.equal(await got, `still here ${probes}`);
  assert.equal(goodCloses, 0, 'the good client was never disconnected');
}

/**
 * Runs one attack, then checks that the good client still works and, when
 * `malformed` is given, that stats.malformedPackets grew by exactly that much.
 */
async function attack(malformed: number | undefined, fn: () => Promise<void>): Promise<void> {
  const before = tb.broker.stats.malformedPackets;
  await fn();
  await probe();
  if (malformed !== undefined) assert.equal(tb.broker.stats.malformedPackets - before, malformed);
}

/** A connected raw client that sends `bytes`, then returns what it received until the broker closed it. */
async function violate(
  version: 4 | 5,
  send: (c: RawClient) => void | Promise<void>,
): Promise<mqttPacket.Packet[]> {
  const c = await RawClient.connected(tb.port, { protocolVersion: version });
  try {
    await send(c);
    return await c.untilClosed();
  } finally {
    c.destroy();
  }
}

/** Asserts the packets received end with a DISCONNECT carrying `reason`. */
function assertDisconnect(packets: mqttPacket.Packet[], reason: number): void {
  const last = packets.at(-1);
  assert.equal(
    last?.cmd,
    'disconnect',
    `expected DISCONNECT, got ${JSON.stringify(packets.map((p) => p.cmd))}`,
  );
  assert.equal(last.reasonCode, reason);
}

/** A PUBLISH with a hand-made topic, v5 layout (empty properties). */
function rawPublishV5(topicBytes: number[], qosBits = 0): Buffer {
  const body = [0, topicBytes.length, ...topicBytes, ...(qosBits ? [0, 1] : []), 0, 0x41];
  return Buffer.from([0x30 | (qosBits << 1), body.length, ...body]);
}

const v5publish = (topic: string, props: mqttPacket.IPublishPacket['properties'], qos: 0 | 1 | 2 = 0) =>
  mqttPacket.generate(
    {
      cmd: 'publish',
      topic,
      payload: 'x',
      qos,
      retain: false,
      dup: false,
      messageId: qos ? 1 : undefined,
      properties: props,
    },
    { protocolVersion: 5 },
  );

describe('malformed input closes only the offending connection', () => {
  it('remaining length with a 5-byte varint: DISCONNECT 0x81 (v5), plain close (v4)', () =>
    attack(2, async () => {
      const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]);
      assertDisconnect(await violate(5, (c) => c.send(bad)), 0x81);
      assert.deepEqual(await violate(4, (c) => c.send(bad)), []);
    }));

  it('invalid UTF-8 in a topic name (0xC3 0x28): DISCONNECT 0x81', () =>
    attack(1, async () => {
      assertDisconnect(await violate(5, (c) => c.send(rawPublishV5([0x61, 0x2f, 0xc3, 0x28]))), 0x81);
    }));

  it('U+0000 in a topic name: DISCONNECT 0x81', () =>
    attack(1, async () => {
      assertDisconnect(await violate(5, (c) => c.send(rawPublishV5([0x61, 0x00, 0x62]))), 0x81);
    }));

  it('a wildcard in a PUBLISH topic: DISCONNECT 0x90', () =>
    attack(undefined, async () => {
      assertDisconnect(await violate(5, (c) => c.send(v5publish('a/+/b', undefined))), 0x90);
      assertDisconnect(await violate(5, (c) => c.send(v5publish('a/#', undefined, 1))), 0x90);
    }));

  it('QoS 3 in the PUBLISH header: DISCONNECT 0x81', () =>
    attack(1, async () => {
      assertDisconnect(await violate(5, (c) => c.send(rawPublishV5([0x61], 3))), 0x81);
    }));

  it('SUBSCRIBE (and UNSUBSCRIBE) with no topic filter: DISCONNECT 0x82', () =>
    attack(2, async () => {
      assertDisconnect(await violate(5, (c) => c.send(Buffer.from([0x82, 3, 0, 1, 0]))), 0x82);
      assertDisconnect(await violate(5, (c) => c.send(Buffer.from([0xa2, 3, 0, 1, 0]))), 0x82);
    }));

  it('reserved header flags wrong (SUBSCRIBE with flags 0): DISCONNECT 0x81', () =>
    attack(1, async () => {
      const sub = Buffer.from([0x80, 9, 0, 1, 0, 0, 3, 0x61, 0x2f, 0x62, 0]);
      assertDisconnect(await violate(5, (c) => c.send(sub)), 0x81);
    }));

  it('a packet before CONNECT: closed without any answer', () =>
    attack(1, async () => {
      const c = await RawClient.connect(tb.port, { protocolVersion: 5 });
      c.send({ cmd: 'publish', topic: 'good/sneaky', payload: 'x', qos: 0, retain: false, dup: false });
      c.send({ cmd: 'connect', protocolVersion: 5, clientId: 'late' });
      assert.deepEqual(await c.untilClosed(), []);
    }));

  it('a second CONNECT: DISCONNECT 0x82', () =>
    attack(1, async () => {
      const packets = await violate(5, (c) =>
        c.send({ cmd: 'connect', protocolVersion: 5, clientId: 'again' }),
      );
      assertDisconnect(packets, 0x82);
    }));

  it('an unsupported protocol version: CONNACK return code 1, then close', () =>
    attack(2, async () => {
      for (const level of [2, 6]) {
        const c = await RawClient.connect(tb.port);
        const connect = mqttPacket.generate({ cmd: 'connect', protocolVersion: 4, clientId: 'v' });
        connect[8] = level; // the protocol level byte follows 0x10, length, 0x00 0x04 "MQTT"
        c.send(connect);
        const packets = await c.untilClosed();
        assert.equal(packets.length, 1);
        assert.equal(packets[0].cmd, 'connack');
        assert.equal(packets[0].returnCode, 1);
      }
    }));

  it('a packet over maxPacketSize: DISCONNECT 0x95, whether announced or delivered whole', () =>
    attack(0, async () => {
      // Only the fixed header of a 2 MB packet: refused before the body arrives.
      assertDisconnect(await violate(5, (c) => c.send(Buffer.from([0x30, 0xff, 0xff, 0x7f]))), 0x95);
      // A complete oversized PUBLISH in one write: must not be routed to the good client.
      const big = mqttPacket.generate(
        {
          cmd: 'publish',
          topic: 'good/big',
          payload: Buffer.alloc(MAX_PACKET * 2),
          qos: 0,
          retain: false,
          dup: false,
        },
        { protocolVersion: 5 },
      );
      const seen: string[] = [];
      const onMessage = (t: string) => seen.push(t);
      good.on('message', onMessage);
      assertDisconnect(await violate(5, (c) => c.send(big)), 0x95);
      await probe(); // the marker arrives; the big message must not have come before it
      good.off('message', onMessage);
      assert.deepEqual(seen, [`good/${probes}`]);
    }));

  it('random garbage bytes: closed (DISCONNECT 0x81 once connected)', () =>
    attack(2, async () => {
      const garbage = Buffer.from([0x00, 0x00, 0xde, 0xad, 0xbe, 0xef]);
      const c = await RawClient.connect(tb.port);
      c.send(garbage);
      assert.deepEqual(await c.untilClosed(), []);
      assertDisconnect(await violate(5, (c2) => c2.send(garbage)), 0x81);
    }));

  it('half a packet, then the client closes: the broker cleans up', () =>
    attack(0, async () => {
      const c = await RawClient.connected(tb.port, { protocolVersion: 5, clientId: 'half' });
      const whole = v5publish('good/half', undefined, 1);
      c.send(whole.subarray(0, Math.floor(whole.length / 2)));
      c.end();
      assert.deepEqual(await c.untilClosed(), []);
      c.destroy();
    }));

  it('a socket that never sends CONNECT is closed after connectTimeoutMs', () =>
    attack(0, async () => {
      const started = Date.now();
      const c = await RawClient.connect(tb.port);
      assert.deepEqual(await c.untilClosed(CONNECT_TIMEOUT_MS + 5000), []);
      assert.ok(Date.now() - started >= CONNECT_TIMEOUT_MS - 5, 'closed no earlier than the timeout');
    }));

  it('topic alias 0 or above the maximum: DISCONNECT 0x94', () =>
    attack(0, async () => {
      assertDisconnect(await violate(5, (c) => c.send(v5publish('a/b', { topicAlias: 0 }))), 0x94);
      const tooHigh = TOPIC_ALIAS_MAXIMUM + 1;
      assertDisconnect(await violate(5, (c) => c.send(v5publish('a/b', { topicAlias: tooHigh }))), 0x94);
    }));

  it('an unknown topic alias: DISCONNECT 0x82', () =>
    attack(1, async () => {
      const packets = await violate(5, (c) => {
        c.send(v5publish('good/alias', { topicAlias: 1 })); // defines alias 1 (delivered, harmless)
        c.send(v5publish('', { topicAlias: 2 }));
      });
      assertDisconnect(packets, 0x82);
    }));

  it('more unacknowledged QoS 2 publishes than receiveMaximum: DISCONNECT 0x93', () =>
    attack(0, async () => {
      const c = await RawClient.connected(tb.port, { protocolVersion: 5, clientId: 'greedy' });
      try {
        const pub = (id: number) =>
          c.send({
            cmd: 'publish',
            topic: 'rm/x',
            payload: 'x',
            qos: 2,
            messageId: id,
            retain: false,
            dup: false,
          });
        pub(1);
        pub(2);
        assert.equal((await c.next('pubrec')).messageId, 1);
        assert.equal((await c.next('pubrec')).messageId, 2);
        // Completing one frees a slot: a third is within the limit.
        c.send({ cmd: 'pubrel', messageId: 1 });
        assert.equal((await c.next('pubcomp')).messageId, 1);
        pub(3);
        assert.equal((await c.next('pubrec')).messageId, 3);
        pub(4); // 2 and 3 still await PUBREL
        assertDisconnect(await c.untilClosed(), 0x93);
      } finally {
        c.destroy();
      }
    }));

  it('a server-only packet (CONNACK, SUBACK) from a client: DISCONNECT 0x82', () =>
    attack(2, async () => {
      assertDisconnect(
        await violate(5, (c) => c.send({ cmd: 'connack', reasonCode: 0, sessionPresent: false })),
        0x82,
      );
      assertDisconnect(await violate(5, (c) => c.send({ cmd: 'suback', messageId: 1, granted: [0] })), 0x82);
    }));
});

/** mulberry32: a small seeded PRNG, so that a failing fuzz run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzzing', () => {
  it('200 random byte buffers, one connection each: the broker survives', { timeout: 60_000 }, async () => {
    const SEED = 0x5eed;
    const random = prng(SEED);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const valid = [
      v5publish('fuzz/a', { topicAlias: 1, userProperties: { k: 'v' } }, 1),
      mqttPacket.generate(
        { cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'fuzz/#', qos: 1 }] },
        { protocolVersion: 5 },
      ),
      mqttPacket.generate(
        { cmd: 'unsubscribe', messageId: 8, unsubscriptions: ['fuzz/#'] },
        { protocolVersion: 5 },
      ),
    ];
    const cases: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const version = i % 2 === 0 ? 5 : 4;
      const connect = mqttPacket.generate({
        cmd: 'connect',
        protocolVersion: version,
        clientId: `fuzz-${i}`,
      });
      switch (i % 4) {
        case 0: // pure noise, before any CONNECT
          cases.push(bytes(1 + Math.floor(random() * 64)));
          break;
        case 1: // a valid CONNECT followed by noise
          cases.push(Buffer.concat([connect, bytes(1 + Math.floor(random() * 64))]));
          break;
        default: {
          // a valid CONNECT followed by a valid packet with a few bytes flipped
          const packet = Buffer.from(valid[Math.floor(random() * valid.length)]);
          for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
            packet[Math.floor(random() * packet.length)] = Math.floor(random() * 256);
          }
          cases.push(Buffer.concat([connect, packet]));
        }
      }
    }
    const BATCH = 20;
    for (let start = 0; start < cases.length; start += BATCH) {
      await Promise.all(
        cases.slice(start, start + BATCH).map(async (buffer, k) => {
          const c = await RawClient.connect(tb.port);
          c.send(buffer);
          c.end(); // whatever the broker made of it, the connection must end
          try {
            await c.untilClosed(10_000);
          } catch (err) {
            throw new Error(`fuzz case ${start + k} (seed ${SEED}): ${buffer.toString('hex')}`, {
              cause: err,
            });
          } finally {
            c.destroy();
          }
        }),
      );
      await probe();
    }
    const fresh = await RawClient.connected(tb.port, { protocolVersion: 5, clientId: 'after-fuzz' });
    fresh.send({ cmd: 'pingreq' });
    assert.equal((await fresh.next()).cmd, 'pingresp');
    fresh.destroy();
    await fresh.closed;
  });
});
