import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedRateLimiter, TokenBucket } from './rate-limit.js';

const takes = (bucket: TokenBucket, n: number, now: number): number => {
  let ok = 0;
  for (let i = 0; i < n; i++) if (bucket.take(1, now)) ok++;
  return ok;
};

describe('TokenBucket', () => {
  it('starts full, then refills at the rate, never beyond the burst', () => {
    const bucket = new TokenBucket(10, 5);
    assert.equal(takes(bucket, 8, 1000), 5);
    assert.equal(bucket.take(1, 1050), false, 'half a token after 50 ms');
    assert.equal(bucket.take(1, 1100), true, 'one token after 100 ms');
    assert.equal(takes(bucket, 20, 60_000), 5, 'a long pause refills only up to the burst');
  });

  it('takes amounts, and admits one larger than the burst only from a full bucket, into debt', () => {
    const bytes = new TokenBucket(1000, 1000);
    assert.equal(bytes.take(600, 0), true);
    assert.equal(bytes.take(600, 0), false);
    assert.equal(bytes.take(400, 0), true);
    assert.equal(bytes.take(5000, 999), false, 'not full yet');
    assert.equal(bytes.take(5000, 1000), true, 'full: admitted, 4000 in debt');
    assert.equal(bytes.take(1, 4999), false, 'still paying off the debt');
    assert.equal(bytes.take(1, 5001), true, 'debt paid after 4 s');
    assert.equal(bytes.take(0, 5001), true);
  });

  it('treats rate 0 as unlimited', () => {
    const bucket = new TokenBucket(0, 0);
    assert.equal(takes(bucket, 1000, 0), 1000);
    assert.equal(bucket.take(1e12, 0), true);
  });

  it('gains nothing from a clock that steps back', () => {
    const bucket = new TokenBucket(1, 1);
    assert.equal(bucket.take(1, 10_000), true);
    assert.equal(bucket.take(1, 5_000), false);
    assert.equal(bucket.take(1, 10_500), false, 'only 0.5 s since the latest time seen');
    assert.equal(bucket.take(1, 11_000), true);
  });

  it('rejects negative or non-finite settings', () => {
    assert.throws(() => new TokenBucket(-1, 1), RangeError);
    assert.throws(() => new TokenBucket(1, Number.NaN), RangeError);
    assert.throws(() => new TokenBucket(Infinity, 1), RangeError);
  });
});

describe('KeyedRateLimiter', () => {
  it('limits each key separately', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 2, burst: 3 });
    const allowed = (key: string, n: number, now: number) =>
      Array.from({ length: n }, () => limiter.allow(key, now)).filter(Boolean).length;
    assert.equal(allowed('10.0.0.1', 10, 0), 3);
    assert.equal(allowed('10.0.0.2', 10, 0), 3);
    assert.equal(allowed('10.0.0.1', 10, 500), 1);
    assert.equal(allowed('10.0.0.1', 10, 2500), 3);
  });

  it('remembers nothing when unlimited', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 0, burst: 1 });
    for (let i = 0; i < 100; i++) assert.equal(limiter.allow(`a${i}`, 0), true);
    assert.equal(limiter.size, 0);
  });

  it('stays within maxKeys under a spray of addresses, dropping refilled buckets first', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 100 });
    // A busy key, throttled, seen again after the spray started.
    assert.equal(limiter.allow('busy', 0), true);
    assert.equal(limiter.allow('busy', 0), true);
    for (let i = 0; i < 10_000; i++) {
      limiter.allow(`spray-${i}`, 0);
      assert.ok(limiter.size <= 100);
    }
    const quiet = new KeyedRateLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 100 });
    for (let i = 0; i < 99; i++) quiet.allow(`old-${i}`, 0);
    quiet.allow('busy', 1000);
    quiet.allow('busy', 1000);
    quiet.allow('busy', 1000);
    // Two seconds later every old bucket (1 token used) has refilled; 'busy' (2 in debt of 1 s) has not.
    assert.equal(quiet.allow('new', 2000), true);
    assert.equal(quiet.size, 2, 'only the full buckets were dropped');
    assert.equal(quiet.allow('busy', 2000), true);
    assert.equal(quiet.allow('busy', 2000), false, 'the throttled key kept its state');
  });

  it('evicts the oldest keys when nothing has refilled, keeping 3/4', () => {
    const limiter = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 8 });
    for (let i = 0; i < 8; i++) assert.equal(limiter.allow(`k${i}`, 0), true);
    assert.equal(limiter.allow('k7', 0), false);
    assert.equal(limiter.allow('k8', 0), true);
    assert.equal(limiter.size, 7, '6 kept + the new one');
    assert.equal(limiter.allow('k7', 0), false, 'a recent key is still limited');
    assert.equal(limiter.allow('k0', 0), true, 'the oldest was forgotten');
  });

  it('rejects a bad maxKeys', () => {
    assert.throws(() => new KeyedRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 0 }), RangeError);
  });
});
