import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { isHalyardError } from '../../core/errors.js';
import { migrate, schemaVersion } from '../../store/sqlite/migrations.js';
import { describeRegistryStoreConformance } from '../store.suite.js';
import { auditEntry, device, user } from '../store-suite/fixtures.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';
import { SqliteRegistryStore } from './registry-store.js';

/** A database path one level below a fresh temp dir, so that open() must create the parent. */
const tempDbPath = () => join(tempDir('halyard-registry-'), 'data', 'registry.db');

describeRegistryStoreConformance('sqlite', () => {
  const path = tempDbPath();
  return Promise.resolve({
    store: SqliteRegistryStore.open(path),
    reopen: () => Promise.resolve(SqliteRegistryStore.open(path)),
  });
});

describe('SqliteRegistryStore', () => {
  it('opens in WAL mode and enforces foreign keys', async () => {
    const path = tempDbPath();
    const store = SqliteRegistryStore.open(path, { synchronous: 'normal' });
    assert.equal(store.dialect, 'sqlite');
    await store.close();
    const db = new Database(path);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(schemaVersion(db), REGISTRY_MIGRATIONS.length);
    db.close();
  });

  it('upgrades a database at version 1 straight to the latest, keeping its rows', async () => {
    const path = join(tempDir('halyard-registry-'), 'registry.db');
    const db = new Database(path);
    assert.deepEqual(migrate(db, REGISTRY_MIGRATIONS.slice(0, 1)), { from: 0, to: 1 });
    db.prepare(
      `INSERT INTO tenants (id, name, max_connections, created_at) VALUES ('t1', 'One', 3, 5)`,
    ).run();
    db.close();

    const store = SqliteRegistryStore.open(path);
    try {
      assert.deepEqual(await store.getTenant('t1'), {
        id: 't1',
        name: 'One',
        maxConnections: 3,
        retentionDays: 0,
        keyRetentionDays: {},
        createdAt: 5,
      });
      await store.createUser(user('u1'));
      await store.createDevice(device('d1', { tags: ['new-schema'] }));
      assert.equal((await store.listDevices({ tag: 'new-schema' })).total, 1);
      assert.equal((await store.appendAudit(auditEntry())).id, 1);
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    assert.equal(schemaVersion(check), REGISTRY_MIGRATIONS.length);
    check.close();
  });

  it('refuses a database written by a newer Halyard', async () => {
    const path = tempDbPath();
    await SqliteRegistryStore.open(path).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(
      () => SqliteRegistryStore.open(path),
      (err) => isHalyardError(err, 'STORE_FAILURE') && err.context.schemaVersion === 99,
    );
  });

  it('reports an unopenable path as STORE_FAILURE', async () => {
    const file = tempDbPath();
    await SqliteRegistryStore.open(file).close();
    // Its parent directory would have to be a regular file.
    assert.throws(
      () => SqliteRegistryStore.open(join(file, 'registry.db')),
      (err) => isHalyardError(err, 'STORE_FAILURE'),
    );
  });

  it('numbers its migrations 1, 2, 3, …', () => {
    assert.deepEqual(
      REGISTRY_MIGRATIONS.map((m) => m.version),
      REGISTRY_MIGRATIONS.map((_, i) => i + 1),
    );
  });
});
