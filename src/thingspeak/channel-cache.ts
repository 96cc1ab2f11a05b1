import { hashChannelKey } from './keys.js';
import type { Channel, ChannelKey } from './model.js';
import type { ChannelStore } from './store.js';

interface Cached<T> {
  value: T;
  loadedAt: number;
}

/**
 * Keys and channels as every `/update` needs them, kept in memory: without it
 * each update costs two store reads before its write. Changes made through
 * this process reach the cache at once (`put`, `forget`, `noteEntry`); those of
 * other nodes sharing the database are seen within `ttlMs`. Misses are not
 * remembered, so a key created elsewhere works at once. Bounded: the oldest
 * entries go first. Keys are found by the key as given, so a known key costs
 * no hashing; the process can open every key anyway (keys.ts), so holding
 * them adds nothing to what it holds.
 *
 * The channels it hands out are its own copies, and `noteEntry` moves their
 * last entry id and update time in place (a copy per update cost more than
 * the rest of the lookup): read them, do not keep them.
 */
export class ChannelCache {
  /** By the key in clear. */
  private readonly keys = new Map<string, Cached<ChannelKey>>();
  private readonly channels = new Map<number, Cached<Channel>>();

  constructor(
    private readonly store: Pick<ChannelStore, 'findKey' | 'getChannel'>,
    private readonly now: () => number,
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 10_000,
  ) {}

  async key(clear: string): Promise<ChannelKey | undefined> {
    const hit = this.fresh(this.keys, clear);
    if (hit) return hit;
    const key = await this.store.findKey(hashChannelKey(clear));
    if (key) this.remember(this.keys, clear, key);
    return key;
  }

  async channel(id: number): Promise<Channel | undefined> {
    const hit = this.fresh(this.channels, id);
    if (hit) return hit;
    const channel = await this.store.getChannel(id);
    if (channel) this.put(channel);
    return channel;
  }

  /** The channel as it now is (after a settings change made here). */
  put(channel: Channel): void {
    this.remember(this.channels, channel.id, { ...channel });
  }

  /** A stored entry: later reads see its id and time without asking the store. */
  noteEntry(channelId: number, entryId: number, at: number): void {
    const cached = this.channels.get(channelId);
    // Appends finish in any order; the newest id wins.
    if (cached && entryId > cached.value.lastEntryId) {
      cached.value.lastEntryId = entryId;
      cached.value.lastUpdateAt = at;
    }
  }

  /** The channel and its keys are gone or changed in a way the cache cannot follow (deleted, cleared). */
  forget(channelId: number): void {
    this.channels.delete(channelId);
    for (const [clear, key] of this.keys) if (key.value.channelId === channelId) this.keys.delete(clear);
  }

  private fresh<K, T>(map: Map<K, Cached<T>>, k: K): T | undefined {
    const hit = map.get(k);
    if (!hit) return undefined;
    if (this.now() - hit.loadedAt <= this.ttlMs) return hit.value;
    map.delete(k);
    return undefined;
  }

  private remember<K, T>(map: Map<K, Cached<T>>, k: K, value: T): void {
    map.delete(k); // re-inserted last: Map order is age order
    map.set(k, { value, loadedAt: this.now() });
    if (map.size > this.maxEntries) map.delete(map.keys().next().value as K);
  }
}
