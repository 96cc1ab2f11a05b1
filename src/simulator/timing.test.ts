import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from './random.js';
import { maybeDropout, nextInterval } from './timing.js';

describe('nextInterval', () => {
  it('stays within interval ± jitter and uses the whole span', () => {
    const random = createRng(1);
    const values = Array.from({ length: 2000 }, () => nextInterval(1000, 0.2, random));
    assert.ok(Math.min(...values) >= 800 && Math.max(...values) <= 1200);
    assert.ok(Math.min(...values) < 820 && Math.max(...values) > 1180);
    assert.equal(nextInterval(1000, 0, random), 1000);
  });

  it('is never below 1 ms', () => {
    assert.equal(
      nextInterval(0.5, 0.9, () => 0),
      1,
    );
  });
});

describe('maybeDropout', () => {
  it('never without settings', () => {
    assert.equal(
      maybeDropout(undefined, 1000, () => 0),
      undefined,
    );
  });

  it('starts one per `everyMs` on average, whatever the rate', () => {
    const random = createRng(2);
    const settings = { everyMs: 60_000, forMs: 10_000, mode: 'mixed' as const };
    // 360,000 one-second ticks (100 devices for an hour), one drop-out per device-minute: about 6000.
    let started = 0;
    for (let i = 0; i < 360_000; i++) if (maybeDropout(settings, 1000, random)) started++;
    assert.ok(Math.abs(started - 6000) < 300, `${started}`);
  });

  it('lasts half to one and a half times forMs, in the mode asked for', () => {
    const random = createRng(3);
    const kinds = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const d = maybeDropout({ everyMs: 1, forMs: 1000, mode: 'mixed' }, 1000, random);
      assert.ok(d && d.ms >= 500 && d.ms <= 1500);
      kinds.add(d.kind);
    }
    assert.deepEqual([...kinds].sort(), ['offline', 'silent']);
    const silent = maybeDropout({ everyMs: 1, forMs: 1000, mode: 'silent' }, 1000, random);
    assert.equal(silent?.kind, 'silent');
  });
});
