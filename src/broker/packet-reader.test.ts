import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mqtt from 'mqtt-packet';
import { PacketReader } from './packet-reader.js';

function collector(maxPacketSize = 1 << 20, version: 3 | 4 | 5 = 4) {
  const packets: mqtt.Packet[] = [];
  const errors: string[] = [];
  const reader = new PacketReader(maxPacketSize, {
    onPacket: (p) => packets.push(p),
    onReadError: (kind, message) => errors.push(`${kind}: ${message}`),
  });
  reader.setProtocolVersion(version);
  return { reader, packets, errors };
}

const publish = (
  qos: 0 | 1 | 2,
  protocolVersion: 4 | 5,
  properties?: mqtt.IPublishPacket['properties'],
): Buffer =>
  mqtt.generate(
    {
      cmd: 'publish',
      topic: 'a/b',
      payload: Buffer.from('hello'),
      qos,
      retain: true,
      dup: false,
      messageId: qos ? 7 : undefined,
      properties,
    },
    { protocolVersion },
  );

describe('PacketReader', () => {
  it('decodes PUBLISH itself exactly as mqtt-packet would, for v4 and v5, with and without properties', () => {
    for (const version of [4, 5] as const) {
      for (const qos of [0, 1, 2] as const) {
        const props = version === 5 ? { contentType: 'text/plain' } : undefined;
        for (const bytes of [publish(qos, version), publish(qos, version, props)]) {
          const { reader, packets } = collector(undefined, version);
          reader.push(bytes);
          assert.equal(packets.length, 1);
          const p = packets[0] as mqtt.IPublishPacket;
          assert.deepEqual(
            [p.topic, p.qos, p.retain, p.messageId, p.payload.toString()],
            ['a/b', qos, true, qos ? 7 : undefined, 'hello'],
          );
        }
      }
    }
  });

  it('reassembles packets split at every byte boundary and several packets in one chunk', () => {
    const stream = Buffer.concat([publish(1, 4), mqtt.generate({ cmd: 'pingreq' }), publish(0, 4)]);
    for (let cut = 1; cut < stream.length; cut++) {
      const { reader, packets } = collector();
      reader.push(stream.subarray(0, cut));
      reader.push(stream.subarray(cut));
      assert.deepEqual(
        packets.map((p) => p.cmd),
        ['publish', 'pingreq', 'publish'],
      );
    }
  });

  it('refuses an oversized packet from its header, before the body arrives', () => {
    const { reader, packets, errors } = collector(64);
    reader.push(Buffer.from([0x30, 0xe8, 0x07])); // PUBLISH announcing 1000 bytes
    assert.equal(packets.length, 0);
    assert.match(errors[0], /^too-large/);
  });

  it('refuses a remaining length longer than four bytes and QoS 3', () => {
    const a = collector();
    a.reader.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.match(a.errors[0], /^malformed: remaining length/);
    const b = collector();
    b.reader.push(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]));
    assert.match(b.errors[0], /^malformed: PUBLISH with QoS 3/);
  });

  it('one connection sending garbage does not disturb the shared parser for the next', () => {
    const bad = collector();
    bad.reader.push(
      Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x07, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x61]),
    );
    assert.match(bad.errors[0], /Invalid protocol version/);
    const good = collector();
    good.reader.push(
      mqtt.generate({ cmd: 'connect', clientId: 'x', protocolVersion: 5, clean: true, keepalive: 0 }),
    );
    assert.deepEqual(good.errors, []);
    assert.equal(good.packets[0]?.cmd, 'connect');
  });
});
