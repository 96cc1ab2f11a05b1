import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FastLanes, type LaneAnswer } from './fast-lanes.js';
import { frontLanes, parseLaneHead } from './lane-front.js';
import { createCertificateAuthority, issueCertificate } from './pki.js';

describe('parseLaneHead', () => {
  const head = (...lines: string[]) => ['POST /lane?a=1 HTTP/1.1', 'Host: x', ...lines].join('\r\n');

  it('reads a request in the subset: method, target, lower-cased headers, body length, close', () => {
    assert.deepEqual(parseLaneHead(head('Content-Length: 12', 'X-Key:  k1 ', 'Connection: Close')), {
      method: 'POST',
      url: '/lane?a=1',
      headers: { host: 'x', 'content-length': '12', 'x-key': 'k1', connection: 'Close' },
      bodyLength: 12,
      close: true,
    });
    assert.equal(parseLaneHead('GET /lane HTTP/1.1\r\nHost: x')?.bodyLength, 0);
    assert.equal(parseLaneHead(head('Connection: keep-alive'))?.close, false);
    assert.deepEqual(parseLaneHead(head('X-A:\tv w\t', 'X-Empty:'))?.headers, {
      host: 'x',
      'x-a': 'v w',
      'x-empty': '',
    });
  });

  it('leaves everything outside the subset to node:http', () => {
    for (const h of [
      'GET /lane HTTP/1.0\r\nHost: x',
      'PUT /lane HTTP/1.1\r\nHost: x',
      'GET lane HTTP/1.1\r\nHost: x',
      'GET /la ne HTTP/1.1\r\nHost: x',
      'GET /lane HTTP/1.1',
      head('Transfer-Encoding: chunked'),
      head('Content-Length: 5', 'Content-Length: 5'),
      head('Content-Length: -1'),
      head('Content-Length: 1e3'),
      head('Content-Length: 9999999999'),
      head('Expect: 100-continue'),
      head('Upgrade: websocket'),
      head('Connection: Upgrade'),
      head('X-A: 1', 'x-a: 2'),
      head('Bad Header: 1'),
      head(' folded: value'),
      head('X-A: a\u0000b'),
      head('X-A: caf\u00e9'),
      head('X-\u00e9: v'),
      head('X-A: a\nb'),
      head('X-A'),
      head(': v'),
      head('HOST: y'),
      head('Content-Type: a', 'content-type: b'),
      head('X-Odd: 1', 'x-oDD: 2'),
      head(''),
    ]) {
      assert.equal(parseLaneHead(h), undefined, JSON.stringify(h));
    }
  });
});

interface EchoLanes {
  lanes: FastLanes;
  /** Resolves when the next `/lane/slow` request reaches its handler. */
  slowStarted(): Promise<void>;
  /** Lets the `/lane/slow` requests waiting now be answered. */
  releaseSlow(): void;
}

/** A test lane on POST|GET /lane…: echoes its body; `/lane/slow` answers only when released. */
function echoLanes(): EchoLanes {
  const lanes = new FastLanes();
  let waiting: (() => void)[] = [];
  let starting: (() => void)[] = [];
  lanes.add((method, url, headers) => {
    if (!url.startsWith('/lane')) return undefined;
    return async (body): Promise<LaneAnswer> => {
      if (url.startsWith('/lane/slow')) {
        const release = new Promise<void>((r) => waiting.push(r));
        starting.forEach((f) => f());
        starting = [];
        await release;
      }
      const text = `${method} ${url} key=${String(headers['x-key'])} body=${body.toString('utf8')}`;
      return {
        status: 200,
        headers: [
          'X-Lane',
          'yes',
          'Content-Type',
          'text/plain; charset=utf-8',
          'Content-Length',
          String(Buffer.byteLength(text)),
        ],
        body: text,
      };
    };
  });
  return {
    lanes,
    slowStarted: () => new Promise((r) => starting.push(r)),
    releaseSlow: () => {
      waiting.forEach((f) => f());
      waiting = [];
    },
  };
}

/** A node:http server as buildHttpApp makes it: the lanes asked first, then the router (here: one answer). */
async function serve(lanes: FastLanes, keepAliveMs = 5000): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (lanes.take(req, res)) return;
    req.resume();
    req.on('end', () => {
      const text = `node ${req.method} ${req.url}`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
      res.end(text);
    });
  });
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.keepAliveTimeout = keepAliveMs;
  frontLanes(server, lanes);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

/** A raw client: reads answers framed by Content-Length. */
class Client {
  readonly socket: Socket;
  private buf = '';
  private readonly answers: string[] = [];
  private waiter: (() => void) | undefined;
  ended = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d: string) => {
      this.buf += d;
      for (;;) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) break;
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(this.buf.slice(0, end))?.[1] ?? 0);
        if (this.buf.length < end + 4 + len) break;
        this.answers.push(this.buf.slice(0, end + 4 + len));
        this.buf = this.buf.slice(end + 4 + len);
      }
      this.waiter?.();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  async next(n: number): Promise<string[]> {
    while (this.answers.length < n && !this.ended) await new Promise<void>((r) => (this.waiter = r));
    assert.ok(this.answers.length >= n, `${n} answers expected, got ${this.answers.length} before the end`);
    return this.answers.splice(0, n).map((a) => a.replace(/\r\nDate: [^\r]*/, ''));
  }

  async closed(): Promise<void> {
    if (!this.ended) await once(this.socket, 'end');
  }
}

