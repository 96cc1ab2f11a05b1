/**
 * The npm `thingspeakclient` library (imwebgefunden/thingspeakclient_node),
 * unmodified but for its server URL, against Halyard: its singular read paths
 * (/feed.json, /field/<n>/last.json), the `key` parameter and
 * X-THINGSPEAKAPIKEY writes.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { openThingSpeakHarness, T0, type ThingSpeakHarness } from './test-harness.js';

type Cb = (err: Error | null, body: unknown) => void;
interface Client {
  attachChannel(id: number, keys: { writeKey?: string; readKey?: string }, cb: Cb): void;
  updateChannel(id: number, fields: Record<string, string | number>, cb: Cb): void;
  getChannelFeeds(id: number, query: Record<string, string | number>, cb: Cb): void;
  getLastEntryInFieldFeed(id: number, field: number, query: Record<string, string | number>, cb: Cb): void;
}
const ThingSpeakClient = createRequire(import.meta.url)('thingspeakclient') as new (opts: object) => Client;

const call = <T>(fn: (cb: Cb) => void) =>
  new Promise<T>((resolve, reject) => fn((err, body) => (err ? reject(err) : resolve(body as T))));

describe('npm thingspeakclient against Halyard', () => {
  let h: ThingSpeakHarness;
  before(async () => {
    h = await openThingSpeakHarness();
  });
  after(() => h.close());

  it('writes, then reads the feed and the last field value', async () => {
    const id = h.ch.channel.id;
    const client = new ThingSpeakClient({ server: h.base, useTimeoutMode: false });
    await call((cb) => client.attachChannel(id, { writeKey: h.ch.writeKey, readKey: h.ch.readKeys[0] }, cb));
    assert.equal(await call((cb) => client.updateChannel(id, { field1: 21.5, field2: 40 }, cb)), '1');
    h.clock.now = T0 + 20_000;
    assert.equal(await call((cb) => client.updateChannel(id, { field1: 22 }, cb)), '2');
    const feed = await call<{ channel: { id: number }; feeds: Array<{ field1: string }> }>((cb) =>
      client.getChannelFeeds(id, { results: 10 }, cb),
    );
    assert.equal(feed.channel.id, id);
    assert.deepEqual(
      feed.feeds.map((f) => f.field1),
      ['21.5', '22'],
    );
    const last = await call<{ field2: string; entry_id: number }>((cb) =>
      client.getLastEntryInFieldFeed(id, 2, {}, cb),
    );
    assert.deepEqual(last, { created_at: '2024-05-01T12:00:00Z', entry_id: 1, field2: '40' });
  });
});
