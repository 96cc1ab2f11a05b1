import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_ACTOR } from '../../registry/service.js';
import { BODY_LIMIT } from './api.js';
import { openThingSpeakHarness, T0, type ThingSpeakHarness } from './test-harness.js';
import { MAX_BULK_UPDATES } from './write-routes.js';

async function text(res: Response): Promise<[number, string]> {
  return [res.status, await res.text()];
}

describe('ThingSpeak HTTP API: data age, public listings, bulk limits', () => {
  let h: ThingSpeakHarness;
  let id: number;
  let R: string;
  let W: string;
  before(async () => {
    h = await openThingSpeakHarness();
    ({ id } = h.ch.channel);
    R = h.ch.readKeys[0]!;
    W = h.ch.writeKey;
  });
  after(() => h.close());

  it('last_data_age: -1 without entries, -1 with 400 without access', async () => {
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/feeds/last_data_age.json?api_key=${R}`)), [
      200,
      '-1',
    ]);
    assert.deepEqual(await text(await h.fetch(`/channels/${id}/feeds/last_data_age.json`)), [400, '-1']);
  });

  it('last_data_age of the channel and of a field, in every format', async () => {
    h.clock.now = T0;
    assert.equal(await (await h.fetch(`/update?api_key=${W}&field1=1&field2=2`)).text(), '1');
    h.clock.now = T0 + 10_000;
    assert.equal(await (await h.fetch(`/update?api_key=${W}&field2=3`)).text(), '2');
    h.clock.now = T0 + 74_900;
    const age = (path: string) => h.fetch(`/channels/${id}/${path}?api_key=${R}`).then(text);
    assert.deepEqual(await age('feeds/last_data_age.json'), [
      200,
      '{"last_data_age":"64","last_data_age_units":"s"}',
    ]);
    assert.deepEqual(await age('feeds/last_data_age.txt'), [200, '64']);
    assert.deepEqual(await age('feeds/last_data_age'), [200, '64']);
    assert.deepEqual(await age('feed/last_data_age.xml'), [
      200,
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
        '<feed><last-data-age>64</last-data-age><last-data-age-units>s</last-data-age-units></feed>',
    ]);
    assert.deepEqual(await age('feeds/last_data_age.csv'), [
      200,
      'last_data_age,last_data_age_units\n64,s\n',
    ]);
    assert.deepEqual(await age('fields/1/last_data_age.json'), [
      200,
      '{"last_data_age":"74","last_data_age_units":"s"}',
    ]);
    assert.deepEqual(await age('field/field2/last_data_age.txt'), [200, '64']);
    assert.deepEqual(await age('fields/3/last_data_age.txt'), [200, '-1']);
    assert.deepEqual(await age('fields/9/last_data_age.txt'), [404, 'error_resource_not_found']);
  });

  it('public.json: public channels only, 15 a page, best ranked first, with tag, username, distance', async () => {
    await h.registry.createTenant(SYSTEM_ACTOR, { id: 'globex', name: 'Globex' });
    const make = (tenantId: string, name: string, extra: object = {}) =>
      h.channels.createChannel(
        { ...SYSTEM_ACTOR, role: 'admin' },
        { tenantId, name, publicFlag: true, ...extra },
      );
    const lab = await make('acme', 'Lab', {
      description: 'roof',
      tags: ['weather', 'Roof'],
      latitude: 40.44,
      longitude: -79.996,
    });
    for (let i = 0; i < 15; i++) await make('globex', `G${i}`);
    const page = async (query: string) =>
      (await (await h.fetch(`/channels/public.json${query}`)).json()) as {
        pagination: { current_page: number; per_page: number; total_entries: number };
        channels: Array<Record<string, unknown>>;
      };
    const first = await page('');
    assert.deepEqual(first.pagination, { current_page: 1, per_page: 15, total_entries: 16 });
    assert.equal(first.channels.length, 15);
    assert.deepEqual(first.channels[0], {
      id: lab.channel.id,
      name: 'Lab',
      description: 'roof',
      latitude: '40.44',
      longitude: '-79.996',
      created_at: '2024-05-01T12:01:14Z',
      elevation: '',
      last_entry_id: 0,
      ranking: 65,
      username: 'acme',
      tags: [
        { id: 1, name: 'weather' },
        { id: 2, name: 'Roof' },
      ],
    });
    assert.ok(!first.channels.some((c) => c.id === id), 'the private channel is not listed');
    assert.equal((await page('?page=2')).channels.length, 1);
    assert.deepEqual((await page('?page=3')).channels, []);
    assert.deepEqual(await text(await h.fetch('/channels/public.json?page=0')), [
      404,
      '{"status":"404","error":{"error_code":"error_resource_not_found","message":"Resource Not Found",' +
        '"details":"The requested resource could not be found."}}',
    ]);
    assert.deepEqual(
      (await page('?tag=roof')).channels.map((c) => c.name),
      ['Lab'],
    );
    assert.equal((await page('?username=globex')).pagination.total_entries, 15);
    assert.deepEqual((await page('?username=nobody')).channels, []);
    assert.deepEqual(
      (await page('?latitude=40.5&longitude=-80&distance=10')).channels.map((c) => c.name),
      ['Lab'],
    );
    assert.deepEqual((await page('?latitude=41&longitude=-80&distance=10')).channels, []);
    const xml = await (await h.fetch('/channels/public.xml?tag=weather')).text();
    assert.match(
      xml,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<response><pagination><current-page type="integer">1<\/current-page><per-page type="integer">15<\/per-page><total-entries type="integer">1<\/total-entries><\/pagination><channels type="array"><channel><id type="integer">\d+<\/id><name>Lab<\/name>/,
    );
  });

  it("/users/<tenant>/channels: public ones, and private ones too with that tenant's user key", async () => {
    const names = async (query: string) =>
      (
        (await (await h.fetch(`/users/acme/channels.json${query}`)).json()) as {
          channels: { name: string }[];
        }
      ).channels
        .map((c) => c.name)
        .sort();
    assert.deepEqual(await names(''), ['Lab']);
    assert.deepEqual(await names(`?api_key=${h.userKey}`), ['Lab', 'Weather']);
    assert.deepEqual(await names('?api_key=WRONG'), ['Lab']);
    const globex = (await (await h.fetch(`/users/globex/channels.json?api_key=${h.userKey}`)).json()) as {
      channels: { username: string }[];
    };
    assert.equal(globex.channels.length, 15);
    assert.ok(globex.channels.every((c) => c.username === 'globex'));
    assert.match(
      await (await h.fetch('/users/acme/channels.xml')).text(),
      /<response><channels type="array"><channel>/,
    );
  });

  it('bulk updates: more than 14,400 is 413 and nothing is stored', async () => {
    h.clock.now = T0 + 86_400_000;
    const updates = Array.from({ length: MAX_BULK_UPDATES + 1 }, (_, i) => ({
      delta_t: 1,
      field1: String(i),
    }));
    const res = await h.fetch(`/channels/${id}/bulk_update.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ write_api_key: W, updates }),
    });
    assert.deepEqual(await text(res), [
      413,
      '{"status":"413","error":{"error_code":"error_request_too_large","message":"Request Entity Too Large",' +
        '"details":"at most 14400 updates per request"}}',
    ]);
    assert.equal((await h.channels.getChannelById(id))?.lastEntryId, 2);
  });

  it('bulk updates: a body over the limit is refused from its Content-Length, before it is sent', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(h.port, '127.0.0.1', () =>
        // Only the headers and a few bytes: the answer must not wait for the rest.
        socket.write(
          `POST /channels/${id}/bulk_update.csv HTTP/1.1\r\nHost: x\r\n` +
            `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY_LIMIT + 1}\r\n\r\nupdates=`,
        ),
      );
      let out = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        out += d;
        if (out.includes('}}')) {
          socket.destroy();
          resolve(out);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(out));
    });
    assert.match(answer, /^HTTP\/1.1 413 /);
    assert.match(answer, /\r\nContent-Length: \d+\r\n/);
    assert.ok(
      answer.endsWith(
        '"error_code":"error_request_too_large","message":"Request Entity Too Large",' +
          '"details":"Please reduce the size of the request."}}',
      ),
    );
  });
});
