/**
 * Failed-login throttling: `maxFailures` failures of one key (an identity or a
 * source address) within `windowMs` lock that key for `lockMs`. Pure: the clock
 * is passed in, nothing is stored.
 *
 * Memory is bounded: a key keeps at most `maxFailures` timestamps, and at most
 * `maxKeys` keys are tracked (least recently failed dropped first). Evicting a
 * key forgets its failures; an attacker would need `maxKeys` fresh keys to get
 * there, and each of them costs failures on the source address too.
 */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

interface KeyState {
  /** Times of the recent failures, oldest first; at most maxFailures. */
  failures: number[];
  /** 0 when not locked. */
  lockedUntil: number;
}

export class LoginThrottle {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly policy: LockoutPolicy,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it is not locked. */
  check(key: string, now: number): number {
    const state = this.keys.get(key);
    if (!state || state.lockedUntil === 0) return 0;
    if (state.lockedUntil > now) return state.lockedUntil - now;
    // The lock has run out: the key starts over with a clean slate.
    this.keys.delete(key);
    return 0;
  }

  /** Counts a failure; true when this failure started a lock. */
  recordFailure(key: string, now: number): boolean {
    let state = this.keys.get(key);
    if (state && state.lockedUntil > now) return false; // already locked; the lock is not extended
    if (state) this.keys.delete(key); // re-inserted below: Map order = least recently failed first
    if (!state || state.lockedUntil !== 0) state = { failures: [], lockedUntil: 0 };
    const horizon = now - this.policy.windowMs;
    while (state.failures.length > 0 && state.failures[0] <= horizon) state.failures.shift();
    state.failures.push(now);
    let locked = false;
    if (state.failures.length >= this.policy.maxFailures) {
      state.failures = [];
      state.lockedUntil = now + this.policy.lockMs;
      locked = true;
    }
    this.keys.set(key, state);
    this.evict(now);
    return locked;
  }

  /** A good login: the key's failures are forgotten (an active lock is left to run out). */
  recordSuccess(key: string): void {
    const state = this.keys.get(key);
    if (state && state.lockedUntil === 0) this.keys.delete(key);
  }

  /** Lifts a lock at once (e.g. an administrator reset the password). */
  clear(key: string): void {
    this.keys.delete(key);
  }

  /** Keys currently tracked; for tests and metrics. */
  get size(): number {
    return this.keys.size;
  }

  private evict(now: number): void {
    // Opportunistic sweep: the oldest entries are the likeliest to be stale.
    for (const [key, state] of this.keys) {
      const stale =
        state.lockedUntil === 0
          ? state.failures[state.failures.length - 1] <= now - this.policy.windowMs
          : state.lockedUntil <= now;
      if (!stale) break;
      this.keys.delete(key);
    }
    while (this.keys.size > this.maxKeys) {
      const oldest = this.keys.keys().next().value as string;
      this.keys.delete(oldest);
    }
  }
}
