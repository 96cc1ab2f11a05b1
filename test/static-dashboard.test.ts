import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestPlatform, type TestPlatform } from './helpers/platform.js';
import { tempDir } from './helpers/temp-dir.js';

/**
 * The dashboard served by the platform itself, from a small stand-in build:
 * index.html for the app's routes, hashed assets cached for good, security
 * headers, a clear 503 while unbuilt, and every API on the same port untouched.
 */

const INDEX =
  '<!doctype html><title>Halyard</title><script type="module" src="/assets/app-3f9a1c.js"></script>';
const SCRIPT = 'console.log("dashboard");';

let platform: TestPlatform;
let webRoot: string;

before(async () => {
  webRoot = tempDir('halyard-web-');
  mkdirSync(join(webRoot, 'assets'));
  writeFileSync(join(webRoot, 'assets', 'app-3f9a1c.js'), SCRIPT);
  writeFileSync(join(webRoot, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  platform = await startTestPlatform({ webRoot });
});
after(async () => platform.stop());

function get(path: string, init?: RequestInit): Promise<Response> {
  return fetch(platform.httpUrl + path, init);
}

function assertAppHeaders(res: Response): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, 'no inline or foreign scripts');
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-eval/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
}

describe('dashboard static serving', () => {
  it('answers 503 with how to build while index.html is missing, and serves it once built', async () => {
    const unbuilt = await get('/');
    assert.equal(unbuilt.status, 503);
    assert.match(unbuilt.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await unbuilt.text(), /not built.*\n.*npm run build/);
    assertAppHeaders(unbuilt);

    writeFileSync(join(webRoot, 'index.html'), INDEX);
    const built = await get('/');
    assert.equal(built.status, 200);
    assert.equal(await built.text(), INDEX);
  });

  it('serves index.html for / and app routes, never cached without revalidation', async () => {
    for (const path of ['/', '/index.html', '/devices/abc', '/devices/abc/telemetry?range=1h', '/channels']) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(res.headers.get('cache-control'), 'no-cache', path);
      assertAppHeaders(res);
      assert.equal(await res.text(), INDEX, path);
    }
    const head = await get('/devices/abc', { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('serves hashed assets as immutable for a year, and 404s a missing one', async () => {
    const res = await get('/assets/app-3f9a1c.js');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /javascript/);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=31536000/);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    assertAppHeaders(res);
    assert.equal(await res.text(), SCRIPT);

    const missing = await get('/assets/app-000000.js');
    assert.equal(missing.status, 404);
    assert.doesNotMatch(await missing.text(), /<!doctype html>/);
    assert.equal((await get('/assets/')).status, 403, 'no directory listing');
  });

  it('serves top-level files of the build and 404s other file-like paths', async () => {
    const icon = await get('/favicon.svg');
    assert.equal(icon.status, 200);
    assert.match(icon.headers.get('content-type') ?? '', /^image\/svg\+xml/);
    assertAppHeaders(icon);
    assert.equal((await get('/robots.txt')).status, 404);
    assert.equal((await get('/devices', { method: 'POST' })).status, 404, 'only GET and HEAD reach the app');
  });

  it('leaves the ThingSpeak API on the root to ThingSpeak', async () => {
    const update = await get('/update?api_key=NOSUCHKEY&field1=1');
    assert.equal(update.status, 400);
    assert.equal(await update.text(), '0', 'ThingSpeak answers a failed write with "0"');
    const feed = await get('/channels/424242/feeds.json');
    assert.equal(await feed.text(), '-1', "ThingSpeak's answer for a channel it cannot show");
    const list = await get('/channels.json');
    assert.equal(list.status, 401);
    const unknown = await get('/channels/1/nope');
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), 'error_resource_not_found');
  });

  it('leaves /api, /metrics, /healthz and the MQTT WebSocket path to their owners', async () => {
    const me = await get('/api/me');
    assert.equal(me.status, 401);
    assert.equal(((await me.json()) as { error: string }).error, 'UNAUTHENTICATED');
    const unknown = await get('/api/no/such/route');
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: string }).error, 'NOT_FOUND');
    const openapi = await get('/api/openapi.json');
    assert.equal(openapi.status, 200);
    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^halyard_live_sockets 0$/m);
    assert.deepEqual(await (await get('/healthz')).json(), { status: 'ok' });
    for (const path of ['/mqtt', '/metricsx', '/healthz/deep', '/update/x']) {
      const res = await get(path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /<!doctype html>/, path);
    }
  });
});
