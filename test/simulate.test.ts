import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { spawnCli } from '../src/cli/cli-test-support.js';
import { parseMix } from '../src/cli/simulate.js';
import type { PresenceChange } from '../src/devices/presence.js';
import { SYSTEM_ACTOR } from '../src/registry/service.js';
import { planDevices } from '../src/simulator/kinds.js';
import { CliSession, failed, ok, unusedPort } from './helpers/cli-session.js';

/**
 * `halyard simulate` as a user runs it: the real CLI in a child process,
 * registering devices through the REST API of the platform running in this
 * process, publishing over real MQTT; checked through the API, the telemetry
 * store and the platform's presence events.
 */

let session: CliSession;
let apiToken: string;

before(async () => {
  session = await CliSession.start();
  await session.login();
  await session.platform.app.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
  apiToken = (JSON.parse(readFileSync(session.savedLoginPath, 'utf8')) as { token: string }).token;
});
after(() => session.stop());

const simulateArgs = (args: string[]) => [
  'simulate',
  '--tenant',
  'acme',
  '--mqtt',
  session.platform.mqttUrl,
  ...args,
];
const simulate = (args: string[]) => session.halyard(simulateArgs(args));

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${session.platform.httpUrl}/api${path}`, {
    headers: { authorization: `Bearer ${apiToken}` },
  });
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

interface Summary {
  devices: number;
  created: number;
  reused: number;
  qos: number;
  sent: number;
  acknowledged: number;
  errors: number;
  dropouts: number;
  seed: number;
  lastError?: string;
}

/** Presence changes of the platform, from now on. */
function watchPresence() {
  const changes: PresenceChange[] = [];
  const waiters = new Set<() => void>();
  const listener = (change: PresenceChange) => {
    changes.push(change);
    for (const wake of [...waiters]) wake();
  };
  session.platform.app.presence.on('change', listener);
  return {
    changes,
    statusesOf: (id: string) => changes.filter((c) => c.deviceId === id).map((c) => c.status),
    /** Resolves once `check` holds; fails the test after `timeoutMs`. */
    until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`timed out waiting for ${what}; saw ${JSON.stringify(changes)}`));
        }, timeoutMs);
        const wake = () => {
          if (!check()) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
      });
    },
    stop: () => session.platform.app.presence.off('change', listener),
  };
}

describe('halyard simulate', () => {
  const run = ['--prefix', 't1', '--mix', 'weather,meter,pump', '--devices', '3', '--rate', '20'];
  const ids = ['t1-weather-1', 't1-meter-1', 't1-pump-1'];

  it('registers N devices through the API; they come online and every acknowledged message is stored', async () => {
    const presence = watchPresence();
    const r = ok(await simulate([...run, '--count', '5', '--qos', '1', '--seed', '42', '--json']));
    presence.stop();
    const summary = JSON.parse(r.stdout) as Summary;
    assert.deepEqual(
      { ...summary, durationMs: undefined },
      {
        devices: 3,
        created: 3,
        reused: 0,
        qos: 1,
        sent: 15,
        acknowledged: 15,
        errors: 0,
        dropouts: 0,
        seed: 42,
        durationMs: undefined,
      },
    );
    assert.match(r.stderr, /3 devices \(3 registered, 0 reused\)/);
    assert.match(r.stderr, /simulate: all 3 devices connected/);

    const planned = planDevices('t1', 3, parseMix('weather,meter,pump'), 42);
    assert.deepEqual(
      planned.map((d) => d.id),
      ids,
    );
    let stored = 0;
    for (const device of planned) {
      const view = await api<{ tenantId: string; type: string; tags: string[]; name: string }>(
        `/devices/${device.id}`,
      );
      assert.equal(view.tenantId, 'acme');
      assert.equal(view.type, device.kind.type);
      assert.equal(view.name, device.name);
      assert.deepEqual(view.tags, ['simulated']);
      assert.deepEqual(presence.statusesOf(device.id), ['online', 'offline'], device.id);

      const signals = device.kind.signals(device.seed);
      const { points } = await api<{ points: unknown[] }>(
        `/devices/${device.id}/telemetry?keys=${signals[0].key}&limit=1000`,
      );
      stored += points.length;
      // The device sends its own timestamps, so the stored values are the signals' values at those times.
      const latest = await api<Record<string, { ts: number; value: unknown }>>(
        `/devices/${device.id}/telemetry/latest`,
      );
      assert.deepEqual(Object.keys(latest).sort(), signals.map((s) => s.key).sort());
      for (const s of signals)
        assert.equal(latest[s.key].value, s.at(latest[s.key].ts), `${device.id} ${s.key}`);
    }
    assert.equal(stored, summary.acknowledged);
  });

  it('a re-run reuses the devices: no duplicates, one valid token each', async () => {
    const summary = JSON.parse(ok(await simulate([...run, '--count', '2', '--json'])).stdout) as Summary;
    assert.equal(summary.created, 0);
    assert.equal(summary.reused, 3);
    assert.equal(summary.acknowledged, 6);
    const page = await api<{ total: number; items: { id: string }[] }>('/devices?search=t1-');
    assert.deepEqual(page.items.map((d) => d.id).sort(), [...ids].sort());
    for (const id of ids) {
      const credentials = await api<{ kind: string; revokedAt: number | null }[]>(
        `/devices/${id}/credentials`,
      );
      assert.deepEqual(
        credentials.map((c) => [c.kind, c.revokedAt === null]).sort(),
        [
          ['token', false],
          ['token', true],
        ],
        id,
      );
      const { points } = await api<{ points: unknown[] }>(`/devices/${id}/telemetry?limit=1000`);
      assert.ok(points.length > 0);
    }
  });

  it('acknowledges at QoS 2 as well', async () => {
    const r = ok(
      await simulate(
        ['--prefix', 'q2', '--signals', 'sine,meter', '--devices', '2', '--rate', '20'].concat([
          '--count',
          '3',
          '--qos',
          '2',
          '--json',
        ]),
      ),
    );
    const summary = JSON.parse(r.stdout) as Summary;
    assert.equal(summary.sent, 6);
    assert.equal(summary.acknowledged, 6);
    for (const id of ['q2-custom-1', 'q2-custom-2']) {
      const { points } = await api<{ points: unknown[] }>(
        `/devices/${id}/telemetry?keys=energy_kwh&limit=100`,
      );
      assert.equal(points.length, 3, id);
    }
  });

  it('leaves alone a device it did not make', async () => {
    await session.platform.app.registry.createDevice(SYSTEM_ACTOR, { id: 't2-sine-1', tenantId: 'acme' });
    const r = await simulate(['--prefix', 't2', '--mix', 'sine', '--devices', '1', '--count', '1']);
    failed(r, 1, /device t2-sine-1 exists and was not made by the simulator .*choose another --prefix/);
  });

  it('drop-outs: the device goes offline and comes back; SIGINT stops with a summary', async () => {
    const presence = watchPresence();
    const id = 't3-custom-1';
    const child = spawnCli(
      simulateArgs([
        '--prefix',
        't3',
        '--signals',
        'on-off',
        '--devices',
        '1',
        '--rate',
        '10',
        '--dropout-every',
        '1ms',
        '--dropout-for',
        '300ms',
        '--dropout-mode',
        'offline',
      ]),
      {
        env: {
          PATH: process.env.PATH,
          HOME: session.configHome,
          XDG_CONFIG_HOME: session.configHome,
          HALYARD_URL: session.platform.httpUrl,
        },
      },
    );
    try {
      await presence.until(() => presence.statusesOf(id).length >= 3, 'online, offline, online');
    } finally {
      presence.stop();
      child.child.kill('SIGINT');
    }
    assert.deepEqual(presence.statusesOf(id).slice(0, 3), ['online', 'offline', 'online']);
    const r = await child.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /simulate: all 1 device connected/);
    const dropouts = Number(/(\d+) drop-outs?/.exec(r.stdout)?.[1]);
    assert.ok(dropouts >= 1, r.stdout);
    assert.match(
      r.stdout,
      /^Simulated 1 device for [\d.]+ s: \d+ sent, \d+ acknowledged \(QoS 1\), 0 errors/,
    );
  });

  it('counts what fails: an unreachable broker is errors and exit 1', async () => {
    const port = await unusedPort();
    const r = await session.halyard([
      'simulate',
      '--tenant',
      'acme',
      '--mqtt',
      `mqtt://127.0.0.1:${port}`,
      '--prefix',
      't4',
      '--signals',
      'sine',
      '--devices',
      '1',
      '--duration',
      '1s',
      '--json',
    ]);
    assert.equal(r.code, 1, r.stderr);
    const summary = JSON.parse(r.stdout) as Summary;
    assert.equal(summary.sent, 0);
    assert.ok(summary.errors >= 1);
    assert.match(String(summary.lastError), /^t4-custom-1: .*ECONNREFUSED/);
  });

  it('bad flags are a usage error before anything is registered', async () => {
    failed(await simulate(['--prefix', 't5', '--rate', 'fast']), 2, /--rate must be a number/);
    failed(await simulate(['--prefix', 'a b']), 2, /--prefix must be/);
    const page = await api<{ total: number }>('/devices?search=t5');
    assert.equal(page.total, 0);
  });
});
