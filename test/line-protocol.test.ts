import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { Actor } from '../src/registry/service.js';
import { LineSocket, LOCAL_LINE_LISTENER as LOCAL } from './helpers/line-socket.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * The line protocol over real TCP and TLS sockets against the whole platform:
 * every frame, the errors a conversation survives, authentication by HMAC
 * (replay included) and token, and the same rules as MQTT (tenant, ACL,
 * presence, telemetry store, SEND across transports).
 */

let platform: TestPlatform;
let linePort: number;
let linesPort: number;
let acme: Actor;
const tokens: Record<string, string> = {};
let hmacSecret: string;

const hmac = (secretHex: string, nonce: string) =>
  createHmac('sha256', Buffer.from(secretHex, 'hex')).update(nonce).digest('hex');

/** A greeted and authenticated conversation of `deviceId` (token login). */
const open = (deviceId: string): Promise<LineSocket> =>
  LineSocket.authenticated(linePort, deviceId, tokens[deviceId]);

async function mqttDevice(deviceId: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(platform.mqttUrl, {
    username: tokens[deviceId],
    protocolVersion: 5,
    clientId: `${deviceId}-mqtt`,
    reconnectPeriod: 0,
  });
}

function nextMessage(client: mqtt.MqttClient): Promise<{ topic: string; payload: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no MQTT message within 5 s')), 5000);
    client.once('message', (topic, payload) => {
      clearTimeout(timer);
      resolve({ topic, payload: payload.toString() });
    });
  });
}

before(async () => {
  platform = await startTestPlatform({
    listeners: { line: LOCAL, lines: LOCAL },
    // Wrong proofs below must not lock 127.0.0.1 out of the rest of the file.
    security: { lockout: { maxFailures: 100 } },
  });
  linePort = platform.app.addresses.line?.port ?? assert.fail('no line listener');
  linesPort = platform.app.addresses.lines?.port ?? assert.fail('no lines listener');
  acme = (await createTenantAdmin(platform, 'acme')).actor;
  for (const id of ['sensor-1', 'sensor-2', 'valve-1', 'watcher', 'short-lived'])
    tokens[id] = (await createTokenDevice(platform, acme, { id })).token;
  tokens.guarded = (
    await createTokenDevice(platform, acme, {
      id: 'guarded',
      acl: [
        { action: 'all', topic: '#' },
        { action: 'all', topic: 'secret/#', permission: 'deny' },
      ],
    })
  ).token;
  hmacSecret = (await platform.app.registry.issueCredential(acme, 'sensor-1', { kind: 'hmac' })).secret ?? '';
  const globex = (await createTenantAdmin(platform, 'globex')).actor;
  tokens.outsider = (await createTokenDevice(platform, globex, { id: 'outsider' })).token;
});
after(() => platform.stop());

