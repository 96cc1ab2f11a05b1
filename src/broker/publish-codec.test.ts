import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as mqtt from 'mqtt-packet';
import { encodePlainAck, encodePlainPublish, plainAckCommand } from './publish-codec.js';

test('encodes the same bytes as mqtt-packet for every QoS, flag, version and size class', () => {
  const payloads = [0, 1, 64, 200, 20_000, 3_000_000].map((n) => Buffer.alloc(n, 0x5a));
  for (const protocolVersion of [4, 5] as const) {
    for (const qos of [0, 1, 2] as const) {
      for (const payload of payloads) {
        for (const [retain, dup] of [
          [false, false],
          [true, true],
        ]) {
          const topic = 'sensors/räum-1/temperature';
          const packetId = qos > 0 ? 4242 : 0;
          const expected = mqtt.generate(
            { cmd: 'publish', topic, payload, qos, retain, dup, messageId: qos > 0 ? packetId : undefined },
            { protocolVersion },
          );
          const actual = encodePlainPublish(
            topic,
            payload,
            qos,
            retain,
            dup,
            packetId,
            protocolVersion === 5,
          );
          assert.ok(actual.equals(expected), `v${protocolVersion} qos${qos} ${payload.length}B`);
        }
      }
    }
  }
});

test('plain acknowledgements decode as Success in 3.1.1 and 5.0, and are recognised', () => {
  for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const) {
    for (const protocolVersion of [4, 5]) {
      const bytes = encodePlainAck(cmd, 513);
      const parsed: mqtt.Packet[] = [];
      const parser = mqtt.parser({ protocolVersion });
      parser.on('packet', (p) => parsed.push(p));
      parser.on('error', (err: Error) => assert.fail(err.message));
      parser.parse(bytes);
      assert.equal(parsed.length, 1);
      const ack = parsed[0] as mqtt.IPubackPacket;
      assert.deepEqual(
        [ack.cmd, ack.messageId, ack.reasonCode ?? 0],
        [cmd, 513, 0],
        `${cmd} v${protocolVersion}`,
      );
      assert.equal(plainAckCommand(bytes[0]), cmd);
    }
  }
  assert.equal(plainAckCommand(0x30), undefined);
});
