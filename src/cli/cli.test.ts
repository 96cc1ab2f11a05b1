import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyPassword } from '../devices/password.js';
import { runCli, spawnCli, waitFor } from './cli-test-support.js';
import { tempDir } from '../../test/helpers/temp-dir.js';

/** CLI behaviour that needs no broker: help, usage errors, passwd, start's config errors. */

describe('halyard (no command / help)', () => {
  it('prints usage to stderr and exits 2 without a command', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: halyard <command>/);
  });

  it('prints help for each command', async () => {
    for (const [args, pattern] of [
      [['--help'], /Commands:/],
      [['help', 'sub'], /Usage: halyard sub/],
      [['pub', '--help'], /-l, --stdin-line/],
      [['sub', '--help'], /-C, --count/],
      [['passwd', '--help'], /Usage: halyard passwd/],
      [['start', '--help'], /HALYARD_LISTENERS__MQTT__PORT/],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, pattern);
    }
  });

  it('rejects an unknown command with exit 2', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });
});

describe('halyard passwd', () => {
  it('hashes a password read from stdin, dropping the trailing newline', async () => {
    const r = await runCli(['passwd'], { input: 'hunter2\n' });
    assert.equal(r.code, 0, r.stderr);
    const hash = r.stdout.trim();
    assert.match(hash, /^\$scrypt\$N=16384,r=8,p=1\$/);
    assert.equal(await verifyPassword('hunter2', hash), true);
  });

  it('takes --password and prints a users[] entry with --username', async () => {
    const r = await runCli(['passwd', '--password', 'pw 1', '--username', 'ann']);
    assert.equal(r.code, 0, r.stderr);
    const entry = JSON.parse(r.stdout) as { username: string; passwordHash: string };
    assert.equal(entry.username, 'ann');
    assert.equal(await verifyPassword('pw 1', entry.passwordHash), true);
  });

  it('refuses an empty password with exit 2', async () => {
    const r = await runCli(['passwd'], { input: '' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /password is empty/);
  });
});

describe('halyard pub/sub argument errors', () => {
  const cases: [string[], RegExp][] = [
    [['pub', '-m', 'x'], /-t\/--topic is required/],
    [['pub', '-t', 'a'], /exactly one of -m, -f, -s, -l or -n/],
    [['pub', '-t', 'a/#', '-m', 'x'], /wildcard topic/],
    [['pub', '-t', 'a', '-m', 'x', '-q', '3'], /-q\/--qos must be an integer from 0 to 2/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '6'], /-V must be 3, 4 or 5/],
    [['pub', '-t', 'a', '-m', 'x', '-D', 'k=v'], /needs MQTT 5/],
    [['pub', '-t', 'a', '-m', 'x', '-V', '5', '-D', 'novalue'], /expects key=value/],
    [['pub', '--nope'], /Unknown option '--nope'/],
    [['sub'], /at least one -t\/--topic/],
    [['sub', '-t', 'a', '-c'], /needs a client id/],
    [['sub', '-t', 'a', '-C', '0'], /-C\/--count must be an integer/],
  ];
  for (const [args, pattern] of cases) {
    it(`${args.join(' ')} → exit 2`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }

  it('reports a refused TCP connection in one line with exit 1', async () => {
    const r = await runCli(['pub', '-p', '1', '-t', 'a', '-m', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^halyard pub: cannot connect to localhost:1: .*ECONNREFUSED.*\n$/);
  });
});

describe('halyard start configuration errors', () => {
  const cwd = tempDir('halyard-cli-');

  it('prints every bad key and exits 2 without a stack trace', async () => {
    const r = await runCli(['start', '--port', '70000'], {
      cwd,
      env: { PATH: process.env.PATH, HALYARD_BROKER__MAX_PACKET_SIZE: 'big' },
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /listeners\.mqtt\.port: must be ≤ 65535 \(got 70000\) \[from --port\]/);
    assert.match(
      r.stderr,
      /broker\.maxPacketSize: must be a number \(got big\) \[from HALYARD_BROKER__MAX_PACKET_SIZE\]/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('reports an unreadable config file with exit 2', async () => {
    writeFileSync(join(cwd, 'bad.json'), '{"dataDir": }');
    const r = await runCli(['start', '--config', 'bad.json'], { cwd });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.json is not valid JSON at line 1, column 13/);
  });
});

describe('halyard start', () => {
  it('logs its listeners, stops on SIGTERM and exits 0', async () => {
    const dataDir = tempDir('halyard-start-');
    const cli = spawnCli(
      ['start', '--data-dir', dataDir, '--listeners.mqtt.host', '127.0.0.1', '--port', '0'],
      {
        env: {
          PATH: process.env.PATH,
          HALYARD_LISTENERS__MQTTS__ENABLED: 'false',
          HALYARD_LISTENERS__HTTP__ENABLED: 'false',
          HALYARD_LISTENERS__HTTPS__ENABLED: 'false',
          HALYARD_LISTENERS__LINE__ENABLED: 'false',
          HALYARD_LISTENERS__LINES__ENABLED: 'false',
        },
      },
    );
    // Printed once started: the platform admin's generated password, outside the structured log.
    await waitFor(() => /password: \S{20,}/.test(cli.stdout()), 10_000, 'the first-start admin password');
    assert.match(cli.stdout(), /mqtt listening on 127\.0\.0\.1:\d+/);
    assert.match(cli.stdout(), /username: admin\n {2}password: \S{20,}/);
    cli.child.kill('SIGTERM');
    const r = await cli.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"msg":"stopped"/);
  });
});
