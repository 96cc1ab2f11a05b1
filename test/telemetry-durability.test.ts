import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { SqliteTelemetryStore } from '../src/telemetry/sqlite/telemetry-store.js';
import { HalyardFixture } from './helpers/halyard-process.js';

/**
 * kill -9 during telemetry ingest loses no acknowledged value: every QoS 1
 * message whose PUBACK arrived before the crash is in the store afterwards.
 */

let fixture: HalyardFixture;
after(async () => fixture.cleanup());

describe('telemetry durability', () => {
  it('keeps every PUBACKed value across kill -9 in the middle of ingest', async () => {
    // No publish quota: this device sends as fast as the broker acknowledges.
    fixture = await HalyardFixture.create({
      security: { device: { publishMessagesPerSecond: 0, publishBytesPerSecond: 0 } },
    });
    const token = await fixture.provisionTokenDevice('acme', 'meter-1');
    const proc = await fixture.start();
    const client = mqtt.connect(proc.url, {
      protocolVersion: 5,
      username: token,
      clientId: 'meter-1',
      reconnectPeriod: 0,
    });
    client.on('error', () => {}); // the crash resets the socket
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));

    const base = Date.now() - 10_000;
    const acked = new Set<number>();
    const total = 5000;
    const window = 64;
    let next = 0;
    let crashed = false;
    await new Promise<void>((resolve) => {
      const send = () => {
        if (crashed || next >= total) return;
        const seq = next++;
        client.publish(
          'devices/me/telemetry',
          JSON.stringify({ ts: base + seq, values: { seq } }),
          { qos: 1 },
          (err) => {
            if (err) return; // the connection is gone: nothing more to send
            acked.add(seq);
            // Crash once a good part is acknowledged, with more still in flight.
            if (!crashed && acked.size >= 1500) {
              crashed = true;
              void HalyardFixture.crash(proc).then(() => resolve());
              return;
            }
            send();
          },
        );
      };
      for (let i = 0; i < window; i++) send();
      client.once('close', () => {
        if (!crashed) resolve();
      });
    });
    client.end(true);
    assert.ok(crashed, 'the crash happened during ingest');

    const store = SqliteTelemetryStore.open(join(fixture.dataDir, 'telemetry.db'));
    try {
      const stored = new Set<number>();
      let cursor: string | undefined;
      do {
        const page = await store.query({
          seriesId: 'meter-1',
          keys: ['seq'],
          from: base,
          to: base + total,
          limit: 100_000,
          cursor,
        });
        for (const p of page.points) stored.add(p.value as number);
        cursor = page.next;
      } while (cursor);
      const lost = [...acked].filter((seq) => !stored.has(seq));
      assert.deepEqual(lost, [], `${lost.length} acknowledged values lost of ${acked.size}`);
      assert.ok(acked.size >= 1500);
    } finally {
      await store.close();
    }
  });
});
