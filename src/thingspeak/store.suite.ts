import { afterEach, beforeEach, describe } from 'node:test';
import type { ChannelStore } from './store.js';
import { channelTests } from './store-suite/channels.js';
import { entryTests } from './store-suite/entries.js';
import type { SuiteContext } from './store-suite/fixtures.js';

export interface OpenedChannelStore {
  store: ChannelStore;
  cleanup?: () => Promise<void>;
}

/** The behaviour every ChannelStore must show (store.ts), run against SQLite and PostgreSQL. */
export function describeChannelStoreConformance(
  name: string,
  open: () => Promise<OpenedChannelStore>,
  options: { skip?: string } = {},
): void {
  describe(`ChannelStore conformance: ${name}`, { skip: options.skip }, () => {
    const ctx = {} as SuiteContext;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const opened = await open();
      ctx.store = opened.store;
      cleanup = opened.cleanup;
    });
    afterEach(async () => {
      await ctx.store.close();
      await cleanup?.();
    });
    describe('channels and keys', () => channelTests(ctx));
    describe('entries', () => entryTests(ctx));
  });
}
