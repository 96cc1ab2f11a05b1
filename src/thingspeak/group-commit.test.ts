import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCommit, type Settled } from './group-commit.js';

/** A writer that records its groups; each write finishes when the test says so (or at once). */
function recorder(opts: { hold?: boolean } = {}) {
  const groups: number[][] = [];
  const release: Array<() => void> = [];
  const write = (items: readonly number[]): Promise<Settled<string>[]> => {
    groups.push([...items]);
    const outcomes = items.map((n): Settled<string> =>
      n < 0 ? { error: new Error(`bad ${n}`) } : { value: `ok ${n}` },
    );
    if (!opts.hold) return Promise.resolve(outcomes);
    return new Promise((resolve) => release.push(() => resolve(outcomes)));
  };
  return { groups, release, write };
}

/** Fails the test if `p` does not settle within `ms` (a bound, not a synchronisation). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('GroupCommit', () => {
  it('writes the items of one turn as one group; each caller gets its own outcome', async () => {
    const r = recorder();
    const gc = new GroupCommit(r.write);
    const results = await Promise.allSettled([gc.add(1), gc.add(-2), gc.add(3)]);
    assert.deepEqual(r.groups, [[1, -2, 3]]);
    assert.deepEqual(
      results.map((x) => (x.status === 'fulfilled' ? x.value : (x.reason as Error).message)),
      ['ok 1', 'bad -2', 'ok 3'],
    );
  });

  it('writes a lone item at once when the last group held one', async () => {
    const r = recorder();
    const gc = new GroupCommit(r.write, { quietMs: 10_000, maxWaitMs: 10_000 });
    assert.equal(await within(gc.add(1), 1000), 'ok 1');
    assert.equal(await within(gc.add(2), 1000), 'ok 2');
    assert.deepEqual(r.groups, [[1], [2]]);
  });

  it('after a larger group, waits for as many items, or for a quiet spell', async () => {
    const r = recorder();
    const gc = new GroupCommit(r.write, { quietMs: 200, maxWaitMs: 10_000 });
    await Promise.all([gc.add(1), gc.add(2), gc.add(3)]);
    // Three came back one by one, in separate turns: still one group.
    const next = [gc.add(4)];
    await new Promise((resolve) => setImmediate(resolve));
    next.push(gc.add(5));
    await new Promise((resolve) => setImmediate(resolve));
    next.push(gc.add(6));
    await Promise.all(next);
    assert.deepEqual(r.groups, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // A lone item is written once nothing more came for quietMs.
    assert.equal(await within(gc.add(7), 1000), 'ok 7');
    assert.deepEqual(r.groups.at(-1), [7]);
  });

  it('writes one group at a time: items added meanwhile form the next', async () => {
    const r = recorder({ hold: true });
    const gc = new GroupCommit(r.write);
    const first = gc.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.groups, [[1]]);
    const later = [gc.add(2), gc.add(3)];
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.groups, [[1]], 'nothing more while the first group is written');
    r.release.shift()!();
    assert.equal(await first, 'ok 1');
    while (r.release.length === 0) await new Promise((resolve) => setImmediate(resolve));
    r.release.shift()!();
    assert.deepEqual(await Promise.all(later), ['ok 2', 'ok 3']);
    assert.deepEqual(r.groups, [[1], [2, 3]]);
  });

  it('drain writes what waits at once and resolves only when no group is left to write', async () => {
    const r = recorder({ hold: true });
    const gc = new GroupCommit(r.write, { quietMs: 10_000, maxWaitMs: 10_000 });
    const first = [gc.add(1), gc.add(2)];
    await new Promise((resolve) => setImmediate(resolve));
    // After a group of two, a lone item would wait for company (quietMs) rather than be written.
    const second = gc.add(3);
    let drained = false;
    const draining = gc.drain().then(() => (drained = true));
    r.release.shift()!();
    assert.deepEqual(await Promise.all(first), ['ok 1', 'ok 2']);
    while (r.release.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.groups, [[1, 2], [3]], 'the waiting item was written without its quiet spell');
    assert.equal(drained, false, 'not drained while a group is being written');
    r.release.shift()!();
    await within(draining, 1000);
    assert.equal(await second, 'ok 3');
    await within(gc.drain(), 1000); // nothing left: at once
  });

  it('a failed write fails every item of its group, and the next group goes on', async () => {
    let fail = true;
    const gc = new GroupCommit<number, number>((items) =>
      fail ? Promise.reject(new Error('disk full')) : Promise.resolve(items.map((value) => ({ value }))),
    );
    const results = await Promise.allSettled([gc.add(1), gc.add(2)]);
    assert.deepEqual(
      results.map((x) => x.status === 'rejected' && (x.reason as Error).message),
      ['disk full', 'disk full'],
    );
    fail = false;
    assert.equal(await within(gc.add(3), 1000), 3);
  });
});
