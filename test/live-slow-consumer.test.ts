import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../src/core/logger.js';
import type { DataPoint } from '../src/telemetry/model.js';
import { LiveSockets } from '../src/web/live-socket.js';
import { LiveClient, signIn } from './helpers/live-client.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * A live-feed client that stops reading must not make the server buffer
 * without bound: past the limit its telemetry is dropped and counted, and
 * once it reads again it gets what was not dropped, in order, and more.
 * Runs the feed with a small limit on its own port, over the platform's
 * registry and telemetry ingest.
 */

const MAX_BUFFERED = 64 * 1024;
const FRAME_VALUE = 'x'.repeat(4000);

let platform: TestPlatform;
let live: LiveSockets;
let server: Server;
let url: string;
let admin: Awaited<ReturnType<typeof createTenantAdmin>>;

before(async () => {
  platform = await startTestPlatform();
  admin = await createTenantAdmin(platform, 'acme');
  await createTokenDevice(platform, admin.actor, { id: 'meter' });
  live = new LiveSockets({
    registry: platform.app.registry,
    ingest: platform.app.telemetry.ingest,
    presence: platform.app.presence,
    broker: platform.app.broker,
    ledger: { tenantConnections: () => 0 },
    logger: silentLogger(),
    maxBufferedBytes: MAX_BUFFERED,
  });
  server = createServer();
  server.on('upgrade', live.handleUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { token } = await signIn(platform.httpUrl, admin.username, admin.password);
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/api/live?token=${token}`;
});
after(async () => {
  live.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await platform.stop();
});

function dropped(): number {
  return live.samples().find((s) => s.name === 'halyard_live_telemetry_dropped_total')?.value ?? NaN;
}

/** About 40 kB of telemetry as one frame. */
function reading(seq: number): DataPoint[] {
  const ts = Date.now();
  const points: DataPoint[] = [{ tenantId: 'acme', seriesId: 'meter', key: 'seq', ts, value: seq }];
  for (let k = 0; k < 10; k++)
    points.push({ tenantId: 'acme', seriesId: 'meter', key: `blob${k}`, ts, value: FRAME_VALUE });
  return points;
}

describe('live feed: slow consumer', () => {
  it('drops telemetry past the buffer limit instead of queueing it, and recovers', async (t) => {
    const client = await LiveClient.open(url);
    await client.waitFor('hello');
    client.ws.pause();

    const writes: Promise<void>[] = [];
    let sent = 0;
    // Fill the kernel's socket buffers, then the limit; stop soon after drops begin (bounded either way).
    while (sent < 3000 && dropped() < 20) writes.push(platform.app.telemetry.ingest.accept(reading(sent++)));
    await Promise.all(writes);
    assert.ok(dropped() >= 20, `nothing dropped after ${sent} frames of 40 kB`);
    assert.ok(dropped() < sent, 'frames before the limit were sent');
    t.diagnostic(`${sent} frames of 40 kB, ${dropped()} dropped`);

    client.ws.resume();
    // Audit entries are never dropped: once this one arrives, every telemetry frame sent before it has.
    await platform.app.registry.updateDevice(admin.actor, 'meter', { name: 'Meter' });
    await client.waitFor('audit', (m) => m.entry.action === 'device.update');
    const seqs = client.received('telemetry').map((m) => m.values.seq as number);
    assert.equal(seqs.length + dropped(), sent, 'every frame was either delivered or counted as dropped');
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'in order',
    );

    await platform.app.telemetry.ingest.accept(reading(sent));
    await client.waitFor('telemetry', (m) => m.values.seq === sent);
    await client.close();
  });
});