const post = (path: string, body: string, extra = ''): string =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const bodyOf = (answer: string): string => answer.slice(answer.indexOf('\r\n\r\n') + 4);

describe('the lane front', () => {
  let server: Server;
  let port: number;
  let echo: EchoLanes;
  before(async () => {
    echo = echoLanes();
    ({ server, port } = await serve(echo.lanes));
  });
  after(async () => {
    server.close();
    await once(server, 'close');
  });

  it('answers pipelined lane requests in order, as node:http would send the same answer', async () => {
    const c = new Client(port);
    c.socket.write(
      post('/lane/1', 'a=1', 'X-Key: k\r\n') +
        post('/lane/2', 'b=2') +
        'GET /lane/3 HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const answers = await c.next(3);
    assert.deepEqual(answers.map(bodyOf), [
      'POST /lane/1 key=k body=a=1',
      'POST /lane/2 key=undefined body=b=2',
      'GET /lane/3 key=undefined body=',
    ]);
    // The same lane request served by node:http (a duplicate header puts it outside the front's subset).
    c.socket.write(post('/lane/1', 'a=1', 'X-Key: k\r\nX-Dup: 1\r\nX-Dup: 2\r\n'));
    const [viaNode] = await c.next(1);
    assert.equal(viaNode, answers[0]);
    assert.match(
      answers[0],
      /^HTTP\/1\.1 200 OK\r\nX-Lane: yes\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Length: 27\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n/,
    );
    c.socket.destroy();
  });

  it('keeps the request order when a later answer is ready first', async () => {
    const c = new Client(port);
    const started = echo.slowStarted();
    c.socket.write(post('/lane/slow', 'first') + post('/lane/fast', 'second'));
    const both = c.next(2);
    await started;
    echo.releaseSlow();
    assert.deepEqual((await both).map(bodyOf), [
      'POST /lane/slow key=undefined body=first',
      'POST /lane/fast key=undefined body=second',
    ]);
    c.socket.destroy();
  });

  it('reads requests split anywhere across packets', async () => {
    const c = new Client(port);
    const bytes = post('/lane/split', 'x'.repeat(3000)) + post('/lane/split2', 'yz');
    for (let i = 0; i < bytes.length; i += 7) {
      c.socket.write(bytes.slice(i, i + 7));
      // Each piece its own packet: wait until it has left.
      await new Promise<void>((r) => c.socket.write('', () => r()));
    }
    assert.deepEqual((await c.next(2)).map(bodyOf), [
      `POST /lane/split key=undefined body=${'x'.repeat(3000)}`,
      'POST /lane/split2 key=undefined body=yz',
    ]);
    c.socket.destroy();
  });

  it('passes the connection to node:http at the first request no lane takes, even in mid-packet, answers still in order', async () => {
    const c = new Client(port);
    const started = echo.slowStarted();
    c.socket.write(
      post('/lane/slow', 'one') + 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n' + post('/lane/after', 'three'),
    );
    await started;
    echo.releaseSlow();
    assert.deepEqual((await c.next(3)).map(bodyOf), [
      'POST /lane/slow key=undefined body=one',
      'node GET /other',
      'POST /lane/after key=undefined body=three',
    ]);
    // node:http serves the connection from here on, bodies split across packets included.
    c.socket.write('POST /node HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    c.socket.write('0\r\n\r\n');
    assert.deepEqual((await c.next(1)).map(bodyOf), ['node POST /node']);
    c.socket.destroy();
  });

  it('leaves a malformed request to node:http, which answers 400 and closes; other clients go on', async () => {
    const bad = new Client(port);
    const good = new Client(port);
    good.socket.write(post('/lane/before', '1'));
    await good.next(1);
    bad.socket.write('POST /lane HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    const [refused] = await bad.next(1);
    assert.match(refused, /^HTTP\/1\.1 400 Bad Request\r\n/);
    await bad.closed();
    good.socket.write(post('/lane/after', '2'));
    assert.deepEqual((await good.next(1)).map(bodyOf), ['POST /lane/after key=undefined body=2']);
    good.socket.destroy();
  });

  it('leaves a head over 16 KiB to node:http (431)', async () => {
    const c = new Client(port);
    c.socket.write(`GET /lane HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(17 * 1024)}\r\n\r\n`);
    const [answer] = await c.next(1);
    assert.match(answer, /^HTTP\/1\.1 431 /);
  });

  it('closes after answering a `Connection: close` request, ignoring what follows', async () => {
    const c = new Client(port);
    c.socket.write(post('/lane/last', 'z', 'Connection: close\r\n') + post('/lane/ignored', 'w'));
    const [answer] = await c.next(1);
    assert.match(answer, /\r\nConnection: close\r\n\r\nPOST \/lane\/last key=undefined body=z$/);
    await c.closed();
  });

  it('answers a client that closed its sending side after its requests, then closes', async () => {
    const c = new Client(port);
    const started = echo.slowStarted();
    c.socket.end(post('/lane/slow', 'a') + post('/lane/b', 'b'));
    await started;
    echo.releaseSlow();
    assert.equal((await c.next(2)).length, 2);
    await c.closed();
  });
});

describe('the lane front with many requests pipelined', () => {
  it('reads at most 32 ahead of their answers, and the rest once those are written', async () => {
    const lanes = new FastLanes();
    const started: string[] = [];
    const releases: (() => void)[] = [];
    let onStart: (() => void) | undefined;
    lanes.add((_method, url) => async (): Promise<LaneAnswer> => {
      started.push(url);
      onStart?.();
      await new Promise<void>((r) => releases.push(r));
      return { status: 200, headers: ['Content-Length', String(url.length)], body: url };
    });
    const until = async (n: number) => {
      while (started.length < n) await new Promise<void>((r) => (onStart = r));
    };
    const { server, port } = await serve(lanes);
    const c = new Client(port);
    try {
      c.socket.write(Array.from({ length: 40 }, (_, i) => post(`/r${i}`, '')).join(''));
      await until(32);
      // The other 8 are in the same packets; none was started alongside the first 32.
      assert.equal(started.length, 32);
      const answers = c.next(40);
      releases.splice(0).forEach((go) => go());
      await until(40);
      releases.splice(0).forEach((go) => go());
      assert.deepEqual(
        (await answers).map(bodyOf),
        Array.from({ length: 40 }, (_, i) => `/r${i}`),
      );
    } finally {
      releases.splice(0).forEach((go) => go());
      c.socket.destroy();
      server.close();
      await once(server, 'close');
    }
  });
});

describe('the lane front when the server closes', () => {
  it('closes idle connections at once and busy ones after their answers', async () => {
    const echo = echoLanes();
    const { server, port } = await serve(echo.lanes);
    const idle = new Client(port);
    idle.socket.write(post('/lane/idle', '1'));
    await idle.next(1);
    const busy = new Client(port);
    const started = echo.slowStarted();
    busy.socket.write(post('/lane/slow', '2'));
    await started;
    server.close();
    await idle.closed();
    assert.equal(busy.ended, false);
    echo.releaseSlow();
    assert.deepEqual((await busy.next(1)).map(bodyOf), ['POST /lane/slow key=undefined body=2']);
    await busy.closed();
    await once(server, 'close');
  });
});

describe('the lane front on an idle connection', () => {
  it('closes it after the keep-alive timeout, as node:http does', async () => {
    const { server, port } = await serve(echoLanes().lanes, 50);
    try {
      const c = new Client(port);
      c.socket.write(post('/lane/one', '1'));
      const [answer] = await c.next(1);
      assert.match(answer, /\r\nKeep-Alive: timeout=0\r\n/);
      await c.closed();
    } finally {
      server.close();
      await once(server, 'close');
    }
  });
});

describe('the lane front and a request that never ends', () => {
  it('closes the connection once the headers timeout has passed, even while bytes keep trickling in', async () => {
    const { server, port } = await serve(echoLanes().lanes);
    server.headersTimeout = 100;
    try {
      const c = new Client(port);
      c.socket.on('error', () => undefined); // a write may meet the closed connection
      const head = 'POST /lane HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'z'.repeat(400);
      // One byte every 10 ms, for at most 4 s: far longer than the timeout.
      for (let i = 0; i < 400 && !c.socket.destroyed && !c.ended; i++) {
        c.socket.write(head[i]);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(c.ended || c.socket.destroyed, 'the server closed the trickling connection');
    } finally {
      server.close();
      await once(server, 'close');
    }
  });
});

describe('the lane front over TLS', () => {
  it('serves lane requests after the handshake and passes the connection to node:http as on plain HTTP', async () => {
    const ca = await createCertificateAuthority({ commonName: 'test CA', days: 1 });
    const leaf = await issueCertificate(ca, {
      commonName: 'localhost',
      sans: ['127.0.0.1'],
      usage: 'server',
      days: 1,
    });
    const echo = echoLanes();
    // node:http here serves no lane: a lane's answer can only have come from the front.
    const server = createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      req.resume();
      req.on('end', () => res.end(`node ${req.method} ${req.url}`));
    });
    frontLanes(server, echo.lanes);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const socket = tlsConnect({
        port: (server.address() as AddressInfo).port,
        host: '127.0.0.1',
        ca: ca.certPem,
      });
      await once(socket, 'secureConnect');
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.end(post('/lane/tls', 'a') + 'GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await once(socket, 'end');
      const bodies = text
        .split(/HTTP\/1\.1 200 OK\r\n/)
        .slice(1)
        .map(bodyOf);
      assert.deepEqual(bodies, ['POST /lane/tls key=undefined body=a', 'node GET /other']);
    } finally {
      server.close();
      await once(server, 'close');
    }
  });
});
