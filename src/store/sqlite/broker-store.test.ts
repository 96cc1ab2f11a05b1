import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isHalyardError } from '../../core/errors.js';
import { describeBrokerStoreConformance } from '../broker-store.suite.js';
import type { StoredOutbound, StoreOp } from '../broker-store.js';
import { SqliteBrokerStore } from './broker-store.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A database path in a fresh temp dir, one level down so that open() must create the parent. */
function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-sqlite-'));
  dirs.push(dir);
  return join(dir, 'data', 'broker.db');
}

describeBrokerStoreConformance('sqlite', () => {
  const path = tempDbPath();
  return Promise.resolve({
    store: SqliteBrokerStore.open(path),
    reopen: () => Promise.resolve(SqliteBrokerStore.open(path)),
  });
});

function entry(seq: number, payload: Buffer): StoredOutbound {
  const message = {
    topic: `devices/${seq % 100}/telemetry`,
    payload,
    qos: 1 as const,
    retain: false,
    origin: 'd',
  };
  return { seq, clientId: `client-${seq % 50}`, message, qos: 1, retain: false, state: 'queued' };
}

describe('SqliteBrokerStore', () => {
  it('opens in WAL mode', async () => {
    const path = tempDbPath();
    await SqliteBrokerStore.open(path, { synchronous: 'normal' }).close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('has made the batch durable when done is called: another connection sees it', async () => {
    const path = tempDbPath();
    const store = SqliteBrokerStore.open(path);
    const reader = new Database(path, { readonly: true });
    try {
      const count = await new Promise<number>((resolve, reject) =>
        store.submit([{ op: 'outbound.put', entry: entry(1, Buffer.from('x')) }], (err) =>
          err
            ? reject(err)
            : resolve((reader.prepare('SELECT count(*) AS n FROM outbound').get() as { n: number }).n),
        ),
      );
      assert.equal(count, 1);
    } finally {
      reader.close();
      await store.close();
    }
  });

  it('fails only the submit whose op is invalid; the rest of the batch commits', async () => {
    const store = SqliteBrokerStore.open(tempDbPath());
    const bad = { op: 'retained.put', message: { topic: null } } as unknown as StoreOp;
    const results = await Promise.all(
      [
        [{ op: 'inbound.put', clientId: 'a', packetId: 1 } as StoreOp],
        [bad],
        [{ op: 'inbound.put', clientId: 'b', packetId: 2 } as StoreOp],
      ].map((ops) => new Promise<Error | undefined>((resolve) => store.submit(ops, resolve))),
    );
    assert.equal(results[0], undefined);
    assert.ok(isHalyardError(results[1], 'STORE_FAILURE'));
    assert.equal(results[2], undefined);
    assert.equal((await store.load()).inbound.length, 2);
    assert.equal(store.commits, 1);
    await store.close();
  });

  it('reports an unopenable path as STORE_FAILURE', async () => {
    const file = tempDbPath();
    await SqliteBrokerStore.open(file).close();
    // Its parent directory would have to be a regular file.
    assert.throws(
      () => SqliteBrokerStore.open(join(file, 'broker.db')),
      (err) => isHalyardError(err, 'STORE_FAILURE'),
    );
  });

  it('commits 10,000 outbound.put ops submitted in one turn as one batch', async () => {
    const store = SqliteBrokerStore.open(tempDbPath());
    const payload = Buffer.alloc(200, 7);
    for (let seq = 1; seq <= 10_000; seq++)
      store.submit([{ op: 'outbound.put', entry: entry(seq, payload) }]);
    const commitsBefore = store.commits;
    await store.flush();
    assert.equal(store.commits - commitsBefore, 1);
    const state = await store.load();
    await store.close();
    assert.equal(state.outbound.length, 10_000);
    assert.equal(state.maxSeq, 10_000);
  });
});
