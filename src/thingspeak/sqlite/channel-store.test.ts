import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { countRows, capturingLogger } from '../../../test/helpers/sqlite.js';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { describeChannelStoreConformance } from '../store.suite.js';
import { append, entry, newChannel, T0 } from '../store-suite/fixtures.js';
import { openSqliteDatabase } from '../../store/sqlite/open-database.js';
import { SqliteChannelStore, type SqliteChannelStoreOptions } from './channel-store.js';
import { THINGSPEAK_MIGRATIONS } from './migrations.js';

const tempDbPath = () => join(tempDir('halyard-thingspeak-'), 'thingspeak.db');
const recent = (path: string) => countRows(path, 'thingspeak_recent_entries');
const openStore = (opts: SqliteChannelStoreOptions = {}, path = tempDbPath()) =>
  SqliteChannelStore.open(path, { synchronous: 'normal', ...opts });

// Twice, for the two tables an entry may be in (channel-store.ts, "Recent entries"). As configured by
// default: at these sizes entries stay recent until a read or an earlier created_at folds them.
describeChannelStoreConformance('sqlite', () => Promise.resolve({ store: openStore() }));
// Folded after every append.
describeChannelStoreConformance('sqlite, folded after each append', () =>
  Promise.resolve({ store: openStore({ foldAtEntries: 1 }) }),
);

describe('the SQLite channel store', () => {
  const folded = (path: string) => countRows(path, 'thingspeak_entries');

  it('appends the latest entries as recent and folds them at the threshold, before a read, and at open', async () => {
    const path = tempDbPath();
    const store = openStore({ foldAtEntries: 3 }, path);
    const c = await store.createChannel(newChannel());
    await append(store, entry(c.id, T0, { field1: '1' }), T0);
    await append(store, entry(c.id, T0 + 1, { field1: '2' }), T0);
    assert.deepEqual([recent(path), folded(path)], [2, 0]);
    await append(store, entry(c.id, T0 + 2, { field1: '3' }), T0);
    assert.deepEqual([recent(path), folded(path)], [0, 3], 'folded at 3');
    await append(store, entry(c.id, T0 + 3, { field1: '4' }), T0);
    assert.equal(recent(path), 1);
    assert.equal((await store.lastEntry(c.id))?.fields.field1, '4');
    assert.deepEqual([recent(path), folded(path)], [0, 4], 'folded by the read');
    await append(store, entry(c.id, T0 + 4, { field1: '5' }), T0);
    await store.close();
    assert.equal(recent(path), 1, 'left recent by the close');
    const reopened = openStore({ foldAtEntries: 3 }, path);
    try {
      assert.deepEqual([recent(path), folded(path)], [0, 5], 'folded at open');
      const entries = await reopened.entries({ channelId: c.id, limit: 10 });
      assert.deepEqual(
        entries.map((e) => [e.entryId, e.fields.field1]),
        [
          [1, '1'],
          [2, '2'],
          [3, '3'],
          [4, '4'],
          [5, '5'],
        ],
      );
      assert.equal((await append(reopened, entry(c.id, T0 + 5, {}), T0)).entryId, 6);
    } finally {
      await reopened.close();
    }
  });

  it('finds a recent entry for an append at an earlier or equal created_at (conflict, merge)', async () => {
    const path = tempDbPath();
    const store = openStore({}, path);
    try {
      const c = await store.createChannel(newChannel());
      await append(store, entry(c.id, T0, { field1: 'a' }), T0);
      await append(store, entry(c.id, T0 + 10, { field1: 'b' }), T0);
      assert.equal(recent(path), 2);
      await assert.rejects(append(store, entry(c.id, T0, { field1: 'again' }), T0), { code: 'CONFLICT' });
      await append(store, entry(c.id, T0 + 20, { field1: 'c' }), T0);
      assert.equal(recent(path), 1, 'the earlier append folded the two before it');
      const merged = await append(store, entry(c.id, T0 + 20, { field2: 'x' }), T0, true);
      assert.deepEqual([merged.entryId, merged.fields.field1, merged.fields.field2], [3, 'c', 'x']);
      const between = await append(store, entry(c.id, T0 + 5, { field1: 'between' }), T0);
      assert.equal(between.entryId, 4, 'the next entry id, whatever its time');
      assert.equal((await store.getChannel(c.id))?.lastEntryId, 4);
    } finally {
      await store.close();
    }
  });

  it('keeps appending correctly after a group that failed as a whole', async () => {
    const path = tempDbPath();
    const store = openStore({ foldAtEntries: 3 }, path);
    try {
      const c = await store.createChannel(newChannel());
      await append(store, entry(c.id, T0, { field1: '1' }), T0);
      // A value SQLite cannot bind fails the group after its first append went in.
      const unbindable = { field1: {} as unknown as string };
      await assert.rejects(
        store.appendGroup([
          { entry: entry(c.id, T0 + 1, { field1: '2' }), at: T0, merge: false },
          { entry: entry(c.id, T0 + 2, unbindable), at: T0, merge: false },
        ]),
        { code: 'STORE_FAILURE' },
      );
      assert.equal(recent(path), 1);
      await append(store, entry(c.id, T0 + 1, { field1: '2' }), T0);
      assert.equal(recent(path), 2, 'counted from the file again: not folded early');
      await append(store, entry(c.id, T0 + 2, { field1: '3' }), T0);
      assert.deepEqual([recent(path), folded(path)], [0, 3]);
      assert.deepEqual(
        (await store.entries({ channelId: c.id, limit: 10 })).map((e) => e.entryId),
        [1, 2, 3],
      );
    } finally {
      await store.close();
    }
  });

  it('logs a fold that fails once, keeps the entries, and folds them once it can', async () => {
    const path = tempDbPath();
    const { logger, lines, firstError } = capturingLogger();
    const store = openStore({ foldAtEntries: 2, logger }, path);
    const side = new Database(path);
    try {
      const c = await store.createChannel(newChannel());
      await append(store, entry(c.id, T0, { field1: '1' }), T0);
      // The fold's insert meets a trigger that refuses it.
      side.exec(`CREATE TRIGGER refuse BEFORE INSERT ON thingspeak_entries
        BEGIN SELECT RAISE(ABORT, 'no folding today'); END`);
      assert.equal((await append(store, entry(c.id, T0 + 1, { field1: '2' }), T0)).entryId, 2);
      const line = await firstError;
      assert.equal(line.msg, 'could not fold recent channel entries; retrying');
      assert.match(String((line.err as { message: string }).message), /no folding today/);
      assert.equal(recent(path), 2);
      await append(store, entry(c.id, T0 + 2, { field1: '3' }), T0);
      assert.equal(recent(path), 3, 'the fold after the next group failed too');
      await assert.rejects(store.lastEntry(c.id), { code: 'STORE_FAILURE', message: /no folding today/ });
      side.exec('DROP TRIGGER refuse');
      await append(store, entry(c.id, T0 + 3, { field1: '4' }), T0);
      assert.deepEqual([recent(path), folded(path)], [0, 4]);
      assert.deepEqual(
        lines
          .filter((l) => l.level !== 30 || l.msg === 'recent channel entries fold again')
          .map((l) => l.msg),
        ['could not fold recent channel entries; retrying', 'recent channel entries fold again'],
        'one error for the two failed folds, then the recovery',
      );
    } finally {
      side.close();
      await store.close();
    }
  });

  it('clears and deletes recent entries with their channel', async () => {
    const path = tempDbPath();
    const store = openStore({}, path);
    try {
      const c = await store.createChannel(newChannel());
      const d = await store.createChannel(newChannel());
      for (const id of [c.id, d.id]) await append(store, entry(id, T0, { field1: String(id) }), T0);
      await store.clearEntries(c.id);
      assert.equal(await store.lastEntry(c.id), undefined);
      // A cleared channel starts again at entry 1, at any time.
      assert.equal((await append(store, entry(c.id, T0 - 1000, {}), T0)).entryId, 1);
      await append(store, entry(d.id, T0 + 1, {}), T0);
      await store.deleteChannel(d.id);
      assert.deepEqual([recent(path), folded(path)], [0, 1], "only the cleared channel's new entry is left");
    } finally {
      await store.close();
    }
  });
});

