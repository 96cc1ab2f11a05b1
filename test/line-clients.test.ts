import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { LineClient, LineError } from '../examples/line/typescript/line-client.js';
import type { Actor } from '../src/registry/service.js';
import { runCli } from '../src/cli/cli-test-support.js';
import { LOCAL_LINE_LISTENER } from './helpers/line-socket.js';
import { tempDir } from './helpers/temp-dir.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * The reference clients against a real Halyard: the microcontroller client in
 * C (built with warnings as errors), the TypeScript client, and `halyard line`.
 */

const run = promisify(execFile);
/** examples/line/c in the source tree (the tests run from dist/test). */
const C_DIR = fileURLToPath(new URL('../../examples/line/c/', import.meta.url));

let platform: TestPlatform;
let port: number;
let tlsPort: number;
let acme: Actor;
const tokens: Record<string, string> = {};
const secrets: Record<string, string> = {};

before(async () => {
  platform = await startTestPlatform({
    listeners: { line: LOCAL_LINE_LISTENER, lines: LOCAL_LINE_LISTENER },
  });
  port = platform.app.addresses.line?.port ?? assert.fail('no line listener');
  tlsPort = platform.app.addresses.lines?.port ?? assert.fail('no lines listener');
  acme = (await createTenantAdmin(platform, 'acme')).actor;
  for (const id of ['mcu', 'node-dev', 'peer', 'cli-dev']) {
    tokens[id] = (await createTokenDevice(platform, acme, { id })).token;
    secrets[id] = (await platform.app.registry.issueCredential(acme, id, { kind: 'hmac' })).secret ?? '';
  }
});
after(() => platform.stop());

async function latest(deviceId: string, key: string): Promise<unknown> {
  const page = await platform.app.telemetry.store.query({
    seriesId: deviceId,
    keys: [key],
    from: 0,
    to: Date.now() + 1000,
    limit: 10,
    order: 'desc',
  });
  return page.points[0]?.value;
}

describe('C reference client', () => {
  it('compiles with -Wall -Werror (C99, pedantic) and talks to Halyard: HMAC login, publish, subscribe', async () => {
    const binary = join(tempDir('halyard-line-c-'), 'line-demo');
    const sources = ['demo.c', 'halyard_line.c', 'sha256.c'].map((f) => join(C_DIR, f));
    await run('cc', [
      '-std=c99',
      '-O2',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-pedantic',
      '-o',
      binary,
      ...sources,
    ]);
    const { stdout } = await run(binary, ['127.0.0.1', String(port), 'mcu', secrets.mcu, '23.25'], {
      timeout: 20_000,
    });
    assert.match(stdout, /^auth: ok$/m);
    assert.match(stdout, /^publish: ok$/m);
    assert.match(stdout, /^MSG demo\/echo x\|y$/m, 'a subscribed message, unescaped');
    assert.match(stdout, /^close: ok$/m);
    assert.equal(await latest('mcu', 'temperature'), 23.25);
  });

  it('a wrong secret is refused with the server error, and the demo fails', async () => {
    const binary = join(tempDir('halyard-line-c-'), 'line-demo');
    const sources = ['demo.c', 'halyard_line.c', 'sha256.c'].map((f) => join(C_DIR, f));
    await run('cc', ['-std=c99', '-Wall', '-Werror', '-o', binary, ...sources]);
    await assert.rejects(
      run(binary, ['127.0.0.1', String(port), 'mcu', '00'.repeat(32)], { timeout: 20_000 }),
      (err) => /auth: ERR auth-failed/.test((err as { stderr?: string }).stderr ?? ''),
    );
  });
});

describe('TypeScript reference client', () => {
  it('HMAC login over TCP, pipelined publishes, subscriptions and SEND between devices', async () => {
    const client = await LineClient.connect({ host: '127.0.0.1', port });
    await client.authHmac('node-dev', secrets['node-dev']);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => client.pub('devices/me/telemetry', JSON.stringify({ n: i }))),
    );
    assert.equal(await latest('node-dev', 'n'), 99);

    const messages: [string, string][] = [];
    client.on('message', (topic, payload) => messages.push([topic, payload.toString()]));
    await client.sub('ts/#');
    await client.pub('ts/a', Buffer.from('a|b\nc\x00'));
    const peer = await LineClient.connect({ host: '127.0.0.1', port });
    await peer.authToken('peer', tokens.peer);
    await peer.send('node-dev', 'greet', 'hello', 'x|y');
    await waitFor(() => messages.length === 2);
    assert.deepEqual(messages, [
      ['ts/a', 'a|b\nc\x00'],
      ['devices/node-dev/inbox/peer/greet', 'hello|x\\py'],
    ]);

    await assert.rejects(
      client.pub('ts/+', 'x'),
      (err) => err instanceof LineError && err.code === 'bad-topic',
    );
    await assert.rejects(
      peer.send('nobody', 't'),
      (err) => err instanceof LineError && err.code === 'unknown-device',
    );
    await client.bye();
    await client.hello();
    assert.match(client.nonce, /^[0-9a-f]{32}$/);
    await client.authToken('node-dev', tokens['node-dev']);
    await client.ping();
    await Promise.all([client.close(), peer.close()]);
  });

  it('token login over TLS, trusting the platform CA', async () => {
    const client = await LineClient.connect({
      host: '127.0.0.1',
      port: tlsPort,
      tls: { ca: platform.caPem, servername: 'localhost' },
    });
    await client.authToken('node-dev', tokens['node-dev']);
    await client.pub('devices/me/telemetry', '{"overTls":true}');
    assert.equal(await latest('node-dev', 'overTls'), true);
    await client.close();
  });
});

describe('halyard line', () => {
  it('logs in with a token and sends the -c frames, printing every answer', async () => {
    const result = await runCli([
      'line',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-d',
      'cli-dev',
      '--token',
      tokens['cli-dev'],
      '-c',
      'PUB|devices/me/telemetry|{"fromCli":7}',
      '-c',
      'PING',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^HALYARD\|1\|[0-9a-f]{32}\nOK\nOK\nPONG\n$/);
    assert.equal(await latest('cli-dev', 'fromCli'), 7);
  });

  it('logs in with the HMAC secret over TLS and sends what stdin says', async () => {
    const ca = join(tempDir('halyard-line-cli-'), 'ca.pem');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(ca, platform.caPem);
    const result = await runCli(
      ['line', '-h', 'localhost', '-p', String(tlsPort), '--tls', '--cafile', ca, '-d', 'cli-dev'],
      {
        input: 'REPEAT|typed\nPING\n',
        env: { PATH: process.env.PATH, HALYARD_LINE_SECRET: secrets['cli-dev'] },
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\nOK\nOK\|typed\nPONG\n$/);
  });

  it('exits 1 when the login is refused, 2 on bad arguments', async () => {
    const refused = await runCli([
      'line',
      '-p',
      String(port),
      '-h',
      '127.0.0.1',
      '-d',
      'cli-dev',
      '--token',
      'wrong',
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /^ERR\|auth-failed\|/m);
    const usage = await runCli(['line', '-d', 'cli-dev']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /exactly one of --hmac-secret or --token/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
