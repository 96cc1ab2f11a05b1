import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Admission, type Waiter } from './admission.js';

function waiter(name: string, log: string[]): Waiter {
  return {
    admitted: () => log.push(`${name} in`),
    moved: (position) => log.push(`${name} @${position}`),
  };
}

describe('Admission', () => {
  it('admits up to the cap, then queues in order and admits as slots free', () => {
    const log: string[] = [];
    const a = new Admission(1, 10);
    assert.deepEqual(a.request(waiter('A', log)), { kind: 'admitted' });
    assert.deepEqual(a.request(waiter('B', log)), { kind: 'queued', position: 1 });
    assert.deepEqual(a.request(waiter('C', log)), { kind: 'queued', position: 2 });
    assert.equal(a.waiting, 2);
    a.release();
    assert.deepEqual(log, ['B in', 'C @1']);
    a.release();
    assert.deepEqual(log, ['B in', 'C @1', 'C in']);
    assert.equal(a.conversations, 1);
    assert.equal(a.waiting, 0);
  });

  it('a newcomer never jumps the line, even when a slot is free', () => {
    const log: string[] = [];
    const a = new Admission(2, 10);
    a.request(waiter('A', log));
    a.request(waiter('B', log));
    const c = waiter('C', log);
    assert.equal(a.request(c).kind, 'queued');
    assert.equal(a.request(waiter('D', log)).kind, 'queued');
    a.leave(c);
    assert.deepEqual(log, ['D @1']);
  });

  it('refuses beyond maxWaiting; 0 means no line at all', () => {
    const log: string[] = [];
    const a = new Admission(1, 1);
    a.request(waiter('A', log));
    assert.equal(a.request(waiter('B', log)).kind, 'queued');
    assert.deepEqual(a.request(waiter('C', log)), { kind: 'full' });
    const none = new Admission(1, 0);
    none.request(waiter('A', log));
    assert.deepEqual(none.request(waiter('B', log)), { kind: 'full' });
  });

  it('leaving tells only those behind; releasing with nobody waiting frees the slot', () => {
    const log: string[] = [];
    const a = new Admission(1, 10);
    a.request(waiter('A', log));
    const b = waiter('B', log);
    a.request(b);
    a.request(waiter('C', log));
    a.request(waiter('D', log));
    a.leave(b);
    assert.deepEqual(log, ['C @1', 'D @2']);
    a.leave(b); // twice is harmless
    a.release();
    a.release();
    a.release();
    assert.equal(a.conversations, 0);
  });
});
