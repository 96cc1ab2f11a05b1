import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Broker } from '../src/broker/broker.js';
import { silentLogger } from '../src/core/logger.js';
import { ConfigUsersAuthenticator } from '../src/devices/config-users.js';
import { hashPassword } from '../src/devices/password.js';
import { MemoryBrokerStore } from '../src/store/memory-store.js';
import { startListeners, type ListenersConfig, type RunningListeners } from '../src/transport/index.js';
import { startTestBroker, type TestBroker } from './helpers/broker-harness.js';

/**
 * Interoperability with the Debian mosquitto_pub / mosquitto_sub command-line
 * clients (package mosquitto-clients). Missing clients fail the suite under
 * CI=true and skip it elsewhere.
 */

const onPath = (cmd: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
// stdbuf (coreutils) line-buffers mosquitto_sub's piped output.
const installed = ['mosquitto_pub', 'mosquitto_sub', 'stdbuf'].every(onPath);
const inCi = process.env.CI === 'true';
const SKIP =
  installed || inCi ? false : 'mosquitto_pub/mosquitto_sub not installed (apt-get install mosquitto-clients)';
const VERSIONS = ['mqttv311', 'mqttv5'] as const;
/** A safety net only: a client that hangs is killed so the test fails instead of blocking the run. */
const PROCESS_TIMEOUT_MS = 10_000;

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  /** Resolves once a line of stdout matches (mosquitto_sub -d prints "received SUBACK"). */
  waitFor(pattern: RegExp): Promise<void>;
  exit: Promise<Exit>;
}

function run(cmd: string, args: string[]): Running {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const w of watchers.splice(0)) {
      if (w.pattern.test(stdout)) w.resolve();
      else watchers.push(w);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
  const exit = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    exit,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(stdout)) return resolve();
        watchers.push({ pattern, resolve });
        exit.then(
          (e) =>
            reject(new Error(`${cmd} exited (${e.code}) before ${String(pattern)}: ${e.stdout}${e.stderr}`)),
          reject,
        );
      }),
  };
}

interface Target {
  args: string[];
}

/** Connection arguments: host/port, and TLS or credentials when given. */
function target(port: number, extra: string[] = []): Target {
  return { args: ['-h', '127.0.0.1', '-p', String(port), ...extra] };
}

/**
 * Starts `mosquitto_sub -C count -v -d`, waits for its SUBACK, runs `publish`,
 * then returns the received messages as "topic payload" lines and the QoS and
 * retain flags of each PUBLISH the client saw (from its debug output).
 */
async function subscribeAndCollect(
  t: Target,
  opts: { version: string; topic: string; qos: number; count: number; id: string },
  publish: () => Promise<void>,
): Promise<{ lines: string[]; flags: { qos: number; retain: boolean }[] }> {
  // Piped stdout is block-buffered: stdbuf makes the SUBACK debug line arrive when it happens.
  const sub = run('stdbuf', [
    ...['-oL', 'mosquitto_sub'],
    ...t.args,
    ...['-V', opts.version, '-i', opts.id, '-t', opts.topic, '-q', String(opts.qos)],
    ...['-C', String(opts.count), '-v', '-d'],
  ]);
  await sub.waitFor(/received SUBACK/);
  await publish();
  const result = await sub.exit;
  assert.equal(result.code, 0, `mosquitto_sub failed: ${result.stdout}${result.stderr}`);
  const all = result.stdout.split('\n').filter((l) => l.length > 0);
  const lines = all.filter((l) => !l.startsWith('Client ') && !l.startsWith('Subscribed'));
  const flags = all
    .map((l) => /received PUBLISH \(d\d, q(\d), r(\d)/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ qos: Number(m[1]), retain: m[2] === '1' }));
  return { lines, flags };
}

async function pub(t: Target, version: string, args: string[]): Promise<Exit> {
  const result = await run('mosquitto_pub', [...t.args, '-V', version, ...args]).exit;
  assert.equal(result.code, 0, `mosquitto_pub failed: ${result.stderr}`);
  return result;
}

/** The same round trips over any listener the target points at. */
function pubSubSuite(getTarget: () => Target, label: string): void {
  for (const version of VERSIONS) {
    for (const qos of [0, 1, 2]) {
      it(`${label} ${version}: mosquitto_pub -q ${qos} → mosquitto_sub -q ${qos}`, async () => {
        const t = getTarget();
        const topic = `mq/${label}/${version}/q${qos}`;
        const got = await subscribeAndCollect(
          t,
          { version, topic: `mq/${label}/${version}/+`, qos, count: 1, id: `sub-${label}-${version}-${qos}` },
          () =>
            pub(t, version, ['-t', topic, '-q', String(qos), '-m', `hello q${qos}`]).then(() => undefined),
        );
        assert.deepEqual(got.lines, [`${topic} hello q${qos}`]);
        assert.deepEqual(got.flags, [{ qos, retain: false }]);
      });
    }

    it(`${label} ${version}: a retained message (-r) reaches a later subscriber, and -r -n clears it`, async () => {
      const t = getTarget();
      const topic = `mq/${label}/${version}/r/kept`;
      await pub(t, version, ['-t', topic, '-q', '2', '-r', '-m', 'kept']);
      // Subscribing afterwards: the message arrives with the retain flag, at min(2, 1).
      const got = await subscribeAndCollect(
        t,
        { version, topic, qos: 1, count: 1, id: `ret-${label}-${version}` },
        () => Promise.resolve(),
      );
      assert.deepEqual(got.lines, [`${topic} kept`]);
      assert.deepEqual(got.flags, [{ qos: 1, retain: true }]);
      await pub(t, version, ['-t', topic, '-q', '1', '-r', '-n']);
      const marker = `mq/${label}/${version}/r/marker`;
      const after = await subscribeAndCollect(
        t,
        { version, topic: `mq/${label}/${version}/r/#`, qos: 0, count: 1, id: `ret2-${label}-${version}` },
        () => pub(t, version, ['-t', marker, '-m', 'marker']).then(() => undefined),
      );
      // The first (and only) message is the live marker: nothing is retained any more.
      assert.deepEqual(after.lines, [`${marker} marker`]);
      assert.deepEqual(after.flags, [{ qos: 0, retain: false }]);
    });
  }
}

