import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { BrokerStats } from '../broker/stats.js';
import { silentLogger } from '../core/logger.js';
import { FastLanes, type LaneHandler } from './fast-lanes.js';
import { buildHttpApp } from './http.js';
import { startListeners, type ListenersConfig, type RunningListeners } from './index.js';
import { disabledListeners, EchoSink, withTempDir } from './test-support.js';

async function withListeners(
  names: ('http' | 'https')[],
  fn: (running: RunningListeners, sink: EchoSink) => Promise<void>,
): Promise<void> {
  await withTempDir(async (dataDir) => {
    const config: ListenersConfig = disabledListeners();
    for (const name of names) config[name].enabled = true;
    const sink = new EchoSink();
    sink.stats.clientsConnected = 2;
    const running = await startListeners(sink, config, {
      logger: silentLogger(),
      dataDir,
      configureHttp: (app, listener) => {
        app.get('/whoami', (_req, reply) => reply.send({ listener }));
        // Answers only once the client has closed its sending side.
        app.get('/after-half-close', async (req) => {
          const socket = req.raw.socket;
          if (!socket.readableEnded) await once(socket, 'end');
          return 'late answer';
        });
      },
    });
    try {
      await fn(running, sink);
    } finally {
      await running.close();
    }
  });
}

async function echoOverWebSocket(ws: WebSocket, payload: Buffer): Promise<Buffer> {
  await once(ws, 'open');
  ws.send(payload);
  const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
  assert.equal(isBinary, true);
  return data;
}

describe('HTTP app', () => {
  it('answers /healthz and /metrics', async () => {
    const stats = new BrokerStats();
    stats.messagesReceived = 5;
    const app = buildHttpApp({ logger: silentLogger(), stats });
    try {
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { status: 'ok' });
      const metrics = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(metrics.statusCode, 200);
      assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.match(metrics.body, /^halyard_messages_received_total 5$/m);
    } finally {
      await app.close();
    }
  });
});

describe('FastLanes', () => {
  it('offers a request to each lane in turn, and to none once closing (the router answers 503)', () => {
    const lanes = new FastLanes();
    const offered: string[] = [];
    const mine: LaneHandler = () => Promise.resolve({ status: 200, headers: [], body: '' });
    lanes.add((_method, url) => {
      offered.push(`first ${url}`);
      return undefined;
    });
    lanes.add((_method, url) => {
      offered.push(`second ${url}`);
      return url === '/mine' ? mine : undefined;
    });
    assert.equal(lanes.route('GET', '/mine', {}), mine);
    assert.equal(lanes.route('GET', '/other', {}), undefined);
    lanes.close();
    assert.equal(lanes.route('GET', '/mine', {}), undefined);
    assert.deepEqual(offered, ['first /mine', 'second /mine', 'first /other', 'second /other']);
  });
});

describe('HTTP listener', () => {
  it('answers a client that closed its sending side after the request', () =>
    withListeners(['http'], async (running) => {
      const port = running.addresses.http?.port ?? 0;
      const socket = connect(port, '127.0.0.1', () =>
        socket.end('GET /after-half-close HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (answer += d));
      await once(socket, 'end');
      assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(answer, /\r\n\r\nlate answer$/);
    }));

  it('serves MQTT over WebSocket at /mqtt, bytes both ways', () =>
    withListeners(['http'], async (running, sink) => {
      const port = running.addresses.http?.port ?? 0;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
      const payload = Buffer.from([0x10, 0x00, 0xff]);
      assert.deepEqual(await echoOverWebSocket(ws, payload), payload);
      assert.equal(ws.protocol, 'mqtt');
      const { info } = await sink.next();
      assert.equal(info.listener, 'ws');
      assert.equal(info.remoteAddress, '127.0.0.1');

      const legacy = new WebSocket(`ws://127.0.0.1:${port}/mqtt?x=1`, ['mqttv3.1']);
      await echoOverWebSocket(legacy, Buffer.from('x'));
      assert.equal(legacy.protocol, 'mqttv3.1');
      ws.close();
      legacy.close();
    }));

  it('refuses WebSocket upgrades on other paths with 404', () =>
    withListeners(['http'], async (running, sink) => {
      const ws = new WebSocket(`ws://127.0.0.1:${running.addresses.http?.port}/other`, 'mqtt');
      ws.on('error', () => {}); // the client also reports the refusal as an error
      const [, res] = (await once(ws, 'unexpected-response')) as [unknown, IncomingMessage];
      assert.equal(res.statusCode, 404);
      res.resume();
      assert.equal(sink.accepted.length, 0);
    }));

  it('answers /healthz, /metrics and routes added by configureHttp over real HTTP', () =>
    withListeners(['http'], async (running) => {
      const base = `http://127.0.0.1:${running.addresses.http?.port}`;
      const health = await fetch(`${base}/healthz`);
      assert.deepEqual(await health.json(), { status: 'ok' });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^halyard_clients_connected 2$/m);
      assert.deepEqual(await (await fetch(`${base}/whoami`)).json(), { listener: 'http' });
      assert.ok(running.http);
    }));

  it('close() resolves with a WebSocket client still connected', () =>
    withTempDir(async (dataDir) => {
      const config = disabledListeners();
      config.http.enabled = true;
      const sink = new EchoSink();
      const running = await startListeners(sink, config, { logger: silentLogger(), dataDir });
      const ws = new WebSocket(`ws://127.0.0.1:${running.addresses.http?.port}/mqtt`, 'mqtt');
      await once(ws, 'open');
      await sink.next();
      const closed = once(ws, 'close');
      await running.close();
      await closed;
    }));
});

describe('HTTPS listener', () => {
  it('serves secure WebSocket MQTT and /healthz with the generated certificate', () =>
    withListeners(['https'], async (running, sink) => {
      const port = running.addresses.https?.port ?? 0;
      const ca = running.tls?.ca;
      const ws = new WebSocket(`wss://127.0.0.1:${port}/mqtt`, 'mqtt', { ca });
      assert.deepEqual(await echoOverWebSocket(ws, Buffer.from('secure')), Buffer.from('secure'));
      assert.equal((await sink.next()).info.listener, 'wss');
      ws.close();

      const req = httpsGet({ host: '127.0.0.1', port, path: '/whoami', ca, servername: 'localhost' });
      const [res] = (await once(req, 'response')) as [IncomingMessage];
      res.setEncoding('utf8');
      let body = '';
      for await (const chunk of res) body += chunk as string;
      assert.deepEqual(JSON.parse(body), { listener: 'https' });
      assert.ok(running.https);
    }));
});
