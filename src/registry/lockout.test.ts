import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginThrottle } from './lockout.js';

const policy = { maxFailures: 3, windowMs: 1000, lockMs: 5000 };

describe('LoginThrottle', () => {
  it('locks a key at the maxFailures-th failure within the window, once', () => {
    const t = new LoginThrottle(policy);
    assert.equal(t.recordFailure('k', 0), false);
    assert.equal(t.recordFailure('k', 100), false);
    assert.equal(t.check('k', 100), 0);
    assert.equal(t.recordFailure('k', 200), true);
    assert.equal(t.check('k', 200), 5000);
    assert.equal(t.check('k', 3200), 2000);
    // Failures while locked neither extend the lock nor report a new one.
    assert.equal(t.recordFailure('k', 3300), false);
    assert.equal(t.check('k', 3300), 1900);
    assert.equal(t.check('other', 3300), 0);
  });

  it('forgets failures older than the window', () => {
    const t = new LoginThrottle(policy);
    t.recordFailure('k', 0);
    t.recordFailure('k', 500);
    // The first failure falls out of the window at 1000: only two are recent.
    assert.equal(t.recordFailure('k', 1000), false);
    assert.equal(t.check('k', 1000), 0);
    assert.equal(t.recordFailure('k', 1400), true);
  });

  it('starts over after the lock expires', () => {
    const t = new LoginThrottle(policy);
    for (const at of [0, 1, 2]) t.recordFailure('k', at);
    assert.equal(t.check('k', 5001), 1);
    assert.equal(t.check('k', 5002), 0);
    assert.equal(t.recordFailure('k', 5003), false);
    assert.equal(t.recordFailure('k', 5004), false);
    assert.equal(t.recordFailure('k', 5005), true);
  });

  it('resets the count on success but lets an active lock run out', () => {
    const t = new LoginThrottle(policy);
    t.recordFailure('k', 0);
    t.recordFailure('k', 1);
    t.recordSuccess('k');
    assert.equal(t.recordFailure('k', 2), false);
    assert.equal(t.recordFailure('k', 3), false);
    assert.equal(t.recordFailure('k', 4), true);
    t.recordSuccess('k');
    assert.equal(t.check('k', 5), 4999);
    t.clear('k');
    assert.equal(t.check('k', 5), 0);
  });

  it('keeps memory bounded', () => {
    const t = new LoginThrottle({ ...policy, windowMs: 1_000_000 }, 100);
    for (let i = 0; i < 1000; i++) t.recordFailure(`k${i}`, i);
    assert.equal(t.size, 100);
    // The newest keys are the ones kept.
    t.recordFailure('k999', 1000);
    assert.equal(t.recordFailure('k999', 1001), true);
  });

  it('drops stale keys as new failures arrive', () => {
    const t = new LoginThrottle(policy);
    for (let i = 0; i < 50; i++) t.recordFailure(`k${i}`, 0);
    assert.equal(t.size, 50);
    t.recordFailure('late', 10_000);
    assert.equal(t.size, 1);
  });
});
