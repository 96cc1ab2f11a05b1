import assert from 'node:assert/strict';

import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startHalyard, type RunningHalyard } from '../app.js';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { runCli, spawnCli, waitFor } from './cli-test-support.js';
import { tempDir } from '../../test/helpers/temp-dir.js';

/**
 * `halyard pub` / `halyard sub` as child processes against the real platform
 * (startHalyard: broker, SQLite store, TCP and TLS listeners).
 */

describe('halyard pub/sub against a running Halyard', () => {
  let app: RunningHalyard;
  let dataDir: string;
  let port: string;
  let tlsPort: string;
  const ann = ['-u', 'ann', '-P', 'ann-pw'];

  before(async () => {
    // The users' hashes come from the CLI itself, so passwd and the authenticator are tested together.
    const annEntry = JSON.parse(
      (await runCli(['passwd', '--username', 'ann'], { input: 'ann-pw' })).stdout,
    ) as object;
    const devHash = (await runCli(['passwd', '--password', 'dev-pw'])).stdout.trim();
    const users = [
      annEntry,
      { username: 'dev', passwordHash: devHash, acl: [{ action: 'all', topic: 'devices/%c/#' }] },
    ];
    dataDir = tempDir('halyard-pubsub-');
    const config = loadConfig({
      argv: ['--data-dir', dataDir, '--users', JSON.stringify(users)],
      env: {
        HALYARD_LISTENERS__MQTT__HOST: '127.0.0.1',
        HALYARD_LISTENERS__MQTT__PORT: '0',
        HALYARD_LISTENERS__MQTTS__HOST: '127.0.0.1',
        HALYARD_LISTENERS__MQTTS__PORT: '0',
        HALYARD_LISTENERS__HTTP__ENABLED: 'false',
        HALYARD_LISTENERS__HTTPS__ENABLED: 'false',
        HALYARD_LISTENERS__LINE__ENABLED: 'false',
        HALYARD_LISTENERS__LINES__ENABLED: 'false',
      },
      cwd: dataDir,
    });
    app = await startHalyard(config, { logger: silentLogger() });
    port = String(app.addresses.mqtt?.port);
    tlsPort = String(app.addresses.mqtts?.port);
  });

  after(async () => {
    await app?.stop();
  });

  it('delivers a retained message published with pub to a later sub', async () => {
    const pub = await runCli([
      'pub',
      '-p',
      port,
      ...ann,
      '-t',
      'cli/retained',
      '-m',
      'hello world',
      '-r',
      '-q',
      '1',
    ]);
    assert.equal(pub.code, 0, pub.stderr);
    const sub = await runCli(['sub', '-p', port, ...ann, '-t', 'cli/#', '-C', '1', '-W', '10']);
    assert.equal(sub.code, 0, sub.stderr);
    assert.equal(sub.stdout, 'cli/retained hello world\n');
  });

  for (const version of ['3', '4', '5']) {
    it(`streams lines from pub -l to sub until SIGINT (MQTT -V ${version})`, async () => {
      const topic = `lines/v${version}`;
      const v = ['-p', port, ...ann, '-V', version];
      const sub = spawnCli(['sub', ...v, '-t', topic, '-t', `probe/v${version}`, '-q', '1']);
      // sub prints nothing until a message arrives: probe until it is surely subscribed.
      for (let attempt = 0; !sub.stdout().includes('probe/'); attempt++) {
        assert.ok(attempt < 20, 'sub never received a probe');
        await runCli(['pub', ...v, '-t', `probe/v${version}`, '-m', 'probe', '-q', '1']);
        await waitFor(() => sub.stdout().includes('probe/'), 1000).catch(() => undefined);
      }
      const pub = await runCli(['pub', ...v, '-t', topic, '-l', '-q', '2'], { input: 'one\n\ntwo\r\n' });
      assert.equal(pub.code, 0, pub.stderr);
      await waitFor(() => sub.stdout().includes(`${topic} two`), 5000, 'the second line');
      sub.child.kill('SIGINT');
      const r = await sub.done;
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => l && !l.startsWith('probe/'));
      assert.deepEqual(lines, [`${topic} one`, `${topic} two`]);
    });
  }

  it('connects over TLS with the generated CA (--cafile)', async () => {
    const r = await runCli([
      'pub',
      '-p',
      tlsPort,
      '--cafile',
      join(dataDir, 'tls', 'ca.crt'),
      ...ann,
      '-t',
      'tls/x',
      '-m',
      'secure',
      '-V',
      '5',
      '-D',
      'k=v',
    ]);
    assert.equal(r.code, 0, r.stderr);
  });

  it('reports a refused CONNECT with the reason and exit 1', async () => {
    const bad = await runCli([
      'pub',
      '-p',
      port,
      '-u',
      'ann',
      '-P',
      'wrong',
      '-t',
      'a',
      '-m',
      'x',
      '-V',
      '5',
    ]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /^halyard pub: Connection refused: Bad User Name or Password \(reason code 0x86\)\n$/,
    );
    const anon = await runCli(['pub', '-p', port, '-t', 'a', '-m', 'x']);
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /Connection refused: Not authorized \(reason code 0x05\)/);
  });

  it('applies the user ACL: a refused subscription exits 1 naming the filter', async () => {
    const dev = ['-u', 'dev', '-P', 'dev-pw', '-i', 'd1', '-V', '5'];
    const ok = await runCli(['sub', '-p', port, ...dev, '-t', 'devices/d1/#', '-W', '1']);
    assert.equal(ok.code, 0, ok.stderr);
    const refused = await runCli(['sub', '-p', port, ...dev, '-t', 'devices/d2/#', '-W', '5']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /subscription to "devices\/d2\/#" refused: .*Not authorized.*0x87/);
  });

  it('keeps a persistent session (-c -i) across runs', async () => {
    const args = ['sub', '-p', port, ...ann, '-c', '-i', 'keeper', '-V', '5', '-t', 'persist/t', '-q', '1'];
    const first = await runCli([...args, '-W', '1']);
    assert.equal(first.code, 0, first.stderr);
    const pub = await runCli(['pub', '-p', port, ...ann, '-t', 'persist/t', '-m', 'queued', '-q', '1']);
    assert.equal(pub.code, 0, pub.stderr);
    const second = await runCli([...args, '-C', '1', '-W', '10']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'persist/t queued\n');
  });
});