describe('line protocol: framing and the conversation', () => {
  it('greets with a fresh 128-bit nonce per connection and answers in the terminator used', async () => {
    const a = await LineSocket.greeted(linePort);
    const b = await LineSocket.greeted(linePort);
    assert.notEqual(a.nonce, b.nonce);
    a.line.write('PING\n');
    assert.deepEqual(await a.line.nextFrame(), { text: 'PONG', terminator: 'lf' });
    a.line.write('PING\r\n');
    assert.deepEqual(await a.line.nextFrame(), { text: 'PONG', terminator: 'crlf' });
    a.line.write('ping\x04');
    assert.deepEqual(await a.line.nextFrame(), { text: 'PONG', terminator: 'eot' });
    a.line.write('REPEAT|a\\pb|c\x04');
    assert.deepEqual(await a.line.nextFrame(), { text: 'OK|a\\pb|c', terminator: 'eot' });
    a.line.write('\n\n'); // empty frames get no answer
    assert.equal(await a.line.ask('CLOSE'), 'BYE');
    await a.line.closed;
    b.line.destroy();
  });

  it('answers each bad frame with its error and goes on', async () => {
    const { line } = await LineSocket.greeted(linePort);
    assert.match(await line.ask('JUMP'), /^ERR\|unknown-command\|/);
    assert.match(await line.ask('PUB|a|b'), /^ERR\|auth-required\|/);
    assert.match(await line.ask('AUTH|sensor-1'), /^ERR\|bad-frame\|/);
    assert.match(await line.ask('AUTH|sensor-1|nothex'), /^ERR\|bad-frame\|/);
    line.write(`${'X'.repeat(5000)}\nPING\n`);
    assert.equal(await line.next(), 'ERR|frame-too-long|frames are at most 4096 bytes');
    assert.equal(await line.next(), 'PONG');
    assert.equal(await line.ask(`AUTH|sensor-2|TOKEN|${tokens['sensor-2']}`), 'OK');
    assert.match(await line.ask('AUTH|sensor-2|TOKEN|again'), /^ERR\|already-authenticated\|/);
    assert.match(await line.ask('PUB|a/+|x'), /^ERR\|bad-topic\|/);
    assert.match(await line.ask('PUB|a\\x00b|x'), /^ERR\|bad-topic\|/);
    assert.match(await line.ask('SUB|a/#/b'), /^ERR\|bad-topic\|/);
    assert.match(await line.ask('PUB|$SYS/x|x'), /^ERR\|not-authorized\|/);
    assert.match(await line.ask('PUB|a|x\\q'), /^ERR\|bad-escape\|/);
    assert.match(await line.ask('PUB|a|x|2'), /^ERR\|bad-frame\|/);
    assert.match(await line.ask('UNSUB|never/subscribed'), /^ERR\|no-subscription\|/);
    assert.match(await line.ask('PUB|devices/me/telemetry|{"t":'), /^ERR\|bad-payload\|/);
    assert.match(await line.ask('PUB|channels/999/publish|field1=1'), /^ERR\|not-stored\|.*QoS 0/);
    assert.equal(await line.ask('PING'), 'PONG', 'still talking after every error');
    assert.equal(await line.ask('BYE'), 'BYE');
    assert.match(await line.ask('PUB|a|b'), /^ERR\|no-conversation\|/);
    assert.match(await line.ask('HELLO'), /^HALYARD\|1\|[0-9a-f]{32}$/, 'HELLO starts a new conversation');
    assert.equal(await line.ask('CLOSE'), 'BYE');
    await line.closed;
  });

  it('pipelined frames are answered in order, PUB before a later PING', async () => {
    const line = await open('sensor-2');
    const frames = ['PUB|devices/me/telemetry|{"seq":1}', 'PING', 'PUB|a|b|0', 'REPEAT|x', 'HELLO'];
    line.write(frames.map((f) => `${f}\n`).join(''));
    const answers = [];
    for (let i = 0; i < frames.length; i++) answers.push(await line.next());
    assert.deepEqual(answers, ['OK', 'PONG', 'OK', 'OK|x', 'OK|sensor-2']);
    line.destroy();
  });

  it('a client that sends its frames and ends its side still gets every answer', async () => {
    const { line } = await LineSocket.greeted(linePort);
    line.write(`AUTH|sensor-2|TOKEN|${tokens['sensor-2']}\nPUB|devices/me/telemetry|{"halfclose":1}\nPING\n`);
    line.end();
    assert.deepEqual([await line.next(), await line.next(), await line.next()], ['OK', 'OK', 'PONG']);
    await line.closed;
  });
});