describe('mosquitto command-line clients', { skip: SKIP }, () => {
  if (!installed) {
    it('mosquitto_pub and mosquitto_sub are installed (required under CI=true)', () => {
      assert.fail(
        'mosquitto_pub/mosquitto_sub (or stdbuf) not found on PATH; install the mosquitto-clients package',
      );
    });
    return;
  }

  describe('over TCP', () => {
    let tb: TestBroker;
    before(async () => {
      tb = await startTestBroker();
    });
    after(async () => {
      await tb.close();
    });
    pubSubSuite(() => target(tb.port), 'tcp');
  });

  describe('username and password', () => {
    let tb: TestBroker;
    before(async () => {
      const users = [
        { username: 'sensor', passwordHash: await hashPassword('s3cret', { N: 1024, r: 8, p: 1 }) },
      ];
      tb = await startTestBroker({
        authenticator: new ConfigUsersAuthenticator(users),
        allowAnonymous: false,
      });
    });
    after(async () => {
      await tb.close();
    });

    for (const version of VERSIONS) {
      it(`${version}: the right password publishes and subscribes`, async () => {
        const t = target(tb.port, ['-u', 'sensor', '-P', 's3cret']);
        const got = await subscribeAndCollect(
          t,
          { version, topic: 'auth/#', qos: 1, count: 1, id: `auth-sub-${version}` },
          () => pub(t, version, ['-t', 'auth/t', '-q', '1', '-m', '42']).then(() => undefined),
        );
        assert.deepEqual(got.lines, ['auth/t 42']);
      });

      it(`${version}: a wrong password or no credentials is refused`, async () => {
        const failures = tb.broker.stats.authFailures;
        for (const creds of [['-u', 'sensor', '-P', 'wrong'], ['-u', 'nobody', '-P', 's3cret'], []]) {
          const result = await run('mosquitto_pub', [
            ...target(tb.port, creds).args,
            ...['-V', version, '-t', 'auth/t', '-m', 'x'],
          ]).exit;
          assert.notEqual(result.code, 0);
          assert.match(result.stderr, /not authori[sz]ed|bad user ?name or password/i);
        }
        assert.equal(tb.broker.stats.authFailures - failures, 3);
      });
    }
  });

  describe('over TLS (--cafile with the generated local CA)', () => {
    let broker: Broker;
    let listeners: RunningListeners;
    let dataDir: string;
    let caPath: string;
    let port: number;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'halyard-mosquitto-'));
      broker = new Broker({
        store: new MemoryBrokerStore(),
        authenticator: new ConfigUsersAuthenticator([]),
        logger: silentLogger(),
        options: { sysInterval: 0 },
      });
      await broker.start();
      const off = { enabled: false, host: '127.0.0.1', port: 0, allowAnonymous: false };
      const config: ListenersConfig = {
        mqtt: { ...off },
        mqtts: { ...off, enabled: true, allowAnonymous: true, requestClientCert: false },
        http: { ...off },
        https: { ...off, requestClientCert: false },
      };
      listeners = await startListeners(broker, config, { logger: silentLogger(), dataDir });
      port = listeners.addresses.mqtts?.port ?? assert.fail('no mqtts address');
      caPath = listeners.tls?.caPath ?? assert.fail('no generated CA path');
    });
    after(async () => {
      await broker.close();
      await listeners.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    // The server certificate names localhost; mosquitto checks it against -h.
    const tlsTarget = (): Target => ({ args: ['-h', 'localhost', '-p', String(port), '--cafile', caPath] });
    pubSubSuite(tlsTarget, 'tls');

    it('a client without the CA refuses the server certificate', async () => {
      // An empty CA directory: nothing to verify the server certificate against.
      const emptyDir = await mkdtemp(join(tmpdir(), 'halyard-noca-'));
      try {
        const args = ['-h', 'localhost', '-p', String(port), '--capath', emptyDir, '-t', 'x', '-m', 'x'];
        const result = await run('mosquitto_pub', args).exit;
        assert.notEqual(result.code, 0, 'connected without trusting the CA');
      } finally {
        await rm(emptyDir, { recursive: true, force: true });
      }
    });
  });
});
