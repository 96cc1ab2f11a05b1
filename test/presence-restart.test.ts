import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connectClient, HalyardFixture } from './helpers/halyard-process.js';

/**
 * A crash cannot publish "offline" for the devices it drops, so their retained
 * statuses would say "online" until each came back and left again. The next
 * start sweeps them: every retained "online" becomes "offline", cause
 * `server-restart`, before any device can connect.
 */

let fixture: HalyardFixture;
after(async () => fixture.cleanup());

interface Status {
  deviceId: string;
  status: string;
  cause?: string;
}

describe('device status across a crash', () => {
  it('marks devices that were online at kill -9 offline on the next start', async () => {
    fixture = await HalyardFixture.create();
    const sensorToken = await fixture.provisionTokenDevice('acme', 'sensor-1');
    const watcherToken = await fixture.provisionTokenDevice('acme', 'watcher');
    const first = await fixture.start();
    const sensor = await connectClient(first.url, {
      protocolVersion: 5,
      username: sensorToken,
      password: undefined,
    });
    const watcher = await connectClient(first.url, {
      protocolVersion: 5,
      username: watcherToken,
      password: undefined,
    });
    await watcher.client.subscribeAsync('halyard/devices/sensor-1/status', { qos: 1 });
    const before = JSON.parse((await watcher.nextMessage()).payload) as Status;
    assert.equal(before.status, 'online');

    await HalyardFixture.crash(first);
    await Promise.all([sensor.closed, watcher.closed]);

    const second = await fixture.start();
    const reader = await connectClient(second.url, {
      protocolVersion: 5,
      username: watcherToken,
      password: undefined,
    });
    try {
      await reader.client.subscribeAsync('halyard/devices/sensor-1/status', { qos: 1 });
      const message = await reader.nextMessage();
      assert.equal(message.packet.retain, true);
      const after = JSON.parse(message.payload) as Status;
      assert.deepEqual(
        { deviceId: after.deviceId, status: after.status, cause: after.cause },
        { deviceId: 'sensor-1', status: 'offline', cause: 'server-restart' },
      );
    } finally {
      await reader.drop();
      second.kill('SIGTERM');
      await second.exited;
    }
  });
});
