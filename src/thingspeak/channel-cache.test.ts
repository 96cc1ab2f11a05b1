import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChannelCache } from './channel-cache.js';
import { hashChannelKey } from './keys.js';
import type { Channel, ChannelKey } from './model.js';

function fakeStore(channels: Channel[], keys: ChannelKey[]) {
  const reads = { keys: 0, channels: 0 };
  return {
    reads,
    channels,
    keys,
    findKey: (hash: string) => {
      reads.keys++;
      return Promise.resolve(keys.find((k) => k.keyHash === hash));
    },
    getChannel: (id: number) => {
      reads.channels++;
      const c = channels.find((x) => x.id === id);
      return Promise.resolve(c && { ...c });
    },
  };
}

const channel = (id: number, lastEntryId = 0): Channel =>
  ({ id, tenantId: 't', name: `c${id}`, lastEntryId, lastUpdateAt: null }) as unknown as Channel;
const key = (channelId: number, clear: string): ChannelKey => ({
  channelId,
  kind: 'write',
  keyHash: hashChannelKey(clear),
  sealed: '',
  createdAt: 0,
});

describe('ChannelCache', () => {
  it('reads a key and its channel once within the TTL, again after it', async () => {
    let now = 1000;
    const store = fakeStore([channel(1)], [key(1, 'h1')]);
    const cache = new ChannelCache(store, () => now, 5000);
    for (let i = 0; i < 3; i++) {
      assert.equal((await cache.key('h1'))?.channelId, 1);
      assert.equal((await cache.channel(1))?.id, 1);
    }
    assert.deepEqual(store.reads, { keys: 1, channels: 1 });
    now += 5001;
    await cache.key('h1');
    await cache.channel(1);
    assert.deepEqual(store.reads, { keys: 2, channels: 2 });
  });

  it('does not remember misses: a key created meanwhile is found at once', async () => {
    const store = fakeStore([channel(1)], []);
    const cache = new ChannelCache(store, () => 0);
    assert.equal(await cache.key('h1'), undefined);
    store.keys.push(key(1, 'h1'));
    assert.equal((await cache.key('h1'))?.channelId, 1);
  });

  it('follows entries stored here: the newest entry id wins whatever order appends finish in', async () => {
    const store = fakeStore([channel(1, 4)], []);
    const cache = new ChannelCache(store, () => 0);
    const loaded = await cache.channel(1);
    cache.noteEntry(1, 6, 600);
    cache.noteEntry(1, 5, 500);
    const c = await cache.channel(1);
    assert.deepEqual([c?.lastEntryId, c?.lastUpdateAt], [6, 600]);
    assert.equal(store.reads.channels, 1);
    // The cache moved its own copy: the channel handed out on the load (a caller may hold it) is as it was.
    assert.equal(loaded?.lastEntryId, 4);
  });

  it('forgets a channel and every key of it', async () => {
    const store = fakeStore([channel(1), channel(2)], [key(1, 'a'), key(1, 'b'), key(2, 'c')]);
    const cache = new ChannelCache(store, () => 0);
    for (const h of ['a', 'b', 'c']) await cache.key(h);
    await cache.channel(1);
    cache.forget(1);
    store.channels.splice(0, 1);
    store.keys.splice(0, 2);
    assert.equal(await cache.key('a'), undefined);
    assert.equal(await cache.key('b'), undefined);
    assert.equal(await cache.channel(1), undefined);
    assert.equal((await cache.key('c'))?.channelId, 2);
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const store = fakeStore(
      [1, 2, 3].map((id) => channel(id)),
      [],
    );
    const cache = new ChannelCache(store, () => 0, 5000, 2);
    for (const id of [1, 2, 3]) await cache.channel(id);
    assert.equal(store.reads.channels, 3);
    await cache.channel(3);
    await cache.channel(2);
    assert.equal(store.reads.channels, 3);
    await cache.channel(1);
    assert.equal(store.reads.channels, 4);
  });
});
