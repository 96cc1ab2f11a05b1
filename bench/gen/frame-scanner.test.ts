import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as mqtt from 'mqtt-packet';
import { FrameScanner, HEAD } from './frame-scanner.js';
import { makePayload, publishInfo, type PublishInfo } from './payload.js';

function stream(sizes: number[]): Buffer {
  return Buffer.concat(
    sizes.map((size, seq) => {
      const payload = makePayload(size);
      payload.writeUInt32LE(seq, 4);
      return mqtt.generate({
        cmd: 'publish',
        topic: `t/${seq}`,
        payload,
        qos: seq % 2 ? 1 : 0,
        messageId: seq % 2 ? seq + 1 : undefined,
        retain: false,
        dup: false,
      });
    }),
  );
}

function scan(bytes: Buffer, cuts: number[]): { seqs: number[]; lengths: number[] } {
  const seqs: number[] = [];
  const lengths: number[] = [];
  const info: PublishInfo = { qos: 0, retain: false, packetId: 0, payloadOff: 0, payloadLen: 0 };
  const scanner = new FrameScanner((buf, off, avail, hdrLen, remLen) => {
    assert.ok(avail >= Math.min(HEAD, hdrLen + remLen));
    publishInfo(buf, off, hdrLen, remLen, info);
    seqs.push(buf.readUInt32LE(info.payloadOff + 4));
    lengths.push(info.payloadLen);
  });
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    scanner.push(bytes.subarray(from, cut));
    from = cut;
  }
  return { seqs, lengths };
}

test('frames split anywhere across chunks are each seen once, with their head intact', () => {
  const sizes = [16, 64, 200, 16, 70_000, 64, 300, 16_384, 16, 64];
  const bytes = stream(sizes);
  let seed = 7;
  const random = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
  for (let trial = 0; trial < 300; trial++) {
    // Every single-byte split for the first trials, random multi-splits after.
    const cuts =
      trial < 150
        ? [1 + trial]
        : [...new Set(Array.from({ length: 1 + random(40) }, () => 1 + random(bytes.length - 1)))].sort(
            (a, b) => a - b,
          );
    const { seqs, lengths } = scan(bytes, cuts);
    assert.deepEqual(
      seqs,
      sizes.map((_, i) => i),
      `cuts ${cuts.join(',')}`,
    );
    assert.deepEqual(lengths, sizes);
  }
});

test('one byte at a time', () => {
  const sizes = [16, 130, 64];
  const bytes = stream(sizes);
  const { seqs } = scan(
    bytes,
    Array.from({ length: bytes.length - 1 }, (_, i) => i + 1),
  );
  assert.deepEqual(seqs, [0, 1, 2]);
});
