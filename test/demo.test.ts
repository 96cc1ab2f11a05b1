import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, spawnCli, type RunningCli } from '../src/cli/cli-test-support.js';
import { failed } from './helpers/cli-session.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * `halyard demo` as a newcomer runs it: the real CLI as a child process, every
 * port chosen by the system, its throw-away directory under a TMPDIR of the
 * test's own, checked from outside through HTTP only.
 */

const ANY_PORTS = [
  ...['--mqtt-port', '0', '--mqtts-port', '0', '--http-port', '0', '--https-port', '0'],
  ...['--line-port', '0', '--lines-port', '0'],
];

interface RunningDemo {
  cli: RunningCli;
  url: string;
  username: string;
  password: string;
  dataDir: string;
  banner: string;
}

/** Starts the demo and resolves once it has printed its sign-in; fails if it exits or is too slow. */
async function startDemo(args: string[], tmp: string): Promise<RunningDemo> {
  const cli = spawnCli(['demo', ...ANY_PORTS, ...args], { env: { PATH: process.env.PATH, TMPDIR: tmp } });
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner within 15 s:\n${cli.stdout()}`)), 15_000);
    const check = () => {
      if (!cli.stdout().includes('Press Ctrl-C to stop.')) return;
      clearTimeout(timer);
      resolve(cli.stdout());
    };
    cli.child.stdout?.on('data', check);
    void cli.done.then((r) => {
      clearTimeout(timer);
      reject(new Error(`demo exited (${r.code}) before its banner:\n${r.stdout}\n${r.stderr}`));
    });
  });
  const url = /^ {2}Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/$/m.exec(banner)?.[1];
  const signIn = /^ {2}Sign in: +username (\S+), password (\S+) +\(shown only now\)$/m.exec(banner);
  const dataDir = /^ {2}Data: +(\S+)/m.exec(banner)?.[1];
  assert.ok(url && signIn && dataDir, banner);
  return { cli, url, username: signIn[1], password: signIn[2], dataDir, banner };
}

async function stopDemo(demo: RunningDemo): Promise<void> {
  demo.cli.child.kill('SIGINT');
  const r = await demo.cli.done;
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, /Simulated \d+ devices for [\d.]+ s: \d+ sent/);
}

async function login(url: string, username: string, password: string): Promise<Response> {
  return fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

async function signedIn(demo: RunningDemo): Promise<(path: string) => Promise<unknown>> {
  const res = await login(demo.url, demo.username, demo.password);
  assert.equal(res.status, 200);
  const { token } = (await res.json()) as { token: string };
  return async (path) => {
    const answer = await fetch(`${demo.url}/api${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200, path);
    return answer.json();
  };
}

/** Re-reads through the API until `check` passes: the demo runs in another process, there is no event to await. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type DevicePage = {
  total: number;
  items: { id: string; tenantId: string; tags: string[]; online: boolean }[];
};
type Latest = Record<string, { ts: number; value: unknown }>;

describe('halyard demo', () => {
  it('prints the URL and a sign-in that works; devices come online and stream; SIGINT cleans up', async () => {
    const tmp = tempDir('halyard-demo-tmp-');
    const demo = await startDemo(['--devices', '4', '--rate', '5'], tmp);
    try {
      assert.equal(demo.username, 'demo');
      assert.ok(demo.password.length >= 16);
      assert.match(
        demo.banner,
        /Devices: +4 simulated \(2 × weather station, 1 × smart meter, 1 × pump\) in tenant "demo"\n/,
      );
      assert.ok(demo.dataDir.startsWith(join(tmp, 'halyard-demo-')) && existsSync(demo.dataDir));
      const dashboard = await fetch(`${demo.url}/`);
      assert.equal(dashboard.status, 200, 'the dashboard URL answers');
      assert.match(String(dashboard.headers.get('content-type')), /^text\/html/);
      assert.equal((await fetch(`${demo.url}/healthz`)).status, 200);
      assert.equal((await login(demo.url, 'demo', 'not-the-password')).status, 401);

      const get = await signedIn(demo);
      const page = await eventually(
        () => get('/devices') as Promise<DevicePage>,
        (p) => p.total === 4 && p.items.every((d) => d.online),
        'four devices online',
      );
      for (const d of page.items) {
        assert.equal(d.tenantId, 'demo');
        assert.deepEqual(d.tags, ['simulated']);
      }
      const meter = 'demo-meter-1';
      const first = await eventually(
        () => get(`/devices/${meter}/telemetry/latest`) as Promise<Latest>,
        (l) => typeof l.energy_kwh?.value === 'number',
        'a meter reading',
      );
      const later = await eventually(
        () => get(`/devices/${meter}/telemetry/latest`) as Promise<Latest>,
        (l) => l.energy_kwh.ts > first.energy_kwh.ts,
        'a newer meter reading',
      );
      assert.ok(
        (later.energy_kwh.value as number) >= (first.energy_kwh.value as number),
        'the register only goes up',
      );
    } finally {
      await stopDemo(demo);
    }
    assert.equal(existsSync(demo.dataDir), false, 'the throw-away directory is removed');
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('--data-dir keeps the data: a re-run reuses the devices and replaces the password', async () => {
    const dataDir = join(tempDir('halyard-demo-kept-'), 'data');
    const tmp = tempDir('halyard-demo-tmp-');
    const first = await startDemo(['--data-dir', dataDir, '--devices', '2'], tmp);
    await stopDemo(first);
    assert.ok(existsSync(join(dataDir, 'registry.db')));

    const second = await startDemo(['--data-dir', dataDir, '--devices', '2'], tmp);
    try {
      assert.match(second.banner, /, 2 reused from the last run\n/);
      assert.notEqual(second.password, first.password);
      assert.equal((await login(second.url, 'demo', first.password)).status, 401);
      const get = await signedIn(second);
      const page = (await get('/devices')) as DevicePage;
      assert.deepEqual(page.items.map((d) => d.id).sort(), ['demo-meter-1', 'demo-weather-1']);
    } finally {
      await stopDemo(second);
    }
    assert.ok(existsSync(dataDir), 'a named directory is kept');
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('a port in use is a clear error, and nothing is left behind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    const tmp = tempDir('halyard-demo-tmp-');
    try {
      const r = await runCli(['demo', ...ANY_PORTS, '--http-port', String(port)], {
        env: { PATH: process.env.PATH, TMPDIR: tmp },
      });
      failed(
        r,
        1,
        new RegExp(`port ${port} is taken \\(http\\): free it or choose another with --http-port`),
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    assert.deepEqual(readdirSync(tmp), []);
  });
});
