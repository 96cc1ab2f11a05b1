import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import type { IClientOptions } from 'mqtt';
import {
  HalyardFixture,
  connectClient,
  spawnHalyard,
  type HalyardProcess,
  type TestClient,
} from './helpers/halyard-process.js';

/** SIGTERM stops gracefully (DISCONNECT 0x8B, exit 0, data flushed); invalid configuration exits 2. */

const TIMEOUT = { timeout: 60_000 };
const SERVER_SHUTTING_DOWN = 0x8b;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function platform(): Promise<[HalyardFixture, HalyardProcess]> {
  const fx = await HalyardFixture.create();
  cleanups.push(() => fx.cleanup());
  return [fx, await fx.start()];
}

async function client(proc: HalyardProcess, ...opts: IClientOptions[]): Promise<TestClient> {
  const c = await connectClient(proc.url, Object.assign({}, ...opts) as IClientOptions);
  cleanups.push(() => c.drop());
  return c;
}

test('SIGTERM: a connected v5 client gets DISCONNECT 0x8B and the process exits 0', TIMEOUT, async () => {
  const [, proc] = await platform();
  const c = await client(proc, { protocolVersion: 5, clientId: 'shut-1' });
  proc.kill('SIGTERM');
  const packet = await c.disconnectPacket;
  assert.equal(packet.reasonCode, SERVER_SHUTTING_DOWN);
  await c.closed;
  const status = await proc.exited;
  assert.deepEqual(status, { code: 0, signal: null }, proc.stderr());
  assert.ok(
    proc.stdoutLines.some((l) => l.includes('"msg":"stopped"')),
    'the shutdown is logged to the end',
  );
});

test(
  'SIGTERM: a v3.1.1 client is disconnected (no DISCONNECT in 3.1.1) and the process exits 0',
  TIMEOUT,
  async () => {
    const [, proc] = await platform();
    const c = await client(proc, { protocolVersion: 4, clientId: 'shut-2' });
    proc.kill('SIGTERM');
    await c.closed;
    assert.deepEqual(await proc.exited, { code: 0, signal: null }, proc.stderr());
  },
);

test(
  'SIGTERM: messages queued for persistent sessions are still there after a restart',
  TIMEOUT,
  async () => {
    const [fx, first] = await platform();
    const v5 = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };
    const v4 = { protocolVersion: 4 as const, clean: false };
    const sub5 = await client(first, v5, { clientId: 'shut-q5' });
    await sub5.client.subscribeAsync('q/#', { qos: 1 });
    await sub5.client.endAsync();
    const sub4 = await client(first, v4, { clientId: 'shut-q4' });
    await sub4.client.subscribeAsync('q/#', { qos: 2 });
    await sub4.client.endAsync();

    const pub = await client(first, { protocolVersion: 5, clientId: 'shut-pub' });
    await pub.client.publishAsync('q/one', 'first', { qos: 1 });
    await pub.client.publishAsync('q/two', 'second', { qos: 2 });
    await pub.client.publishAsync('q/retained', 'kept', { qos: 1, retain: true });

    first.kill('SIGTERM');
    assert.equal((await pub.disconnectPacket).reasonCode, SERVER_SHUTTING_DOWN);
    assert.deepEqual(await first.exited, { code: 0, signal: null }, first.stderr());

    const second = await fx.start();
    for (const [opts, id] of [
      [v5, 'shut-q5'],
      [v4, 'shut-q4'],
    ] as const) {
      const back = await client(second, opts, { clientId: id });
      assert.equal(back.connack.sessionPresent, true, id);
      const got = [];
      for (let i = 0; i < 3; i++) {
        const m = await back.nextMessage();
        got.push([m.topic, m.payload]);
      }
      // Sorted: MQTT.js emits a QoS 2 message only at PUBREL, after QoS 1 ones that follow it.
      assert.deepEqual(
        got.sort(),
        [
          ['q/one', 'first'],
          ['q/retained', 'kept'],
          ['q/two', 'second'],
        ],
        id,
      );
    }
  },
);

test('start with an invalid configuration value exits 2 and names the key', TIMEOUT, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'halyard-badcfg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const proc = spawnHalyard(['start', '--data-dir', join(dir, 'data')], {
    HALYARD_LISTENERS__MQTT__PORT: '70000',
  });
  cleanups.push(async () => {
    proc.kill('SIGKILL');
    await proc.exited;
  });
  const status = await proc.exited;
  assert.deepEqual(status, { code: 2, signal: null }, proc.stderr());
  assert.match(proc.stderr(), /listeners\.mqtt\.port/);
  assert.match(proc.stderr(), /HALYARD_LISTENERS__MQTT__PORT/);
  assert.deepEqual(proc.stdoutLines, [], 'nothing was started, so nothing was logged');
});
