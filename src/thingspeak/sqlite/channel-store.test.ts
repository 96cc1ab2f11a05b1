import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { describeChannelStoreConformance } from '../store.suite.js';
import { openSqliteDatabase } from '../../store/sqlite/open-database.js';
import { SqliteChannelStore } from './channel-store.js';
import { THINGSPEAK_MIGRATIONS } from './migrations.js';

describeChannelStoreConformance('sqlite', () =>
  Promise.resolve({
    store: SqliteChannelStore.open(join(tempDir('halyard-thingspeak-'), 'thingspeak.db'), {
      synchronous: 'normal',
    }),
  }),
);

describe('the SQLite channel store schema', () => {
  it('takes a version-1 file to version 2 with every channel mirrored up to its last entry', async () => {
    const path = join(tempDir('halyard-thingspeak-'), 'thingspeak.db');
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
    const store = SqliteChannelStore.open(path, { synchronous: 'normal' });
    try {
      // Entries written before the upgrade were mirrored when they were answered: nothing to recover.
      assert.deepEqual(await store.unmirroredEntries(10), []);
      assert.equal((await store.getChannel(1))?.lastEntryId, 2);
    } finally {
      await store.close();
    }
  });
});
