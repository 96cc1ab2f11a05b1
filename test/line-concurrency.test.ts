import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LineSocket, LOCAL_LINE_LISTENER } from './helpers/line-socket.js';
import {
  createTenantAdmin,
  createTokenDevice,
  startTestPlatform,
  type TestPlatform,
} from './helpers/platform.js';

/**
 * 1 and 100 concurrent conversations against a listener capped at 1 and at 10:
 * clients beyond the cap are told WAIT with their place, move up in order, are
 * greeted in the order they arrived, never more than the cap talk at once, and
 * every value they publish is stored.
 */

interface Run {
  greetingOrder: number[];
  maxConversations: number;
  maxWaiting: number;
}

for (const cap of [1, 10]) {
  describe(`line conversations, maxConversations ${cap}`, () => {
    let platform: TestPlatform;
    let port: number;
    let token: string;

    before(async () => {
      platform = await startTestPlatform({
        listeners: { line: { ...LOCAL_LINE_LISTENER, maxConversations: cap } },
        security: { device: { maxConnections: 0 } },
      });
      port = platform.app.addresses.line?.port ?? assert.fail('no line listener');
      const acme = (await createTenantAdmin(platform, 'acme')).actor;
      token = (await createTokenDevice(platform, acme, { id: 'dev' })).token;
    });
    after(() => platform.stop());

    for (const clients of [1, 100]) {
      it(`${clients} client(s): WAIT in order, served in arrival order, all values stored`, async () => {
        const run = await converse(port, token, clients, cap, platform.httpUrl);
        assertServedInOrder(run.greetingOrder, cap);
        assert.equal(run.greetingOrder.length, clients);
        assert.ok(run.maxConversations <= cap, `${run.maxConversations} conversations at once`);
        if (clients > cap) assert.ok(run.maxWaiting >= 1, 'the queue length was seen in the metrics');
        // One key per client: points of one series, key and millisecond replace each other.
        const keys = Array.from({ length: clients }, (_, i) => `r${clients}c${i}`);
        const stored = await platform.app.telemetry.store.query({
          seriesId: 'dev',
          keys,
          from: 0,
          to: Date.now() + 1000,
          limit: 1000,
          order: 'asc',
        });
        assert.deepEqual(
          stored.points.map((p) => `${p.key}=${String(p.value)}`).sort(),
          keys.map((key, i) => `${key}=${i}`).sort(),
        );
      });
    }
  });
}

/**
 * The server greets in arrival order. Greetings it sends in the same instant (several slots freed at
 * once) may be read here in either order, so with a cap of c two clients may appear swapped only when
 * fewer than c places apart; with a cap of 1 the order must be exact.
 */
function assertServedInOrder(order: number[], cap: number): void {
  order.forEach((client, k) => {
    for (const later of order.slice(k + 1)) {
      if (later < client)
        assert.ok(client - later < cap, `client ${client} was served before ${later}: ${order.join(',')}`);
    }
  });
}

async function converse(
  port: number,
  token: string,
  clients: number,
  cap: number,
  httpUrl: string,
): Promise<Run> {
  // Arrival order is made certain: each client connects once the previous one had its first frame.
  const lines: LineSocket[] = [];
  for (let i = 0; i < clients; i++) {
    const line = await LineSocket.connect(port);
    const first = await line.next();
    if (i < cap) assert.match(first, /^HALYARD\|1\|[0-9a-f]{32}$/, `client ${i}`);
    else assert.equal(first, `WAIT|${i - cap + 1}`, `client ${i}`);
    lines.push(line);
  }
  const greetingOrder: number[] = [];
  const gauges = { maxConversations: 0, maxWaiting: 0 };
  let running = true;
  const sampling = (async () => {
    while (running) {
      const text = await (await fetch(`${httpUrl}/metrics`)).text();
      const value = (name: string) =>
        Number(new RegExp(`^${name}\\{listener="line"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      gauges.maxConversations = Math.max(gauges.maxConversations, value('halyard_line_conversations'));
      gauges.maxWaiting = Math.max(gauges.maxWaiting, value('halyard_line_waiting'));
    }
  })();

  const talk = async (line: LineSocket, i: number): Promise<void> => {
    let frame = i < cap ? 'greeted' : await line.next(30_000);
    let position = i - cap + 1;
    while (frame.startsWith('WAIT|')) {
      const next = Number(frame.slice('WAIT|'.length));
      assert.ok(next < position, `client ${i} moved from ${position} to ${next}`);
      position = next;
      frame = await line.next(30_000);
    }
    if (frame !== 'greeted') assert.match(frame, /^HALYARD\|1\|/);
    greetingOrder.push(i);
    assert.equal(await line.ask(`AUTH|dev|TOKEN|${token}`), 'OK');
    assert.equal(await line.ask(`PUB|devices/me/telemetry|{"r${clients}c${i}":${i}}`), 'OK');
    assert.equal(await line.ask('BYE'), 'BYE');
    assert.equal(await line.ask('CLOSE'), 'BYE');
    await line.closed;
  };
  try {
    await Promise.all(lines.map((line, i) => talk(line, i)));
  } finally {
    running = false;
    await sampling;
    for (const line of lines) line.destroy();
  }
  return { greetingOrder, ...gauges };
}

describe('line conversations, a full waiting line', () => {
  it('a waiting client gets ERR waiting for frames that need a conversation; one too many gets ERR busy', async () => {
    const platform = await startTestPlatform({
      listeners: { line: { ...LOCAL_LINE_LISTENER, maxConversations: 1, maxWaiting: 1 } },
    });
    try {
      const port = platform.app.addresses.line?.port ?? assert.fail('no line listener');
      const { line: talking } = await LineSocket.greeted(port);
      const waiting = await LineSocket.connect(port);
      assert.equal(await waiting.next(), 'WAIT|1');
      assert.match(await waiting.ask('PUB|a|b'), /^ERR\|waiting\|/);
      assert.equal(await waiting.ask('PING'), 'PONG');
      const refused = await LineSocket.connect(port);
      assert.match(await refused.next(), /^ERR\|busy\|/);
      await refused.closed;
      assert.equal(await talking.ask('BYE'), 'BYE');
      assert.match(await waiting.next(), /^HALYARD\|1\|[0-9a-f]{32}$/);
      talking.destroy();
      waiting.destroy();
    } finally {
      await platform.stop();
    }
  });
});
