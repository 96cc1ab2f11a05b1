import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_BROKER_OPTIONS } from '../broker/options.js';
import { envToPath, loadConfig, type Config } from './config.js';
import { HalyardError, isHalyardError } from './errors.js';
import { tempDir } from '../../test/helpers/temp-dir.js';

const cwd = tempDir('halyard-config-');
const HASH = '$scrypt$N=16384,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

function writeConfig(name: string, content: unknown): string {
  const path = join(cwd, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function load(argv: string[] = [], env: Record<string, string> = {}): Config {
  return loadConfig({ argv, env, cwd });
}

function loadError(argv: string[] = [], env: Record<string, string> = {}): HalyardError {
  try {
    load(argv, env);
  } catch (err) {
    assert.ok(err instanceof HalyardError, String(err));
    return err;
  }
  assert.fail('expected loadConfig to throw');
}

describe('loadConfig defaults', () => {
  it('gives documented defaults with nothing set', () => {
    const c = load();
    assert.equal(c.dataDir, join(cwd, 'halyard-data'));
    assert.equal(c.log.level, 'info');
    assert.deepEqual(c.listeners.mqtt, { enabled: true, host: '0.0.0.0', port: 1883, allowAnonymous: false });
    assert.equal(c.listeners.mqtts.port, 8883);
    assert.equal(c.listeners.mqtts.requestClientCert, true);
    assert.equal(c.listeners.https.requestClientCert, false);
    assert.equal(c.listeners.http.port, 8080);
    assert.equal(c.listeners.https.port, 8443);
    const { version: _version, ...brokerDefaults } = DEFAULT_BROKER_OPTIONS;
    assert.deepEqual(c.broker, brokerDefaults);
    assert.equal(c.store.synchronous, 'full');
    assert.deepEqual(c.users, []);
  });
});

describe('loadConfig sources', () => {
  it('reads a JSON file from --config, filling the rest with defaults', () => {
    const file = writeConfig('a.json', {
      listeners: { mqtt: { port: 1999 }, https: { certFile: 'c.pem', keyFile: '/abs/k.pem' } },
      users: [{ username: 'u', passwordHash: HASH, acl: [{ action: 'all', topic: 'x/#' }] }],
    });
    const c = load(['--config', file]);
    assert.equal(c.listeners.mqtt.port, 1999);
    assert.equal(c.listeners.mqtt.host, '0.0.0.0');
    assert.equal(c.listeners.https.certFile, join(cwd, 'c.pem'));
    assert.equal(c.listeners.https.keyFile, '/abs/k.pem');
    assert.deepEqual(c.users[0].acl, [{ action: 'all', topic: 'x/#', permission: 'allow' }]);
  });

  it('reads the file named by HALYARD_CONFIG, relative to cwd', () => {
    writeConfig('b.json', { dataDir: 'elsewhere' });
    assert.equal(load([], { HALYARD_CONFIG: 'b.json' }).dataDir, join(cwd, 'elsewhere'));
  });

  it('maps HALYARD_ variables: __ nests, SCREAMING_SNAKE becomes camelCase', () => {
    assert.deepEqual(envToPath('HALYARD_BROKER__MAX_PACKET_SIZE'), ['broker', 'maxPacketSize']);
    assert.deepEqual(envToPath('HALYARD_DATA_DIR'), ['dataDir']);
    assert.equal(envToPath('HALYARD_CONFIG'), undefined);
    assert.equal(envToPath('PATH'), undefined);
    const c = load([], {
      HALYARD_LISTENERS__MQTT__PORT: '1884',
      HALYARD_LISTENERS__MQTTS__ALLOW_ANONYMOUS: 'true',
      HALYARD_LISTENERS__HTTP__ENABLED: 'false',
      HALYARD_BROKER__MAX_PACKET_SIZE: '2048',
      HALYARD_BROKER__QUEUE_OVERFLOW: 'drop-oldest',
      HALYARD_STORE__SYNCHRONOUS: 'normal',
      HALYARD_LOG_LEVEL: 'debug',
      HALYARD_USERS: JSON.stringify([{ username: 'u', passwordHash: HASH }]),
      UNRELATED: 'ignored',
    });
    assert.equal(c.listeners.mqtt.port, 1884);
    assert.equal(c.listeners.mqtts.allowAnonymous, true);
    assert.equal(c.listeners.http.enabled, false);
    assert.equal(c.broker.maxPacketSize, 2048);
    assert.equal(c.broker.queueOverflow, 'drop-oldest');
    assert.equal(c.store.synchronous, 'normal');
    assert.equal(c.log.level, 'debug');
    assert.equal(c.users[0].username, 'u');
  });

  it('reads flags: dotted paths in kebab- or camelCase, --x=y, shorthands and bare switches', () => {
    const c = load([
      '--listeners.mqtt.port',
      '1884',
      '--broker.max-packet-size=4096',
      '--broker.maxInflight',
      '7',
      '--data-dir',
      'd',
      '--log-level',
      'warn',
      '--listeners.mqtt.allow-anonymous',
      '--listeners.http.port',
      '0',
    ]);
    assert.equal(c.listeners.mqtt.port, 1884);
    assert.equal(c.broker.maxPacketSize, 4096);
    assert.equal(c.broker.maxInflight, 7);
    assert.equal(c.dataDir, join(cwd, 'd'));
    assert.equal(c.log.level, 'warn');
    assert.equal(c.listeners.mqtt.allowAnonymous, true);
    assert.equal(c.listeners.http.port, 0);
    assert.equal(load(['--port', '2000']).listeners.mqtt.port, 2000);
  });

  it('applies precedence defaults < file < env < flags', () => {
    const file = writeConfig('p.json', {
      listeners: { mqtt: { port: 1001, host: '127.0.0.1' } },
      dataDir: 'f',
    });
    const env = { HALYARD_CONFIG: file, HALYARD_LISTENERS__MQTT__PORT: '1002', HALYARD_DATA_DIR: 'e' };
    const c1 = load([], env);
    assert.equal(c1.listeners.mqtt.port, 1002);
    assert.equal(c1.listeners.mqtt.host, '127.0.0.1', 'env overrides one key, not the whole object');
    assert.equal(c1.dataDir, join(cwd, 'e'));
    const c2 = load(['--port', '1003'], env);
    assert.equal(c2.listeners.mqtt.port, 1003);
    assert.equal(c2.dataDir, join(cwd, 'e'));
    assert.equal(load(['--config', writeConfig('q.json', { dataDir: 'q' })], env).dataDir, join(cwd, 'e'));
  });
});

describe('loadConfig errors', () => {
  it('names the key, the rule, the value and the source', () => {
    const err = loadError([], { HALYARD_LISTENERS__MQTT__PORT: '70000' });
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(
      err.message,
      /listeners\.mqtt\.port: must be ≤ 65535 \(got 70000\) \[from HALYARD_LISTENERS__MQTT__PORT\]/,
    );
  });

  it('lists every bad key at once, each with its source', () => {
    const file = writeConfig('bad.json', {
      listeners: { https: { port: -1 } },
      store: { synchronous: 'off' },
    });
    const err = loadError(['--config', file, '--broker.max-packet-size', '8', '--log-level', 'loud'], {
      HALYARD_LISTENERS__MQTTS__ALLOW_ANONYMOUS: 'maybe',
      HALYARD_BROKER__MAX_INFLIGHT: '1.5',
    });
    const lines = err.message.split('\n');
    assert.equal(lines[0], 'Invalid configuration:');
    const expectations: [RegExp, string][] = [
      [/^ {2}listeners\.https\.port: must be ≥ 0 \(got -1\)/, `config file ${file}`],
      [/^ {2}store\.synchronous: must be one of "full", "normal" \(got "off"\)/, `config file ${file}`],
      [/^ {2}broker\.maxPacketSize: must be ≥ 16 \(got 8\)/, '--broker.max-packet-size'],
      [/^ {2}log\.level: must be one of/, '--log-level'],
      [
        /^ {2}listeners\.mqtts\.allowAnonymous: must be a boolean \(got maybe\)/,
        'HALYARD_LISTENERS__MQTTS__ALLOW_ANONYMOUS',
      ],
      [/^ {2}broker\.maxInflight: must be an integer \(got 1\.5\)/, 'HALYARD_BROKER__MAX_INFLIGHT'],
    ];
    for (const [pattern, source] of expectations) {
      const line = lines.find((l) => pattern.test(l));
      assert.ok(line, `no line matching ${pattern} in:\n${err.message}`);
      assert.ok(line.endsWith(`[from ${source}]`), line);
    }
    assert.equal(lines.length, 1 + expectations.length);
  });

  it('rejects unknown keys from every source', () => {
    const file = writeConfig('unknown.json', { listeners: { mqtt: { prot: 1 } }, extra: true });
    const err = loadError(['--config', file, '--broker.nope', '1'], { HALYARD_STORE__SYNC: 'full' });
    assert.match(err.message, /listeners\.mqtt\.prot: unknown key \[from config file .*unknown\.json\]/);
    assert.match(err.message, /extra: unknown key \[from config file/);
    assert.match(err.message, /broker\.nope: unknown key \[from --broker\.nope\]/);
    assert.match(err.message, /store\.sync: unknown key \[from HALYARD_STORE__SYNC\]/);
    assert.ok(!isHalyardError(err, 'CONFIG_FILE_UNREADABLE'));
  });

  it('treats __proto__ in a file as an unknown key, not a prototype', () => {
    const err = loadError(['--config', writeConfig('proto.json', '{"__proto__": {"dataDir": "x"}}')]);
    assert.match(err.message, /__proto__: unknown key/);
  });

  it('validates users: hash format, ACL shape and topic, duplicates', () => {
    const users = [
      { username: 'a', passwordHash: 'plaintext!' },
      { username: 'b', passwordHash: HASH, acl: [{ action: 'pub', topic: 'a/#/b' }] },
    ];
    const err = loadError(['--config', writeConfig('users.json', { users })]);
    assert.match(err.message, /users\.0\.passwordHash: must be a hash printed by `halyard passwd`/);
    assert.doesNotMatch(err.message, /plaintext!/, 'secrets are never echoed');
    assert.match(err.message, /users\.1\.acl\.0\.action: must be one of "publish", "subscribe", "all"/);
    assert.match(err.message, /users\.1\.acl\.0\.topic: must be a topic filter/);
    const dup = [
      { username: 'a', passwordHash: HASH },
      { username: 'a', passwordHash: HASH },
    ];
    assert.match(
      loadError([], { HALYARD_USERS: JSON.stringify(dup) }).message,
      /users\.1\.username: duplicate/,
    );
  });

  it('requires certFile and keyFile together', () => {
    const err = loadError(['--listeners.mqtts.cert-file', 'c.pem']);
    assert.match(err.message, /listeners\.mqtts\.certFile: certFile and keyFile must be given together/);
  });

  it('rejects stray arguments', () => {
    assert.match(loadError(['1884']).message, /unexpected argument "1884"/);
  });

  it('reports a missing file as CONFIG_FILE_UNREADABLE', () => {
    const err = loadError(['--config', 'missing.json']);
    assert.equal(err.code, 'CONFIG_FILE_UNREADABLE');
    assert.match(err.message, /missing\.json: no such file \(ENOENT\)/);
  });

  it('reports bad JSON with line and column', () => {
    const err = loadError(['--config', writeConfig('broken.json', '{\n  "dataDir": "x",\n  oops: 1\n}')]);
    assert.equal(err.code, 'CONFIG_FILE_UNREADABLE');
    assert.match(err.message, /broken\.json is not valid JSON at line 3, column 3/);
  });

  it('requires the file to hold an object', () => {
    assert.match(loadError(['--config', writeConfig('arr.json', '[1]')]).message, /must hold a JSON object/);
  });
});
