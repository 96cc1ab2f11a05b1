import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { ApiClient, ApiError, normalizeUrl } from './api-client.js';
import { CommandError, UsageError } from './errors.js';
import { writeSavedLogin } from './saved-login.js';

describe('API client: which URL and token', () => {
  const home = tempDir('halyard-api-client-');
  const env = { XDG_CONFIG_HOME: home };
  before(async () => {
    await writeSavedLogin(env, { url: 'http://saved:8080', token: 'hu_saved', tokenId: 't1', username: 'a' });
  });
  const tokenOf = (c: ApiClient) => (c as unknown as { token?: string }).token;

  it('normalizes URLs and refuses anything but http(s)', () => {
    assert.equal(normalizeUrl('http://h:8080/'), 'http://h:8080');
    assert.equal(normalizeUrl('https://h/base/'), 'https://h/base');
    assert.throws(() => normalizeUrl('ftp://h'), UsageError);
    assert.throws(() => normalizeUrl('h:8080x'), UsageError);
  });

  it('flags beat the environment, which beats the saved login', async () => {
    const c1 = await ApiClient.fromFlags(
      { url: 'http://flag', token: 'hu_flag' },
      { ...env, HALYARD_TOKEN: 'hu_env' },
    );
    assert.deepEqual([c1.url, tokenOf(c1)], ['http://flag', 'hu_flag']);
    const c2 = await ApiClient.fromFlags({}, { ...env, HALYARD_URL: 'http://env', HALYARD_TOKEN: 'hu_env' });
    assert.deepEqual([c2.url, tokenOf(c2)], ['http://env', 'hu_env']);
    const c3 = await ApiClient.fromFlags({}, env);
    assert.deepEqual([c3.url, tokenOf(c3)], ['http://saved:8080', 'hu_saved']);
  });

  it('sends the saved token only to the saved URL', async () => {
    const c = await ApiClient.fromFlags({ url: 'http://saved:8080/' }, env);
    assert.equal(tokenOf(c), 'hu_saved');
    await assert.rejects(
      ApiClient.fromFlags({ url: 'http://elsewhere:8080' }, env),
      /not logged in to http:\/\/elsewhere:8080/,
    );
    await assert.rejects(
      ApiClient.fromFlags({}, { XDG_CONFIG_HOME: tempDir('halyard-none-') }),
      /not logged in to http:\/\/127\.0\.0\.1:8080/,
    );
  });
});

describe('API client: answers', () => {
  let server: Server;
  let url: string;
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        const reply = (status: number, value?: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(value === undefined ? undefined : JSON.stringify(value));
        };
        if (req.url === '/api/ok?tenantId=a&active=false') reply(200, { items: [] });
        else if (req.url === '/api/gone') reply(204);
        else if (req.url === '/api/bad')
          reply(400, { error: 'INVALID_INPUT', message: 'body.tenantId: bad', field: 'body.tenantId' });
        else if (req.url === '/api/auth')
          reply(401, { error: 'UNAUTHENTICATED', message: 'the token is invalid' });
        else {
          res.writeHead(502, { 'content-type': 'text/html' });
          res.end('<html>proxy</html>');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the Bearer token and JSON, skips undefined query values, and reads 204 as nothing', async () => {
    const api = new ApiClient({ url, token: 'hu_t', tokenSource: 'flag' });
    assert.deepEqual(await api.get('/ok', { tenantId: 'a', active: false, search: undefined }), {
      items: [],
    });
    assert.equal(await api.post('/gone', { a: 1 }), undefined);
    assert.deepEqual(seen.at(-1), { method: 'POST', url: '/api/gone', auth: 'Bearer hu_t', body: '{"a":1}' });
  });

  it('turns error bodies into ApiError lines with the flag to fix and a login hint', async () => {
    const api = new ApiClient({ url, token: 'hu_t', tokenSource: 'saved' });
    await assert.rejects(api.get('/bad'), (err) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.message, 'body.tenantId: bad (--tenant)');
      assert.deepEqual([err.status, err.code, err.field], [400, 'INVALID_INPUT', 'body.tenantId']);
      return true;
    });
    await assert.rejects(
      api.get('/auth'),
      /the token is invalid; the saved login is no longer valid: run "halyard login" again/,
    );
    // Without a token (signing in), a 401 is just the server's message.
    await assert.rejects(
      new ApiClient({ url }).get('/auth'),
      (err: Error) => err.message === 'the token is invalid',
    );
  });

  it('says so when the answer is not from a Halyard API', async () => {
    await assert.rejects(
      new ApiClient({ url, token: 't' }).get('/elsewhere'),
      (err) =>
        err instanceof CommandError &&
        /answered HTTP 502, not a Halyard API error \(is --url right\?\)/.test(err.message),
    );
  });
});
