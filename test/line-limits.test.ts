import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Actor } from '../src/registry/service.js';
import { LineSocket, LOCAL_LINE_LISTENER as LOCAL } from './helpers/line-socket.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * The limits a line conversation meets, each with its error: connection caps,
 * publish quotas, timeouts, lockout, the connect rate and shutdown. The tests
 * of the first suite run in order: the last ones lock 127.0.0.1 out.
 */

describe('line protocol limits', () => {
  let platform: TestPlatform;
  let port: number;
  let acme: Actor;
  const tokens: Record<string, string> = {};

  before(async () => {
    platform = await startTestPlatform({
      listeners: { line: { ...LOCAL, authTimeoutSeconds: 1, idleTimeoutSeconds: 2 } },
      security: {
        lockout: { maxFailures: 2 },
        connectRate: { perAddressPerSecond: 1, burst: 40 },
        device: { maxConnections: 2, publishMessagesPerSecond: 5, publishBytesPerSecond: 200 },
      },
    });
    port = platform.app.addresses.line?.port ?? assert.fail('no line listener');
    acme = (await createTenantAdmin(platform, 'acme')).actor;
    for (const id of ['capped', 'quota', 'fast', 'idle', 'victim'])
      tokens[id] = (await createTokenDevice(platform, acme, { id })).token;
  });
  after(() => platform.stop());

  it("the device's connection cap counts conversations (ERR too-many-connections)", async () => {
    const first = await LineSocket.authenticated(port, 'capped', tokens.capped);
    const second = await LineSocket.authenticated(port, 'capped', tokens.capped);
    const { line: third } = await LineSocket.greeted(port);
    assert.match(await third.ask(`AUTH|capped|TOKEN|${tokens.capped}`), /^ERR\|too-many-connections\|/);
    first.destroy();
    await first.closed;
    // The slot in the cap frees with the connection.
    await waitFor(async () => (await third.ask(`AUTH|capped|TOKEN|${tokens.capped}`)) === 'OK');
    second.destroy();
    third.destroy();
  });

  it('the byte quota refuses one message (ERR quota-exceeded) and the conversation goes on', async () => {
    const line = await LineSocket.authenticated(port, 'quota', tokens.quota);
    // A message over the burst passes once and leaves the bucket in debt; the next one is refused.
    assert.equal(await line.ask(`PUB|q|${'x'.repeat(300)}`), 'OK');
    assert.match(await line.ask(`PUB|q|${'x'.repeat(100)}`), /^ERR\|quota-exceeded\|/);
    assert.equal(await line.ask('PING'), 'PONG');
    line.destroy();
  });

  it('the message rate ends the conversation (ERR rate-exceeded), as MQTT 0x96', async () => {
    const line = await LineSocket.authenticated(port, 'fast', tokens.fast);
    line.write('PUB|r|x\n'.repeat(20));
    const answers: string[] = [];
    for (;;) {
      const answer = await line.next();
      answers.push(answer);
      if (answer.startsWith('ERR|rate-exceeded')) break;
    }
    assert.ok(answers.filter((a) => a === 'OK').length >= 1);
    assert.ok(answers.length <= 21);
    await line.closed;
  });

  it('no AUTH within the timeout: ERR auth-timeout and the connection closes', async () => {
    const { line } = await LineSocket.greeted(port);
    assert.equal(await line.ask('PING'), 'PONG', 'frames other than AUTH do not stop the clock');
    assert.match(await line.next(3000), /^ERR\|auth-timeout\|/);
    await line.closed;
  });

  it('no frame within the idle timeout: ERR idle-timeout and the connection closes', async () => {
    const line = await LineSocket.authenticated(port, 'idle', tokens.idle);
    const started = Date.now();
    assert.match(await line.next(5000), /^ERR\|idle-timeout\|/);
    assert.ok(Date.now() - started >= 1500);
    await line.closed;
  });

  it('bytes trickled without a terminator do not keep a connection alive', async () => {
    const line = await LineSocket.authenticated(port, 'idle', tokens.idle);
    const started = Date.now();
    const trickle = setInterval(() => line.write('X'), 100);
    try {
      assert.match(await line.next(5000), /^ERR\|idle-timeout\|/);
    } finally {
      clearInterval(trickle);
    }
    assert.ok(Date.now() - started < 4000);
    await line.closed;
  });

  it('wrong proofs count toward the lockout: then even the right one gets ERR locked-out', async () => {
    const { line } = await LineSocket.greeted(port);
    assert.match(await line.ask(`AUTH|victim|${'00'.repeat(32)}`), /^ERR\|auth-failed\|/);
    assert.match(await line.ask(`AUTH|victim|${'01'.repeat(32)}`), /^ERR\|auth-failed\|/);
    assert.match(await line.ask(`AUTH|victim|TOKEN|${tokens.victim}`), /^ERR\|locked-out\|/);
    line.destroy();
  });

  it('too many logins from one address: ERR rate-limited', async () => {
    const { line } = await LineSocket.greeted(port);
    let answer = '';
    for (let i = 0; i < 60 && !answer.startsWith('ERR|rate-limited'); i++) {
      answer = await line.ask(`AUTH|victim|TOKEN|${tokens.victim}`);
    }
    assert.match(answer, /^ERR\|rate-limited\|/);
    line.destroy();
  });
});

describe('line protocol shutdown', () => {
  it('every connection hears ERR shutting-down when the server stops', async () => {
    const platform = await startTestPlatform({ listeners: { line: LOCAL } });
    const port = platform.app.addresses.line?.port ?? assert.fail('no line listener');
    const acme = (await createTenantAdmin(platform, 'acme')).actor;
    const { token } = await createTokenDevice(platform, acme, { id: 'd' });
    const talking = await LineSocket.authenticated(port, 'd', token);
    const { line: greeted } = await LineSocket.greeted(port);
    const stopped = platform.stop();
    assert.match(await talking.next(), /^ERR\|shutting-down\|/);
    assert.match(await greeted.next(), /^ERR\|shutting-down\|/);
    await stopped;
    await Promise.all([talking.closed, greeted.closed]);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
