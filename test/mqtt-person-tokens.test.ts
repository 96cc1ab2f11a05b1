/**
 * People on MQTT without their password: the dashboard's flow (sign in, ask
 * POST /api/me/mqtt-credentials, connect with the ticket) with MQTT.js against
 * the whole platform; second-factor people, sign-out closing the connection,
 * the lockout, and viewers who may subscribe but not publish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { totpCode, totpSecretFromBase32 } from '../src/registry/totp.js';
import { SYSTEM_ACTOR, type Actor } from '../src/registry/service.js';
import { startTestPlatform, type TestPlatform } from './helpers/platform.js';

const CSRF = { 'x-halyard-csrf': '1' };
const MAX_FAILURES = 3;
const WAIT_MS = 5000;

describe('people on MQTT with a session, API token or MQTT ticket', () => {
  let platform: TestPlatform;
  const clients: MqttClient[] = [];

  const person = async (username: string, role: 'viewer' | 'operator') => {
    const password = `${username} password 1`;
    const user = await platform.app.registry.createUser(SYSTEM_ACTOR, {
      username,
      password,
      role,
      tenantId: 'acme',
    });
    const actor: Actor = { type: 'user', id: user.id, name: username, tenantId: 'acme', role };
    return { username, password, actor };
  };

  /** Signs in as the dashboard does; returns the session cookie. */
  const signIn = async (username: string, password: string, totp?: string) => {
    const res = await fetch(`${platform.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password, totp }),
    });
    assert.equal(res.status, 200, await res.text());
    const cookie = /halyard_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie, 'the session cookie is set');
    return cookie;
  };

  const mqttCredentials = async (cookie: string) => {
    const res = await fetch(`${platform.httpUrl}/api/me/mqtt-credentials`, {
      method: 'POST',
      headers: { cookie, ...CSRF },
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { username: string; password: string; expiresAt: number };
  };

  const connect = async (options: IClientOptions) => {
    const client = await mqtt.connectAsync(platform.mqttUrl, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: WAIT_MS,
      ...options,
    });
    clients.push(client);
    return client;
  };

  /** The CONNACK reason code of a refused connection. */
  const refusal = async (options: IClientOptions) => {
    const err = await connect(options).then(
      () => assert.fail('the connection was accepted'),
      (e: unknown) => e as { code?: number },
    );
    return err.code;
  };

  const signOut = async (cookie: string) => {
    const res = await fetch(`${platform.httpUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie, ...CSRF },
    });
    assert.equal(res.status, 204);
  };

  /** Resolves with the reason code of the server's DISCONNECT; fails after WAIT_MS. */
  const disconnected = (client: MqttClient) =>
    new Promise<number | undefined>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the connection was not closed')), WAIT_MS);
      client.once('disconnect', (packet) => {
        clearTimeout(timer);
        resolve(packet.reasonCode);
      });
    });

  before(async () => {
    platform = await startTestPlatform({
      security: { lockout: { maxFailures: MAX_FAILURES, windowSeconds: 60, lockSeconds: 600 } },
    });
    await platform.app.registry.createTenant(SYSTEM_ACTOR, { id: 'acme', name: 'Acme' });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await platform?.stop();
  });

  it('connects MQTT.js with the credentials the API returns for the session cookie', async () => {
    const op = await person('olga', 'operator');
    const cookie = await signIn(op.username, op.password);
    const credentials = await mqttCredentials(cookie);
    assert.equal(credentials.username, 'olga');
    assert.match(credentials.password, /^ht_/);
    assert.ok(credentials.expiresAt > Date.now());
    const client = await connect({ username: credentials.username, password: credentials.password });
    await client.subscribeAsync('plant/#', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await client.publishAsync('plant/valve', 'open', { qos: 1 });
    assert.equal(await got, 'open');

    const refused = await fetch(`${platform.httpUrl}/api/me/mqtt-credentials`, {
      method: 'POST',
      headers: { cookie },
    });
    assert.equal(refused.status, 403, 'the cookie alone, without the CSRF header, gets no ticket');
    const audit = await platform.app.registry.queryAudit(SYSTEM_ACTOR, { action: 'mqtt-ticket.issue' });
    assert.equal(audit.filter((e) => e.actor === 'olga').length, 1);
  });

  it('takes an API token as the password too', async () => {
    const op = await person('omar', 'operator');
    const { token } = await platform.app.registry.createApiToken(op.actor, { name: 'mqtt' });
    await connect({ username: op.username, password: token });
  });

  it('lets a person with a second factor use the console flow, but not their password alone', async () => {
    const op = await person('tess', 'operator');
    const registry = platform.app.registry;
    const key = totpSecretFromBase32((await registry.enrolTotp(op.actor)).secret);
    await registry.confirmTotp(op.actor, totpCode(key, Date.now()));
    assert.equal(await refusal({ username: op.username, password: op.password }), 0x87);
    const cookie = await signIn(op.username, op.password, totpCode(key, Date.now() + 30_000));
    const credentials = await mqttCredentials(cookie);
    const client = await connect({ username: credentials.username, password: credentials.password });
    assert.ok(client.connected);
  });

  it("closes the connection of a session that signs out, and only that session's", async () => {
    const op = await person('sam', 'operator');
    const ending = await signIn(op.username, op.password);
    const staying = await signIn(op.username, op.password);
    const [a, b] = [await mqttCredentials(ending), await mqttCredentials(staying)];
    const endingClient = await connect({ username: a.username, password: a.password });
    const stayingClient = await connect({ username: b.username, password: b.password });
    const closed = disconnected(endingClient);
    await signOut(ending);
    assert.equal(await closed, 0x98, 'administrative action');
    assert.ok(stayingClient.connected, 'the other session keeps its connection');
    await stayingClient.publishAsync('still/here', 'yes', { qos: 1 });
    // The ended session's ticket opens nothing any more.
    assert.equal(await refusal({ username: a.username, password: a.password }), 0x86);
  });

  it('lets a viewer subscribe, and refuses their publish with PUBACK 0x87', async () => {
    const viewer = await person('vera', 'viewer');
    const op = await person('otto', 'operator');
    const asViewer = await mqttCredentials(await signIn(viewer.username, viewer.password));
    const client = await connect({ username: asViewer.username, password: asViewer.password });
    const granted = await client.subscribeAsync('lab/#', { qos: 1 });
    assert.equal(granted[0].qos, 1);
    const received: string[] = [];
    client.on('message', (_topic, payload) => received.push(payload.toString()));

    await assert.rejects(client.publishAsync('lab/door', 'viewer', { qos: 1 }), (err: { code?: number }) => {
      assert.equal(err.code, 0x87);
      return true;
    });
    const operator = await connect({ username: op.username, password: op.password });
    const delivered = new Promise<string>((resolve) =>
      client.once('message', (_topic, payload) => resolve(payload.toString())),
    );
    await operator.publishAsync('lab/door', 'operator', { qos: 1 });
    assert.equal(await delivered, 'operator');
    assert.deepEqual(received, ['operator'], "the viewer's own publish reached nobody");
  });

  // Last: the lock also holds 127.0.0.1, where every client of this suite comes from.
  it('counts a wrong token toward the lockout like a wrong password', async () => {
    const op = await person('lena', 'operator');
    const cookie = await signIn(op.username, op.password);
    const { password: ticket } = await mqttCredentials(cookie);
    const wrongs = ['hs_not-a-session', `${ticket.slice(0, -4)}AAAA`, 'ht_v1.forged'];
    for (const password of wrongs) {
      assert.equal(await refusal({ username: op.username, password }), 0x86, password.slice(0, 5));
    }
    assert.equal(await refusal({ username: op.username, password: ticket }), 0x8a, 'banned while locked');
    const rest = await fetch(`${platform.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: op.username, password: op.password }),
    });
    assert.equal(rest.status, 429, 'the REST API shares the lock');
  });
});