describe('line protocol: authentication', () => {
  it('HMAC of the nonce logs in; a wrong proof does not; a captured AUTH replayed on a new connection fails', async () => {
    const first = await LineSocket.greeted(linePort);
    assert.match(await first.line.ask(`AUTH|sensor-1|${'0'.repeat(64)}`), /^ERR\|auth-failed\|/);
    const captured = `AUTH|sensor-1|${hmac(hmacSecret, first.nonce)}`;
    assert.equal(await first.line.ask(captured), 'OK');
    assert.equal(await first.line.ask('HELLO'), 'OK|sensor-1');
    first.line.destroy();

    const replay = await LineSocket.greeted(linePort);
    assert.match(await replay.line.ask(captured), /^ERR\|auth-failed\|/);
    // The same connection may still log in properly, with its own nonce.
    assert.equal(
      await replay.line.ask(`AUTH|sensor-1|${hmac(hmacSecret, replay.nonce).toUpperCase()}`),
      'OK',
    );
    replay.line.destroy();
  });

  it('a proof for a nonce that HELLO replaced is refused', async () => {
    const { line, nonce } = await LineSocket.greeted(linePort);
    const fresh = /^HALYARD\|1\|([0-9a-f]{32})$/.exec(await line.ask('HELLO'))?.[1];
    assert.ok(fresh && fresh !== nonce);
    assert.match(await line.ask(`AUTH|sensor-1|${hmac(hmacSecret, nonce)}`), /^ERR\|auth-failed\|/);
    assert.equal(await line.ask(`AUTH|sensor-1|${hmac(hmacSecret, fresh)}`), 'OK');
    line.destroy();
  });

  it("TOKEN logs in only as the token's own device; unknown devices and tokens are refused alike", async () => {
    const { line } = await LineSocket.greeted(linePort);
    assert.match(await line.ask(`AUTH|sensor-2|TOKEN|${tokens['sensor-1']}`), /^ERR\|auth-failed\|/);
    assert.match(await line.ask('AUTH|nobody|TOKEN|nonsense'), /^ERR\|auth-failed\|/);
    assert.match(await line.ask(`AUTH|nobody|${'ab'.repeat(32)}`), /^ERR\|auth-failed\|/);
    assert.equal(await line.ask(`AUTH|sensor-2|token|${tokens['sensor-2']}`), 'OK');
    line.destroy();
    const audit = await platform.app.registry.queryAudit(acme, { action: 'login.failure', limit: 50 });
    assert.ok(audit.some((e) => (e.details as { via?: string }).via === 'line'));
  });

  it('works the same over TLS with the MQTT certificate', async () => {
    const { line, nonce } = await LineSocket.greeted(linesPort, { ca: platform.caPem });
    assert.equal(await line.ask(`AUTH|sensor-1|${hmac(hmacSecret, nonce)}`), 'OK');
    assert.equal(await line.ask('PUB|devices/me/telemetry|{"tls":1}'), 'OK');
    assert.equal(await line.ask('CLOSE'), 'BYE');
    await line.closed;
  });
});

