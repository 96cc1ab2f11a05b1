import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../core/logger.js';
import { SYSTEM_ACTOR } from '../../registry/service.js';
import { fastLanesOf } from '../../transport/http.js';
import { startListeners } from '../../transport/index.js';
import { disabledListeners, EchoSink, withTempDir } from '../../transport/test-support.js';
import { registerThingSpeakApi } from './api.js';
import { openThingSpeakHarness, type ThingSpeakHarness } from './test-harness.js';
import { LANE_BODY_LIMIT, laneRoute } from './update-lane.js';

const FORM = 'application/x-www-form-urlencoded';

/** One raw HTTP/1.1 exchange (the server closes after it): the answer as sent, Date header removed. */
function exchange(port: number, head: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(`${head}Connection: close\r\n\r\n${body}`));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out.replace(/\r\nDate: [^\r]*/, '')));
    s.on('error', reject);
  });
}

/** The same request with a Content-Length (the lane) and chunked (left to the Fastify route). */
function bothWays(port: number, path: string, type: string, body: string): Promise<[string, string]> {
  const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\n`;
  const chunked = `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  return Promise.all([
    exchange(port, `${head}Content-Length: ${Buffer.byteLength(body)}\r\n`, body),
    exchange(port, `${head}Transfer-Encoding: chunked\r\n`, chunked),
  ]);
}

/**
 * Entry ids (and so the lengths) differ between two stored updates; everything
 * else must not. The length must be the body's.
 */
function withoutEntryId(answer: string): string {
  assert.equal(answer.match(/\r\nContent-Length: (\d+)\r\n/)?.[1], String(Buffer.byteLength(bodyOf(answer))));
  return answer
    .replace(/\r\nContent-Length: \d+\r\n/, '\r\nContent-Length: L\r\n')
    .replace(/"entry_id":\d+/, '"entry_id":N')
    .replace(/<entry-id type="integer">\d+/, '<entry-id type="integer">N')
    .replace(/\r\n\r\n\d+$/, '\r\n\r\nN');
}

const bodyOf = (answer: string): string => answer.slice(answer.indexOf('\r\n\r\n') + 4);

describe('laneRoute', () => {
  const h = (o: Record<string, string>): IncomingHttpHeaders => o;
  it('takes GETs without a body and POSTs with a form (or no) content type of ordinary size', () => {
    assert.deepEqual(laneRoute('GET', '/update?api_key=K&field1=1', h({})), { format: 'txt', body: 'none' });
    assert.deepEqual(laneRoute('GET', '/update.json', h({})), { format: 'json', body: 'none' });
    assert.deepEqual(laneRoute('POST', '/update.xml', h({ 'content-type': FORM, 'content-length': '20' })), {
      format: 'xml',
      body: 'form',
    });
    assert.deepEqual(
      laneRoute('POST', '/update', h({ 'content-type': `${FORM};charset=UTF-8`, 'content-length': '9' })),
      { format: 'txt', body: 'form' },
    );
    assert.deepEqual(laneRoute('POST', '/update', h({ 'content-length': '9' })), {
      format: 'txt',
      body: 'sniffed',
    });
    assert.deepEqual(laneRoute('POST', '/update', h({ 'content-type': FORM, 'content-length': '0' })), {
      format: 'txt',
      body: 'none',
    });
  });

  it('leaves everything else to the Fastify route', () => {
    const form = { 'content-type': FORM, 'content-length': '9' };
    for (const [method, url, headers] of [
      ['OPTIONS', '/update', {}],
      ['HEAD', '/update', {}],
      ['PUT', '/update', form],
      ['POST', '/update.txt', form],
      ['POST', '/update/', form],
      ['POST', '/updates', form],
      ['POST', '/channels/1/bulk_update.json', form],
      ['POST', '/update', { 'content-type': 'application/json', 'content-length': '9' }],
      ['POST', '/update', { 'content-type': 'text/plain', 'content-length': '9' }],
      ['POST', '/update', { 'content-type': FORM, 'transfer-encoding': 'chunked' }],
      ['POST', '/update', { 'content-type': FORM, 'content-length': String(LANE_BODY_LIMIT + 1) }],
      ['POST', '/update', { 'content-type': FORM, 'content-length': '1e3' }],
      ['GET', '/update', { 'content-length': '3' }],
    ] as const)
      assert.equal(
        laneRoute(method, url, h(headers)),
        undefined,
        `${method} ${url} ${JSON.stringify(headers)}`,
      );
  });
});

