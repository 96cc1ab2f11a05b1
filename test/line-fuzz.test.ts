import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { createRng } from '../src/simulator/random.js';
import { LineSocket, LOCAL_LINE_LISTENER } from './helpers/line-socket.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * Hostile input on real sockets: random bytes, huge frames, NULs, half frames,
 * slowloris senders and grammar-aware random frames after AUTH. The server
 * must answer every connection only with well-formed frames, never crash, and
 * never hold up a well-behaved client (a line conversation and an MQTT
 * subscriber) that talks meanwhile.
 */

const SERVER_FRAME = /^(HALYARD\|1\|[0-9a-f]{32}|OK(\|.*)?|ERR\|[a-z-]+\|.*|MSG\|.*|WAIT\|\d+|PONG|BYE)$/s;

/** Seeded (mulberry32), so that a failing run can be replayed with LINE_FUZZ_SEED. */
const SEED = Number(process.env.LINE_FUZZ_SEED ?? 20261121);

let platform: TestPlatform;
let port: number;
let token: string;

before(async () => {
  platform = await startTestPlatform({
    listeners: { line: LOCAL_LINE_LISTENER },
    security: { device: { maxConnections: 0, publishMessagesPerSecond: 0, publishBytesPerSecond: 0 } },
  });
  port = platform.app.addresses.line?.port ?? assert.fail('no line listener');
  const acme = (await createTenantAdmin(platform, 'acme')).actor;
  token = (await createTokenDevice(platform, acme, { id: 'dev' })).token;
});
after(() => platform.stop());

/** Reads every frame the server sends until it closes or `ms` pass; checks each is well-formed. */
async function drain(line: LineSocket, ms: number): Promise<string[]> {
  const frames: string[] = [];
  const deadline = Date.now() + ms;
  while (line.isOpen || line.buffered > 0) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      frames.push(await line.next(left));
    } catch {
      break; // closed, or nothing more within the time
    }
  }
  for (const frame of frames) assert.match(frame, SERVER_FRAME);
  return frames;
}

/**
 * A well-behaved device talking all along: a line conversation that publishes and pings, and an MQTT
 * subscriber that must receive every one of its messages. Resolves with the round trips made.
 */
function witness(): { stop(): Promise<number> } {
  let running = true;
  const done = (async () => {
    const subscriber = await mqtt.connectAsync(platform.mqttUrl, {
      username: token,
      protocolVersion: 5,
      reconnectPeriod: 0,
    });
    const received: string[] = [];
    subscriber.on('message', (_topic, payload) => received.push(payload.toString()));
    await subscriber.subscribeAsync('witness', { qos: 1 });
    const { line } = await LineSocket.greeted(port);
    assert.equal(await line.ask(`AUTH|dev|TOKEN|${token}`), 'OK');
    let rounds = 0;
    while (running && rounds < 10_000) {
      const started = Date.now();
      assert.equal(await line.ask(`PUB|witness|${rounds}`, 2000), 'OK');
      assert.equal(await line.ask('PING', 2000), 'PONG');
      assert.ok(Date.now() - started < 2000, 'the witness was held up');
      rounds++;
    }
    const deadline = Date.now() + 5000;
    while (received.length < rounds && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      received,
      Array.from({ length: rounds }, (_, i) => String(i)),
    );
    line.destroy();
    await subscriber.endAsync();
    return rounds;
  })();
  return {
    async stop() {
      running = false;
      return done;
    },
  };
}