describe('the SQLite channel store schema', () => {
  it('takes a version-1 file to the current version with every channel mirrored up to its last entry', async () => {
    const path = tempDbPath();
    const v1 = openSqliteDatabase(path, {
      name: 'thingspeak',
      migrations: THINGSPEAK_MIGRATIONS.slice(0, 1),
    });
    v1.prepare(
      `INSERT INTO thingspeak_channels (tenant_id, name, fields, tags, public_flag, min_update_interval,
         created_at, updated_at, last_entry_id) VALUES ('t1', 'old', '{}', '[]', 0, 0, 0, 0, 2)`,
    ).run();
    const insert = v1.prepare(
      'INSERT INTO thingspeak_entries (channel_id, entry_id, created_at, field1) VALUES (1, ?, ?, ?)',
    );
    insert.run(1, 1000, 'a');
    insert.run(2, 2000, 'b');
    v1.close();
    const store = openStore({}, path);
    try {
      // Entries written before the upgrade were mirrored when they were answered: nothing to recover.
      assert.deepEqual(await store.unmirroredEntries(10), []);
      assert.equal((await store.getChannel(1))?.lastEntryId, 2);
      // The next entry goes after them, recent.
      assert.equal((await append(store, entry(1, 3000, {}), 3000)).entryId, 3);
      assert.equal(recent(path), 1);
    } finally {
      await store.close();
    }
  });
});