describe('the /update lane', () => {
  let h: ThingSpeakHarness;
  let W: string;
  let id: number;
  before(async () => {
    h = await openThingSpeakHarness();
    W = h.ch.writeKey;
    id = h.ch.channel.id;
  });
  after(() => h.close());

  const stored = async (answer: string) => {
    const entryId = Number(bodyOf(answer));
    assert.ok(entryId > 0, answer);
    return h.channels.entry(id, entryId);
  };

  it('takes the requests it should: a lane added after it sees only the others', async () => {
    const declined: string[] = [];
    fastLanesOf(h.app)!.add((method, url) => {
      declined.push(`${method} ${url}`);
      return undefined;
    });
    await bothWays(h.port, '/update?via=both', FORM, `api_key=${W}&field1=1`);
    await exchange(h.port, `GET /update?via=get&api_key=${W} HTTP/1.1\r\nHost: x\r\n`);
    assert.deepEqual(declined, ['POST /update?via=both']);
  });

  it('answers as the Fastify route does, byte for byte, in every format and failure', async () => {
    for (const [path, body] of [
      ['/update', `api_key=${W}&field1=1.5&field2=40`],
      ['/update.json', `api_key=${W}&field1=2&status=hi%20there&lat=40.5&long=-80`],
      ['/update.xml', `api_key=${W}&field2=%3Cb%3E`],
      ['/update', `api_key=NOTAKEYNOTAKEY00&field1=1`],
      ['/update.json', `api_key=${W}&lat=north`],
      ['/update.xml', `field1=1`],
    ]) {
      const [lane, fastify] = await bothWays(h.port, path, FORM, body);
      assert.equal(withoutEntryId(lane), withoutEntryId(fastify), `${path} ${body}`);
      assert.match(lane, /\r\nContent-Length: \d+\r\n/);
      assert.match(lane, /\r\nAccess-Control-Allow-Origin: \*\r\n/);
    }
  });

  it('answers a form (lane) as the same update in JSON (Fastify)', async () => {
    const head = (type: string, body: string) =>
      `POST /update.json HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n`;
    const json = JSON.stringify({ api_key: W, field1: '7', status: 'same' });
    const form = `api_key=${W}&field1=7&status=same`;
    const viaFastify = await exchange(h.port, head('application/json', json), json);
    const viaLane = await exchange(h.port, head(FORM, form), form);
    assert.match(viaLane, /^HTTP\/1.1 200 OK/);
    assert.equal(withoutEntryId(viaLane), withoutEntryId(viaFastify));
  });

  it('GET with the key and fields in the query string', async () => {
    const answer = await exchange(h.port, `GET /update?api_key=${W}&field1=3&2=4 HTTP/1.1\r\nHost: x\r\n`);
    assert.match(answer, /^HTTP\/1.1 200 OK/);
    assert.deepEqual(
      Object.entries((await stored(answer))!.fields).filter(([, v]) => v !== null),
      [
        ['field1', '3'],
        ['field2', '4'],
      ],
    );
  });

  it('POST with the key in the query string, the fields in the body; the body wins', async () => {
    const body = 'field1=from-body';
    const answer = await exchange(
      h.port,
      `POST /update?api_key=${W}&field1=from-query&field2=query-only HTTP/1.1\r\nHost: x\r\n` +
        `Content-Type: ${FORM}\r\nContent-Length: ${body.length}\r\n`,
      body,
    );
    const entry = await stored(answer);
    assert.equal(entry?.fields.field1, 'from-body');
    assert.equal(entry?.fields.field2, 'query-only');
  });

  it('takes the key from a header containing THINGSPEAKAPIKEY', async () => {
    const body = 'field1=9';
    const answer = await exchange(
      h.port,
      `POST /update HTTP/1.1\r\nHost: x\r\nX-THINGSPEAKAPIKEY: ${W}\r\nContent-Length: ${body.length}\r\n`,
      body,
    );
    assert.equal((await stored(answer))?.fields.field1, '9');
  });

  it('leaves bodies over its limit to the Fastify route, which still takes them, and refuses too large ones', async () => {
    const body = `api_key=${W}&field1=big&tweet=${'x'.repeat(LANE_BODY_LIMIT)}`;
    const big = await exchange(
      h.port,
      `POST /update HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: ${body.length}\r\n`,
      body,
    );
    assert.equal((await stored(big))?.fields.field1, 'big');
    const tooLarge = await exchange(
      h.port,
      `POST /update HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: ${9 * 1024 * 1024}\r\n`,
    );
    assert.match(tooLarge, /^HTTP\/1.1 400 Bad Request\r\n/);
    assert.equal(bodyOf(tooLarge), '0');
  });

  it('a body cut short harms nobody: nothing is stored, other clients go on', async () => {
    const before = (await h.channels.getChannelById(id))?.lastEntryId;
    const s = connect(h.port, '127.0.0.1');
    await once(s, 'connect');
    s.write(
      `POST /update HTTP/1.1\r\nHost: x\r\nContent-Type: ${FORM}\r\nContent-Length: 100\r\n\r\napi_key=${W}`,
    );
    s.destroy();
    await once(s, 'close');
    const answer = await exchange(h.port, `GET /update?api_key=${W}&field1=after HTTP/1.1\r\nHost: x\r\n`);
    const entry = await stored(answer);
    assert.equal(entry?.fields.field1, 'after');
    assert.equal(entry?.entryId, (before ?? 0) + 1);
  });

  it("answers a group of concurrent updates once each entry is stored; the device's copy follows", async () => {
    await h.registry.createDevice(SYSTEM_ACTOR, { tenantId: 'acme', id: 'lane-dev' });
    const bound = await h.channels.createChannel(h.actor, {
      deviceId: 'lane-dev',
      fields: { field1: 'level' },
    });
    const answered = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await h.fetch(`/update?api_key=${bound.writeKey}&field1=${i}`);
        const entryId = Number(await res.text());
        // Read back at once: the answer promises the entry is stored.
        const entry = await h.channels.entry(bound.channel.id, entryId);
        assert.equal(entry?.fields.field1, String(i));
        return entry;
      }),
    );
    await h.channels.mirrored();
    for (const [i, entry] of answered.entries()) {
      const { points } = await h.telemetry.query({
        seriesId: 'lane-dev',
        keys: ['level'],
        from: entry.createdAt,
        to: entry.createdAt + 1,
      });
      assert.deepEqual(
        points.map((p) => p.value),
        [i],
      );
    }
    // After a group, a lone update is not held waiting for company.
    const started = performance.now();
    const lone = await h.fetch(`/update?api_key=${W}&field1=lone`);
    assert.equal(lone.status, 200);
    assert.ok(performance.now() - started < 1000, 'a lone update is answered promptly');
  });
});

