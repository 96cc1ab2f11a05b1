import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHalyardError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { TelemetryIngest } from './ingest.js';
import type { DataPoint } from './model.js';
import type { TelemetryStore } from './store.js';

/** A store whose writes finish when the test says so, recording each transaction. */
function gatedStore() {
  const transactions: DataPoint[][] = [];
  const gates: Array<{ open: () => void; fail: (err: Error) => void }> = [];
  const store = {
    dialect: 'sqlite',
    write: (points: readonly DataPoint[]) =>
      new Promise<void>((resolve, reject) => {
        transactions.push([...points]);
        gates.push({ open: resolve, fail: reject });
      }),
  } as unknown as TelemetryStore;
  const nextGate = async () => {
    while (gates.length === 0) await new Promise<void>((r) => setImmediate(r));
    return gates.shift() as { open: () => void; fail: (err: Error) => void };
  };
  return { store, transactions, nextGate };
}

const point = (i: number): DataPoint => ({ tenantId: 't', seriesId: 'd', key: 'k', ts: i, value: i });

describe('TelemetryIngest', () => {
  it('commits everything accepted in one turn together, and resolves only after the commit', async () => {
    const { store, transactions, nextGate } = gatedStore();
    const ingest = new TelemetryIngest({ store, logger: silentLogger() });
    let resolved = 0;
    const accepted = [0, 1, 2].map((i) => ingest.accept([point(i)]).then(() => resolved++));
    const gate = await nextGate();
    assert.equal(transactions.length, 1);
    assert.equal(transactions[0].length, 3);
    assert.equal(resolved, 0, 'nothing is acknowledged before the commit');
    gate.open();
    await Promise.all(accepted);
    assert.equal(resolved, 3);
    assert.deepEqual(ingest.stats, { pointsWritten: 3, transactions: 1, rejectedBusy: 0, pointsFailed: 0 });
  });

  it('groups what arrives during a write into the next transaction', async () => {
    const { store, transactions, nextGate } = gatedStore();
    const ingest = new TelemetryIngest({ store, logger: silentLogger() });
    const first = ingest.accept([point(0)]);
    const gate = await nextGate();
    const later = [1, 2, 3, 4].map((i) => ingest.accept([point(i)]));
    gate.open();
    await first;
    (await nextGate()).open();
    await Promise.all(later);
    assert.deepEqual(
      transactions.map((t) => t.length),
      [1, 4],
    );
  });

  it('refuses with QUOTA_EXCEEDED beyond maxPendingPoints, and accepts again once drained', async () => {
    const { store, nextGate } = gatedStore();
    const ingest = new TelemetryIngest({ store, logger: silentLogger(), maxPendingPoints: 5 });
    const inFlight = ingest.accept([0, 1, 2].map(point));
    const gate = await nextGate(); // 3 points in flight, no longer pending
    const waiting = ingest.accept([3, 4, 5, 6, 7].map(point));
    await assert.rejects(ingest.accept([point(8)]), (err) => isHalyardError(err, 'QUOTA_EXCEEDED'));
    assert.equal(ingest.stats.rejectedBusy, 1);
    gate.open();
    await inFlight;
    (await nextGate()).open();
    await waiting;
    assert.equal(ingest.pending, 0);
    const again = ingest.accept([point(9)]);
    (await nextGate()).open();
    await again;
  });

  it('rejects the waiting accepts of a failed transaction, and goes on with later ones', async () => {
    const { store, nextGate } = gatedStore();
    const ingest = new TelemetryIngest({ store, logger: silentLogger() });
    const doomed = ingest.accept([point(0)]);
    (await nextGate()).fail(new Error('disk full'));
    await assert.rejects(doomed, /disk full/);
    const fine = ingest.accept([point(1)]);
    (await nextGate()).open();
    await fine;
    assert.equal(ingest.stats.pointsFailed, 1);
    assert.equal(ingest.stats.pointsWritten, 1);
  });

  it('splits a backlog larger than maxBatchPoints into several transactions of whole messages', async () => {
    const { store, transactions, nextGate } = gatedStore();
    const ingest = new TelemetryIngest({ store, logger: silentLogger(), maxBatchPoints: 4 });
    const all = [0, 1, 2].map((m) => ingest.accept([0, 1, 2].map((i) => point(m * 3 + i))));
    for (let i = 0; i < 3; i++) (await nextGate()).open();
    await Promise.all(all);
    assert.deepEqual(
      transactions.map((t) => t.length),
      [3, 3, 3],
    );
  });

  it('writeNow writes at once outside the queue, announces, counts, and refuses once closed', async () => {
    const { store, transactions, nextGate } = gatedStore();
    const ingest = new TelemetryIngest({ store, logger: silentLogger() });
    const heard: number[] = [];
    ingest.on('accepted', (points) => heard.push(points.length));
    let durable = false;
    const written = ingest.writeNow([point(1), point(2)]).then(() => (durable = true));
    assert.equal(transactions.length, 1, 'written in this turn, not at the next drain');
    assert.deepEqual(heard, [2]);
    const gate = await nextGate();
    assert.equal(durable, false);
    gate.open();
    await written;
    assert.equal(ingest.stats.pointsWritten, 2);
    assert.equal(ingest.stats.transactions, 1);
    const failing = ingest.writeNow([point(3)]);
    (await nextGate()).fail(new Error('disk full'));
    await assert.rejects(failing, /disk full/);
    assert.equal(ingest.stats.pointsFailed, 1);
    await ingest.close();
    await assert.rejects(ingest.writeNow([point(4)]), (err) => isHalyardError(err, 'STORE_FAILURE'));
  });
});