describe('line protocol: the same rules as MQTT', () => {
  it('a value sent by line is read back over MQTT and over the REST API', async () => {
    const watcher = await mqttDevice('watcher');
    await watcher.subscribeAsync('devices/me/telemetry', { qos: 1 });
    const received = nextMessage(watcher);
    const line = await open('sensor-1');
    assert.equal(await line.ask('PUB|devices/me/telemetry|{"temperature":21.5,"door":"open"}'), 'OK');
    assert.deepEqual(await received, {
      topic: 'devices/me/telemetry',
      payload: '{"temperature":21.5,"door":"open"}',
    });
    await watcher.endAsync();

    // Durable once OK: the REST API reads it back at once.
    const { token } = (await (
      await fetch(`${platform.httpUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'acme-admin', password: 'acme-password-123' }),
      })
    ).json()) as { token: string };
    const res = await fetch(`${platform.httpUrl}/api/devices/sensor-1/telemetry?keys=temperature,door`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const { points } = (await res.json()) as { points: { key: string; value: unknown }[] };
    assert.deepEqual(points.map((p) => [p.key, p.value]).sort(), [
      ['door', 'open'],
      ['temperature', 21.5],
    ]);
    line.destroy();
  });

  it('SUB delivers MQTT publishes as MSG frames, escaped; topics stay inside the tenant', async () => {
    const line = await open('sensor-2');
    assert.equal(await line.ask('SUB|cmd/#'), 'OK');
    const sender = await mqttDevice('valve-1');
    await sender.publishAsync('cmd/sensor-2', 'set|on\nnow', { qos: 1 });
    assert.equal(await line.next(), 'MSG|cmd/sensor-2|set\\pon\\nnow');
    // Another tenant publishing the same topic never reaches this conversation.
    const outsider = await mqttDevice('outsider');
    await outsider.publishAsync('cmd/sensor-2', 'intruder', { qos: 1 });
    await sender.publishAsync('cmd/sensor-2', 'second', { qos: 1 });
    assert.equal(await line.next(), 'MSG|cmd/sensor-2|second');
    assert.equal(await line.ask('UNSUB|cmd/#'), 'OK');
    await Promise.all([sender.endAsync(), outsider.endAsync()]);
    line.destroy();
  });

  it("the device's ACL applies to PUB and SUB", async () => {
    const line = await open('guarded');
    assert.match(await line.ask('PUB|secret/x|1'), /^ERR\|not-authorized\|/);
    assert.match(await line.ask('SUB|secret/#'), /^ERR\|not-authorized\|/);
    assert.equal(await line.ask('PUB|open/x|1'), 'OK');
    line.destroy();
  });

  it('SEND reaches a device of the tenant on MQTT and on the line, never one of another tenant', async () => {
    const line = await open('sensor-1');
    assert.match(await line.ask('SEND|valve-1|set|open|30'), /^ERR\|no-receiver\|/);
    const valve = await mqttDevice('valve-1');
    await valve.subscribeAsync('devices/valve-1/inbox/#', { qos: 1 });
    const arrived = nextMessage(valve);
    assert.equal(await line.ask('SEND|valve-1|set|open|3\\p0'), 'OK');
    assert.deepEqual(await arrived, { topic: 'devices/valve-1/inbox/sensor-1/set', payload: 'open|3\\p0' });

    // MQTT → line: the conversation is subscribed to its inbox from AUTH on.
    await valve.publishAsync('devices/sensor-1/inbox/valve-1/state', 'open|30', { qos: 1 });
    assert.equal(await line.next(), 'MSG|devices/sensor-1/inbox/valve-1/state|open\\p30');

    // line → line
    const other = await open('sensor-2');
    assert.equal(await other.ask('SEND|sensor-1|ping'), 'OK');
    assert.equal(await line.next(), 'MSG|devices/sensor-1/inbox/sensor-2/ping|');

    assert.match(await line.ask('SEND|outsider|set|x'), /^ERR\|unknown-device\|/);
    assert.match(await line.ask('SEND|no-such-device|set|x'), /^ERR\|unknown-device\|/);
    await valve.endAsync();
    line.destroy();
    other.destroy();
  });

  it('the device is online while a conversation is open and offline after BYE', async () => {
    const presence = platform.app.presence;
    const line = await open('short-lived');
    assert.equal(presence.isOnline('short-lived'), true);
    assert.equal(await line.ask('BYE'), 'BYE');
    await waitFor(() => !presence.isOnline('short-lived'));
    assert.equal(line.isOpen, true, 'BYE keeps the connection');
    line.destroy();
  });

  it('deactivating the device ends its conversation at once with ERR kicked', async () => {
    const id = 'doomed';
    tokens[id] = (await createTokenDevice(platform, acme, { id })).token;
    const line = await open(id);
    await platform.app.registry.setDeviceActive(acme, id, false);
    assert.match(await line.next(), /^ERR\|kicked\|/);
    await line.closed;
    const again = await LineSocket.greeted(linePort);
    assert.match(await again.line.ask(`AUTH|${id}|TOKEN|${tokens[id]}`), /^ERR\|not-authorized\|/);
    again.line.destroy();
  });

  it('publishes the cap and the waiting line as metrics', async () => {
    const line = await open('sensor-2');
    const text = await (await fetch(`${platform.httpUrl}/metrics`)).text();
    assert.match(text, /^halyard_line_max_conversations\{listener="line"\} 10000$/m);
    assert.match(text, /^halyard_line_waiting\{listener="line"\} 0$/m);
    assert.match(text, /^halyard_line_conversations\{listener="lines"\} \d+$/m);
    const conversations = /^halyard_line_conversations\{listener="line"\} (\d+)$/m.exec(text);
    assert.ok(Number(conversations?.[1]) >= 1);
    line.destroy();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
