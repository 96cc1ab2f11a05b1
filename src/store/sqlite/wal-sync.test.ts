import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isHalyardError } from '../../core/errors.js';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { SqliteFile } from './sqlite-file.js';
import { WalSync } from './wal-sync.js';

/** A sync function the test finishes by hand, recording which descriptor each sync got. */
function manualSync() {
  const calls: { fd: number; finish: () => void; fail: (err: Error) => void }[] = [];
  const sync = (fd: number) =>
    new Promise<void>((resolve, reject) => calls.push({ fd, finish: resolve, fail: reject }));
  return { calls, sync };
}

/** Settles pending promise callbacks and the thread pool's open/fsync of the directory. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond(), 'condition never became true');
}

function walFile(): string {
  const path = join(tempDir('halyard-walsync-'), 'x.db-wal');
  writeFileSync(path, 'frames');
  return path;
}

describe('WalSync', () => {
  it('resolves a caller only after a sync that began after its call', async () => {
    const { calls, sync } = manualSync();
    const wal = new WalSync(walFile(), sync);
    const settled: string[] = [];
    const first = wal.durable().then(() => settled.push('first'));
    await until(() => calls.length === 1);
    // These two came while the first sync ran: their commits may postdate it.
    const second = wal.durable().then(() => settled.push('second'));
    const third = wal.durable().then(() => settled.push('third'));
    calls[0].finish();
    await first;
    assert.deepEqual(settled, ['first']);
    await until(() => calls.length === 2);
    assert.deepEqual(settled, ['first'], 'the later callers wait for the second sync');
    calls[1].finish();
    await Promise.all([second, third]);
    assert.deepEqual(settled, ['first', 'second', 'third']);
    assert.equal(calls.length, 2, 'the two later callers shared one sync');
    assert.equal(calls[0].fd, calls[1].fd, 'one descriptor for the file');
    await wal.close();
  });

  it('fails the callers of a failed sync with the file named, and the next sync goes on', async () => {
    const { calls, sync } = manualSync();
    const path = walFile();
    const wal = new WalSync(path, sync);
    const failed = wal.durable();
    await until(() => calls.length === 1);
    calls[0].fail(new Error('EIO: i/o error'));
    await assert.rejects(failed, (err: unknown) => {
      assert.ok(isHalyardError(err, 'STORE_FAILURE'));
      assert.match(err.message, /could not sync .*x\.db-wal: EIO/);
      return true;
    });
    const next = wal.durable();
    await until(() => calls.length === 2);
    calls[1].finish();
    await next;
    await wal.close();
  });

  it('syncs a real file, and refuses once closed', async () => {
    const wal = new WalSync(walFile());
    await wal.durable();
    await wal.durable();
    await wal.close();
    await assert.rejects(wal.durable(), (err: unknown) => isHalyardError(err, 'STORE_FAILURE'));
  });

  it('fails with STORE_FAILURE when the WAL file is not there', async () => {
    const wal = new WalSync(join(tempDir('halyard-walsync-'), 'missing.db-wal'));
    await assert.rejects(wal.durable(), /could not sync .*missing\.db-wal: ENOENT/);
    await wal.close();
  });
});

describe('SqliteFile', () => {
  const schema = {
    name: 'test',
    migrations: [
      { version: 1, description: 'one table', up: (db: Database.Database) => db.exec('CREATE TABLE t (v)') },
    ],
  };

  it('commits with synchronous=NORMAL and a write is on disk when it resolves', async () => {
    const path = join(tempDir('halyard-sqlitefile-'), 'f.db');
    const file = SqliteFile.open(path, schema);
    assert.equal(
      file.db.pragma('synchronous', { simple: true }),
      1,
      'NORMAL: the WAL is synced off the event loop',
    );
    const changes = await file.write(
      'insert',
      () => file.statement('INSERT INTO t VALUES (?)').run(42).changes,
    );
    assert.equal(changes, 1);
    // A second connection reads the committed row while the first is still open.
    const other = new Database(path, { readonly: true });
    assert.deepEqual(other.prepare('SELECT v FROM t').pluck().all(), [42]);
    other.close();
    await file.close();
  });

  it('turns a failed statement into STORE_FAILURE naming the file and what was being done', async () => {
    const path = join(tempDir('halyard-sqlitefile-'), 'f.db');
    const file = SqliteFile.open(path, schema);
    await assert.rejects(
      file.write('insert a row', () => file.statement('INSERT INTO nowhere VALUES (1)').run()),
      (err: unknown) => {
        assert.ok(isHalyardError(err, 'STORE_FAILURE'));
        assert.match(err.message, /^could not insert a row: no such table: nowhere/);
        assert.equal(err.context.path, path);
        return true;
      },
    );
    await file.close();
  });
});
