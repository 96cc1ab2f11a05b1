import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { openThingSpeakHarness, T0, type ThingSpeakHarness } from './test-harness.js';
import { SYSTEM_ACTOR } from '../../registry/service.js';

const form = (o: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(o).toString(),
});

async function text(res: Response): Promise<[number, string]> {
  return [res.status, await res.text()];
}

/** One raw HTTP/1.1 exchange, to see header names exactly as sent. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(request));
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('ThingSpeak HTTP API', () => {
  let h: ThingSpeakHarness;
  let W: string;
  let R: string;
  let id: number;
  before(async () => {
    h = await openThingSpeakHarness();
    W = h.ch.writeKey;
    R = h.ch.readKeys[0]!;
    id = h.ch.channel.id;
  });
  after(() => h.close());

  it('POST /update with X-THINGSPEAKAPIKEY answers the entry id as text', async () => {
    const res = await h.fetch('/update', {
      ...form({ field1: '21.5', field2: '40', headers: 'false' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'X-THINGSPEAKAPIKEY': W },
    });
    assert.deepEqual(await text(res), [200, '1']);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  });

  it('GET /update with api_key, aliases 1..8 and lat/long', async () => {
    h.clock.now = T0 + 20_000;
    const res = await h.fetch(`/update?api_key=${W}&1=22&latitude=40.5&longitude=-80.22&status=hello`);
    assert.deepEqual(await text(res), [200, '2']);
  });

  it('POST /update.json with params in the query string (Python) answers the entry', async () => {
    h.clock.now = T0 + 40_000;
    const res = await h.fetch(`/update.json?api_key=${W}&field1=23&created_at=2024-05-01%2012:00:30`, {
      method: 'POST',
    });
    assert.equal(res.status, 200);
    assert.equal(
      await res.text(),
      `{"channel_id":${id},"created_at":"2024-05-01T12:00:30Z","entry_id":3,"field1":"23","field2":null,` +
        '"field3":null,"field4":null,"field5":null,"field6":null,"field7":null,"field8":null,' +
        '"latitude":null,"longitude":null,"elevation":null,"status":null}',
    );
  });

  it('POST /update.xml answers the entry as XML', async () => {
    h.clock.now = T0 + 60_000;
    const res = await h.fetch('/update.xml', { ...form({ api_key: W, field2: '41' }) });
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(
      body,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<feed><channel-id type="integer">\d+<\/channel-id>/,
    );
    assert.match(body, /<entry-id type="integer">4<\/entry-id>/);
    assert.match(body, /<field2>41<\/field2>/);
    assert.match(body, /<field1 nil="true"\/>/);
    assert.match(body, /<created-at type="dateTime">2024-05-01T12:01:00Z<\/created-at>/);
  });

  it('a read key or a wrong key writes nothing: 400 body 0', async () => {
    assert.deepEqual(await text(await h.fetch(`/update?api_key=${R}&field1=1`)), [400, '0']);
    assert.deepEqual(await text(await h.fetch('/update?api_key=NOPE&field1=1')), [400, '0']);
    assert.deepEqual(await text(await h.fetch('/update.json?field1=1')), [400, '0']);
  });

  it('a throttled write is 200 body 0, even on update.json', async () => {
    const slow = await h.channels.createChannel(h.actor, {
      name: 'slow',
      fields: { field1: 'a' },
      minUpdateIntervalSeconds: 15,
    });
    assert.deepEqual(await text(await h.fetch(`/update?key=${slow.writeKey}&field1=1`)), [200, '1']);
    const res = await h.fetch(`/update.json?key=${slow.writeKey}&field1=2`);
    assert.deepEqual(await text(res), [200, '0']);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  });

  it('feeds.json: compact, enabled fields only, values as strings', async () => {
    const res = await h.fetch(`/channels/${id}/feeds.json?api_key=${R}&results=2`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.equal(
      body,
      `{"channel":{"id":${id},"name":"Weather","field1":"temperature","field2":"humidity",` +
        `"created_at":"2024-05-01T12:00:00Z","updated_at":"${(JSON.parse(body) as { channel: { updated_at: string } }).channel.updated_at}","last_entry_id":4},` +
        '"feeds":[{"created_at":"2024-05-01T12:00:30Z","entry_id":3,"field1":"23","field2":null},' +
        '{"created_at":"2024-05-01T12:01:00Z","entry_id":4,"field1":null,"field2":"41"}]}',
    );
  });

  it('feeds with status, location, timezone and the write key', async () => {
    const res = await h.fetch(
      `/channels/${id}/feed.json?key=${W}&results=1&status=true&location=true&timezone=America%2FNew_York`,
    );
    const j = (await res.json()) as { feeds: Record<string, unknown>[] };
    assert.deepEqual(j.feeds, [
      {
        created_at: '2024-05-01T08:01:00-04:00',
        entry_id: 4,
        field1: null,
        field2: '41',
        latitude: null,
        longitude: null,
        elevation: null,
        status: null,
      },
    ]);
  });

  it('start/end in the request time zone, round, min/max', async () => {
    const q = 'start=2024-05-01%2008:00:00&end=2024-05-01%2008:00:30&timezone=America/New_York';
    const j = (await (await h.fetch(`/channels/${id}/feeds.json?api_key=${R}&${q}&round=2`)).json()) as {
      feeds: Array<{ entry_id: number; field1: string | null }>;
    };
    assert.deepEqual(
      j.feeds.map((f) => [f.entry_id, f.field1]),
      [
        [1, '21.50'],
        [2, '22.00'],
        [3, '23.00'],
      ],
    );
    const m = (await (
      await h.fetch(`/channels/${id}/fields/1.json?api_key=${R}&results=3&max=22`)
    ).json()) as {
      feeds: Array<{ field1: string | null }>;
    };
    assert.deepEqual(
      m.feeds.map((f) => f.field1),
      ['22', null, null],
    );
  });

  it('feeds.csv and feeds.xml', async () => {
    const csv = await text(await h.fetch(`/channels/${id}/feeds.csv?api_key=${R}&results=2`));
    assert.deepEqual(csv, [
      200,
      'created_at,entry_id,field1,field2\n2024-05-01 12:00:30 UTC,3,23,\n2024-05-01 12:01:00 UTC,4,,41\n',
    ]);
    const xml = await (await h.fetch(`/channels/${id}/feeds.xml?api_key=${R}&results=1`)).text();
    assert.match(xml, /^<\?xml[^>]*>\n<channel><id type="integer">\d+<\/id><name>Weather<\/name>/);
    assert.match(
      xml,
      /<feeds type="array"><feed><created-at type="dateTime">2024-05-01T12:01:00Z<\/created-at>/,
    );
    assert.match(xml, /<field2>41<\/field2><id type="integer" nil="true"\/><\/feed><\/feeds><\/channel>$/);
  });

  it('field feed: only that field, n may be field1, alias /field/', async () => {
    for (const path of [`fields/2.json`, `field/field2.json`]) {
      const j = (await (await h.fetch(`/channels/${id}/${path}?api_key=${R}&results=1`)).json()) as {
        channel: Record<string, unknown>;
        feeds: unknown[];
      };
      assert.equal(j.channel.field2, 'humidity');
      assert.equal(j.channel.field1, undefined);
      assert.deepEqual(j.feeds, [{ created_at: '2024-05-01T12:01:00Z', entry_id: 4, field2: '41' }]);
    }
  });

  it('feeds/last: .json and .txt are the same compact JSON', async () => {
    const json = await text(await h.fetch(`/channels/${id}/feeds/last.json?api_key=${R}&status=true`));
    const expected =
      '{"created_at":"2024-05-01T12:01:00Z","entry_id":4,"field1":null,"field2":"41","status":null}';
    assert.deepEqual(json, [200, expected]);
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/feeds/last.txt?api_key=${R}&status=true`)), [
      200,
      expected,
    ]);
  });

  it('fields/<n>/last: bare value without extension, newest non-null', async () => {
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/fields/1/last?api_key=${R}`)), [200, '23']);
    assert.deepEqual(
      await text(await h.fetch(`/channels/${id}/fields/1/last.txt?api_key=${R}&prepend=T%3D`)),
      [200, 'T=23'],
    );
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/field/1/last.json?key=${R}`)), [
      200,
      '{"created_at":"2024-05-01T12:00:30Z","entry_id":3,"field1":"23"}',
    ]);
  });

  it('feeds/<entry_id>, status, status/last, last_entry_id', async () => {
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/feeds/2.json?api_key=${R}`)), [
      200,
      '{"created_at":"2024-05-01T12:00:20Z","entry_id":2,"field1":"22","field2":null}',
    ]);
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/feeds/99.json?api_key=${R}`)), [200, '-1']);
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/status.json?api_key=${R}`)), [
      200,
      '{"channel":{"name":"Weather"},"feeds":[{"created_at":"2024-05-01T12:00:20Z","entry_id":2,"status":"hello"}]}',
    ]);
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/status/last.txt?api_key=${R}`)), [
      200,
      'hello',
    ]);
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/last_entry_id.txt?api_key=${R}`)), [200, '4']);
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/last_entry_id.xml?api_key=${R}`)), [
      200,
      '<?xml version="1.0" encoding="UTF-8"?>\n<xml class="last_entry_id">4</xml>',
    ]);
  });

  it('no access to a private channel: 400 body -1', async () => {
    const res = await h.fetch(`/channels/${id}/feeds.json`);
    assert.deepEqual(await text(res), [400, '-1']);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/feeds.json?api_key=WRONG`)), [400, '-1']);
    assert.deepEqual(await text(await h.fetch(`/channels/9999/feeds.json?api_key=${R}`)), [400, '-1']);
  });

  it('JSONP callback', async () => {
    const res = await h.fetch(`/channels/${id}/last_entry_id.json?api_key=${R}&callback=cb`);
    assert.deepEqual(await text(res), [200, 'cb(4)']);
  });

  it('CORS preflight', async () => {
    const res = await h.fetch('/update', { method: 'OPTIONS' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, PUT, OPTIONS, DELETE, PATCH');
    assert.equal(res.headers.get('access-control-allow-headers'), 'origin, content-type, X-Requested-With');
    assert.equal(res.headers.get('access-control-max-age'), '1800');
  });

  it('Arduino on the wire: Host api.thingspeak.com, literal Content-Length, no chunking', async () => {
    h.clock.now = T0 + 120_000;
    const body = `field1=24&created_at=2024-05-01 12:02:00+00:00&headers=false`;
    const res = await raw(
      h.port,
      'POST /update HTTP/1.1\r\nHost: api.thingspeak.com\r\nConnection: close\r\n' +
        `User-Agent: tslib-arduino/2.1.1\r\nX-THINGSPEAKAPIKEY: ${W}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(res, /\r\nContent-Length: 1\r\n/);
    assert.doesNotMatch(res, /Transfer-Encoding/i);
    assert.match(res, /\r\n\r\n5$/);
    const read = await raw(
      h.port,
      `GET /channels/${id}/fields/1/last?api_key=${R} HTTP/1.1\r\nHost: api.thingspeak.com\r\nConnection: close\r\n\r\n`,
    );
    assert.match(read, /\r\nContent-Length: 2\r\n/);
    assert.match(read, /\r\n\r\n24$/);
    const created = (await (await h.fetch(`/channels/${id}/feeds/5.json?api_key=${R}`)).json()) as {
      created_at: string;
    };
    assert.equal(created.created_at, '2024-05-01T12:02:00Z');
  });

  it('bulk_update.json: 202, relative delta_t and absolute created_at', async () => {
    h.clock.now = T0 + 3_600_000;
    const res = await h.fetch(`/channels/${id}/bulk_update.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        write_api_key: W,
        updates: [
          { created_at: '2024-05-01 12:10:00 +0000', field1: '30' },
          { delta_t: 5, field1: '31' },
          { created_at: 1714565700, field2: '32' },
        ],
      }),
    });
    assert.deepEqual(await text(res), [202, '{"success":true}']);
    const j = (await (await h.fetch(`/channels/${id}/feeds.json?api_key=${R}&results=3`)).json()) as {
      feeds: Array<{ created_at: string; entry_id: number }>;
    };
    assert.deepEqual(
      j.feeds.map((f) => f.created_at),
      ['2024-05-01T12:10:00Z', '2024-05-01T12:10:05Z', '2024-05-01T12:15:00Z'],
    );
  });

  it('bulk_update.csv with relative times; bad key is 401 JSON', async () => {
    h.clock.now = T0 + 7_200_000;
    const res = await h.fetch(`/channels/${id}/bulk_update.csv`, {
      ...form({ write_api_key: W, time_format: 'relative', updates: '0,1,2|10,3,,,,,,,,,,,ok, fine' }),
    });
    assert.deepEqual(await text(res), [202, '{"success":true}']);
    const last = (await (
      await h.fetch(`/channels/${id}/feeds/last.json?api_key=${R}&status=true`)
    ).json()) as Record<string, unknown>;
    assert.equal(last.created_at, '2024-05-01T14:00:00Z');
    assert.equal(last.field1, '3');
    assert.equal(last.status, 'ok, fine');
    const bad = await h.fetch(`/channels/${id}/bulk_update.csv`, {
      ...form({ write_api_key: 'NOPE', time_format: 'absolute', updates: '2024-05-01 12:00:00,1' }),
    });
    assert.deepEqual(await text(bad), [
      401,
      '{"status":"401","error":{"error_code":"error_auth_required","message":"Authorization Required",' +
        '"details":"Please provide proper authentication details."}}',
    ]);
  });

  it('management with the user API key: create, list by tag, show, update, clear, delete', async () => {
    const created = await h.fetch('/channels.json', {
      ...form({
        api_key: h.userKey,
        name: 'Made',
        field1: 'x',
        tags: 'a,b',
        latitude: '40',
        public_flag: 'true',
      }),
    });
    assert.equal(created.status, 200);
    const c = (await created.json()) as Record<string, unknown> & { id: number; api_keys: unknown[] };
    assert.equal(c.name, 'Made');
    assert.equal(c.latitude, '40.0');
    assert.equal(c.public_flag, true);
    assert.deepEqual(c.tags, [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    assert.equal((c.api_keys[0] as { write_flag: boolean }).write_flag, true);
    const list = (await (await h.fetch(`/channels.json?api_key=${h.userKey}&tag=a`)).json()) as Array<{
      id: number;
    }>;
    assert.deepEqual(
      list.map((x) => x.id),
      [c.id],
    );
    const shown = (await (await h.fetch(`/channels/${c.id}.json?api_key=${h.userKey}`)).json()) as {
      name: string;
    };
    assert.equal(shown.name, 'Made');
    const put = await h.fetch(`/channels/${c.id}.json`, {
      ...form({ api_key: h.userKey, name: 'Renamed' }),
      method: 'PUT',
    });
    assert.equal(((await put.json()) as { name: string }).name, 'Renamed');
    // Public: readable without a key.
    assert.equal((await h.fetch(`/channels/${c.id}/feeds.json`)).status, 200);
    const cleared = await h.fetch(`/channels/${c.id}/feeds.json?api_key=${h.userKey}`, { method: 'DELETE' });
    assert.deepEqual(await text(cleared), [200, '[]']);
    const deleted = await h.fetch(`/channels/${c.id}.json?api_key=${h.userKey}`, { method: 'DELETE' });
    assert.equal(((await deleted.json()) as { id: number }).id, c.id);
    assert.equal((await h.fetch(`/channels/${c.id}.json?api_key=${h.userKey}`)).status, 404);
  });

  it("a viewer's user key shows a channel's read keys, never its write key", async () => {
    const viewer = await h.registry.createUser(SYSTEM_ACTOR, {
      username: 'acme-viewer',
      password: 'pw-acme-viewer-0123',
      role: 'viewer',
      tenantId: 'acme',
    });
    const { token } = await h.registry.createApiToken(
      { type: 'user', id: viewer.id, name: viewer.username, tenantId: 'acme', role: 'viewer' },
      { name: 'viewer' },
    );
    const keysOf = (c: { api_keys: { api_key: string; write_flag: boolean }[] }) =>
      c.api_keys.map((k) => [k.api_key, k.write_flag]);
    const shown = (await (await h.fetch(`/channels/${h.ch.channel.id}.json?api_key=${token}`)).json()) as {
      api_keys: { api_key: string; write_flag: boolean }[];
    };
    assert.deepEqual(keysOf(shown), [[h.ch.readKeys[0], false]]);
    const listed = (await (await h.fetch(`/channels.json?api_key=${token}`)).json()) as {
      api_keys: { api_key: string; write_flag: boolean }[];
    }[];
    assert.ok(listed.length > 0 && listed.every((c) => c.api_keys.every((k) => !k.write_flag)));
  });

  it('management without a valid user key: 401 in JSON and XML', async () => {
    assert.deepEqual(await text(await h.fetch('/channels.json?api_key=bad')), [
      401,
      '{"status":"401","error":{"error_code":"error_auth_required","message":"Authorization Required",' +
        '"details":"Please make sure that your API key is correct."}}',
    ]);
    const xml = await text(await h.fetch('/channels.xml'));
    assert.equal(xml[0], 401);
    assert.match(xml[1], /<error><error-code>error_auth_required<\/error-code>/);
  });

  it('unknown paths are 404 in the form of their extension', async () => {
    const [status, body] = await text(await h.fetch(`/channels/${id}/nothing.json`));
    assert.equal(status, 404);
    assert.match(body, /"error_code":"error_resource_not_found"/);
  });
});
