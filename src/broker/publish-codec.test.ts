import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as mqtt from 'mqtt-packet';
import { encodePlainPublish } from './publish-codec.js';

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
