import { describe } from 'node:test';
import { describeStoreConformance, type OpenedStore } from '../store/conformance-harness.js';
import type { ChannelStore } from './store.js';
import { channelTests } from './store-suite/channels.js';
import { entryTests } from './store-suite/entries.js';

export type OpenedChannelStore = OpenedStore<ChannelStore>;

/** The behaviour every ChannelStore must show (store.ts), run against SQLite and PostgreSQL. */
export function describeChannelStoreConformance(
  name: string,
  open: () => Promise<OpenedChannelStore>,
  options: { skip?: string } = {},
): void {
  describeStoreConformance(`ChannelStore conformance: ${name}`, open, options, (ctx) => {
    describe('channels and keys', () => channelTests(ctx));
    describe('entries', () => entryTests(ctx));
  });
}
