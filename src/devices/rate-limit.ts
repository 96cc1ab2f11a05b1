/**
 * Rate limits as token buckets, with the clock passed in (milliseconds, e.g.
 * Date.now()) so that tests need no timers. A rate of 0 means unlimited.
 */

function checkRate(ratePerSecond: number, burst: number): void {
  if (!(ratePerSecond >= 0 && Number.isFinite(ratePerSecond)) || !(burst >= 0 && Number.isFinite(burst))) {
    throw new RangeError(`rate and burst must be finite and ≥ 0 (got ${ratePerSecond}/s, burst ${burst})`);
  }
}

/**
 * Holds up to `burst` tokens, refilled at `ratePerSecond`; starts full.
 *
 * A take larger than the burst (a message bigger than a byte quota's burst)
 * would otherwise never pass: it is admitted when the bucket is full and
 * leaves it in debt, so the long-run rate still holds.
 */
export class TokenBucket {
  private tokens: number;
  private last = -Infinity;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {
    checkRate(ratePerSecond, burst);
    this.tokens = burst;
  }

  take(amount: number, now: number): boolean {
    if (this.ratePerSecond === 0 || amount <= 0) return true;
    this.refill(now);
    if (this.tokens < Math.min(amount, this.burst)) return false;
    this.tokens -= amount;
    return true;
  }

  /** Whether the bucket would be full at `now`: then it is no different from a new one. */
  isFull(now: number): boolean {
    if (this.ratePerSecond === 0) return true;
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    // A clock that steps back adds nothing, and does not make the next step forward count twice.
    if (now <= this.last) return;
    if (this.last !== -Infinity) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    }
    this.last = now;
  }
}

export interface KeyedRateLimitOptions {
  ratePerSecond: number;
  burst: number;
  /** Most keys remembered at once (default 10,000). */
  maxKeys?: number;
}

/**
 * One token bucket per key (e.g. a source address), each taking 1 per allow().
 *
 * Memory is bounded: at most `maxKeys` buckets (about 150 bytes each with an
 * IPv6 address as key, so ~1.5 MB at the default). When a new key finds the
 * map full, every bucket that has refilled is dropped (a full bucket decides
 * nothing a new one would not); if a spray of addresses still fills more than
 * 3/4 of it, the oldest entries go until 3/4 remain, which may hand those
 * addresses a fresh burst, but never refuses an address for lack of room.
 * Either way the next cleanup is at least maxKeys/4 new keys away, so each
 * allow() costs O(1) amortised.
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly ratePerSecond: number;
  private readonly burst: number;
  private readonly maxKeys: number;

  constructor(options: KeyedRateLimitOptions) {
    checkRate(options.ratePerSecond, options.burst);
    this.ratePerSecond = options.ratePerSecond;
    this.burst = options.burst;
    this.maxKeys = options.maxKeys ?? 10_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError('maxKeys must be ≥ 1');
  }

  /** Keys currently remembered. */
  get size(): number {
    return this.buckets.size;
  }

  allow(key: string, now: number): boolean {
    if (this.ratePerSecond === 0) return true;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.makeRoom(now);
      bucket = new TokenBucket(this.ratePerSecond, this.burst);
      this.buckets.set(key, bucket);
    }
    return bucket.take(1, now);
  }

  private makeRoom(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(key);
    const keep = Math.floor((this.maxKeys * 3) / 4);
    // Map order is insertion order: the first keys are the oldest.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= keep) break;
      this.buckets.delete(key);
    }
  }
}