describe('line protocol under hostile input', () => {
  it('random bytes on many connections get well-formed answers only', async () => {
    const w = witness();
    const random = createRng(SEED);
    await Promise.all(
      Array.from({ length: 30 }, async () => {
        const line = await LineSocket.connect(port);
        for (let chunk = 0; chunk < 16; chunk++) {
          const bytes = Buffer.alloc(1 + Math.floor(random() * 4096));
          for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
          line.write(bytes);
        }
        line.write('\nPING\n');
        const frames = await drain(line, 2000);
        assert.ok(frames.length > 0);
        line.destroy();
      }),
    );
    assert.ok((await w.stop()) > 0);
  });

  it('a huge frame is refused once and skipped unbuffered; the connection goes on', async () => {
    const w = witness();
    const { line } = await LineSocket.greeted(port);
    const block = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 160; i++) line.write(block); // 10 MiB in one frame
    line.write('\nPING\n');
    assert.match(await line.next(10_000), /^ERR\|frame-too-long\|/);
    assert.equal(await line.next(10_000), 'PONG');
    line.destroy();
    assert.ok((await w.stop()) > 0);
  });

  it('NULs anywhere: in frames, in fields, alone', async () => {
    const { line } = await LineSocket.greeted(port);
    line.write('\0\0\0\n');
    assert.match(await line.next(), /^ERR\|unknown-command\|/);
    line.write('PI\0NG\n');
    assert.match(await line.next(), /^ERR\|unknown-command\|/);
    assert.equal(await line.ask(`AUTH|dev|TOKEN|${token}`), 'OK');
    line.write('PUB|a\0b|x\n');
    assert.match(await line.next(), /^ERR\|bad-topic\|/);
    line.write('SUB|nul/#\nPUB|nul/x|a\0b\n');
    assert.equal(await line.next(), 'OK');
    const answers = [await line.next(), await line.next()].sort();
    assert.deepEqual(answers, ['MSG|nul/x|a\\x00b', 'OK'], 'a NUL in a payload travels escaped');
    assert.equal(await line.ask('PING'), 'PONG');
    line.destroy();
  });

  it('half frames and abandoned connections leave nothing behind', async () => {
    for (let i = 0; i < 50; i++) {
      const line = await LineSocket.connect(port);
      line.write(i % 2 === 0 ? 'PUB|a|half a frame' : `AUTH|dev|TOKEN|${token}`);
      if (i % 3 === 0) line.end();
      else line.destroy();
    }
    const { line } = await LineSocket.greeted(port);
    assert.equal(await line.ask(`AUTH|dev|TOKEN|${token}`), 'OK');
    line.destroy();
    await waitForMetric('halyard_line_connections', (n) => n === 0);
  });

  it('slowloris senders are held to the frame limit and hold nobody up', async () => {
    const w = witness();
    const slow = await Promise.all(Array.from({ length: 20 }, () => LineSocket.connect(port)));
    // 100 rounds of 50 bytes, 10 ms apart: a second or more of trickling, 5000 bytes without a terminator.
    for (let round = 0; round < 100; round++) {
      for (const line of slow) line.write('X'.repeat(50));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(
      slow.map(async (line) => {
        const frames = await drain(line, 500);
        assert.ok(
          frames.some((f) => f.startsWith('ERR|frame-too-long')),
          'the limit applies to trickled bytes',
        );
        line.destroy();
      }),
    );
    assert.ok((await w.stop()) > 0);
  });

  it('random frames built from the grammar never end an authenticated conversation', async () => {
    const random = createRng(SEED + 1);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const pieces = [
      'a',
      'b/c',
      '+',
      '#',
      '$SYS',
      '\\p',
      '\\x00',
      '\\q',
      '\\',
      '',
      'devices/me/telemetry',
      '{"t":1}',
    ];
    const field = () =>
      Array.from({ length: Math.floor(random() * 4) }, () => pick(pieces)).join(pick(['', '/']));
    const commands = ['PUB', 'SUB', 'UNSUB', 'SEND', 'REPEAT', 'HELLO', 'PING', 'AUTH', 'pub', 'XYZ'];
    const { line } = await LineSocket.greeted(port);
    assert.equal(await line.ask(`AUTH|dev|TOKEN|${token}`), 'OK');
    let sent = 0;
    for (let i = 0; i < 500; i++) {
      const fields = Array.from({ length: Math.floor(random() * 5) }, field);
      line.frame([pick(commands), ...fields].join('|'));
      sent++;
    }
    line.frame('PING');
    const frames: string[] = [];
    while (frames.at(-1) !== 'PONG' || frames.filter((f) => !f.startsWith('MSG|')).length <= sent) {
      frames.push(await line.next(5000));
    }
    for (const frame of frames) assert.match(frame, SERVER_FRAME);
    assert.equal(line.isOpen, true);
    line.destroy();
  });
});

async function waitForMetric(name: string, ok: (value: number) => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = await (await fetch(`${platform.httpUrl}/metrics`)).text();
    const value = Number(new RegExp(`^${name}\\{listener="line"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    if (ok(value)) return;
    if (Date.now() > deadline) assert.fail(`${name} is ${value}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