describe('the /update lane when the store fails', () => {
  it('answers 400 0 as the Fastify route does, and the server goes on', async () => {
    const h = await openThingSpeakHarness();
    try {
      await h.channelStore.close();
      const [lane, fastify] = await bothWays(
        h.port,
        '/update.json',
        FORM,
        `api_key=${h.ch.writeKey}&field1=1`,
      );
      assert.equal(lane, fastify);
      assert.match(lane, /^HTTP\/1.1 400 Bad Request\r\n/);
      assert.equal(bodyOf(lane), '0');
      assert.equal((await h.fetch('/healthz')).status, 200);
    } finally {
      await h.close();
    }
  });
});

describe('the /update lane over HTTPS', () => {
  it('takes updates on an HTTPS listener too', async () => {
    const h = await openThingSpeakHarness();
    try {
      await withTempDir(async (dataDir) => {
        const config = disabledListeners();
        config.https.enabled = true;
        const running = await startListeners(new EchoSink(), config, {
          logger: silentLogger(),
          dataDir,
          configureHttp: (app) => registerThingSpeakApi(app, { channels: h.channels, registry: h.registry }),
        });
        try {
          const body = `api_key=${h.ch.writeKey}&field1=secure`;
          const req = httpsRequest({
            host: '127.0.0.1',
            port: running.addresses.https?.port,
            path: '/update',
            method: 'POST',
            ca: running.tls?.ca,
            servername: 'localhost',
            headers: { 'content-type': FORM, 'content-length': body.length },
          });
          req.end(body);
          const [res] = (await once(req, 'response')) as [IncomingMessage];
          res.setEncoding('utf8');
          let text = '';
          for await (const chunk of res) text += chunk as string;
          assert.equal(res.statusCode, 200);
          assert.equal(res.headers['content-length'], String(text.length));
          const entry = await h.channels.entry(h.ch.channel.id, Number(text));
          assert.equal(entry?.fields.field1, 'secure');
        } finally {
          await running.close();
        }
      });
    } finally {
      await h.close();
    }
  });
});
