/**
 * ThingSpeak channel store measurement (not a test): `node dist/bench/channel-store.js`
 * after `npm run build`.
 *
 * Appends in `/update`'s shape, groups of 64 entries over 16 channels (the
 * `thingspeak-update` scenario's 64 connections on 16 channels), straight
 * through the SQLite store (synchronous=NORMAL: the commit's cost, not the
 * disk's), with the recent entries folded at 1,024, 4,096 and (never until the
 * end) a billion: µs per entry, folds included. Then the latency of a read
 * that folds 4,096 recent entries first (12 times): what a group or a read
 * that runs a fold waits for.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteChannelStore } from '../src/thingspeak/sqlite/channel-store.js';
import type { GroupAppend } from '../src/thingspeak/store.js';
import { entry, newChannel } from '../src/thingspeak/store-suite/fixtures.js';

const GROUP = 64;
const CHANNELS = 16;
const GROUPS = 6_000;

async function openWithChannels(dir: string, foldAtEntries: number) {
  const store = SqliteChannelStore.open(join(dir, 'thingspeak.db'), { synchronous: 'normal', foldAtEntries });
  const ids: number[] = [];
  for (let i = 0; i < CHANNELS; i++) {
    const c = await store.createChannel(newChannel({ tenantId: 'bench', name: `channel ${i}` }));
    ids.push(c.id);
  }
  let n = 0;
  /** The next group: every channel's entries later than all before (as server times are). */
  const group = (): GroupAppend[] =>
    Array.from({ length: GROUP }, () => {
      const at = 1_700_000_000_000 + n;
      const e = entry(ids[n % CHANNELS], at, { field1: String(n), field2: String(2 * n) });
      n++;
      return { entry: e, at, merge: false };
    });
  return { store, ids, group };
}

async function appendCost(foldAtEntries: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-bench-channels-'));
  const { store, ids, group } = await openWithChannels(dir, foldAtEntries);
  try {
    for (let i = 0; i < 500; i++) await store.appendGroup(group()); // warm-up
    await store.lastEntry(ids[0]); // folds the warm-up
    const start = performance.now();
    for (let i = 0; i < GROUPS; i++) await store.appendGroup(group());
    await store.lastEntry(ids[0]); // the last fold counts too
    const us = ((performance.now() - start) * 1000) / (GROUPS * GROUP);
    return `fold at ${foldAtEntries.toLocaleString('en-US')}: ${us.toFixed(2)} µs an entry`;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function foldLatency(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-bench-channels-'));
  const { store, ids, group } = await openWithChannels(dir, 1e9);
  try {
    const ms: number[] = [];
    for (let round = 0; round < 12; round++) {
      for (let i = 0; i < 4096 / GROUP; i++) await store.appendGroup(group());
      const start = performance.now();
      await store.lastEntry(ids[0]);
      ms.push(performance.now() - start);
    }
    ms.sort((a, b) => a - b);
    return `a read after 4,096 appends (its fold included), 12 times: min ${ms[0].toFixed(1)} ms, median ${ms[6].toFixed(1)} ms, max ${ms[11].toFixed(1)} ms`;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `SQLite channel store, groups of ${GROUP} over ${CHANNELS} channels, ${GROUPS.toLocaleString('en-US')} groups:`,
);
for (const foldAt of [1024, 4096, 1e9]) console.log(`  ${await appendCost(foldAt)}`);
console.log(`  ${await foldLatency()}`);
