import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataPoint } from '../model.js';
import { checkPoints, sortedUniquePoints } from './codec.js';
import { newestPerSeriesKey, SeriesKeyMap } from './series-key-map.js';

const at = (seriesId: string, key: string, ts: number, value: DataPoint['value'] = ts): DataPoint => ({
  tenantId: 't',
  seriesId,
  key,
  ts,
  value,
});

describe('SeriesKeyMap', () => {
  it('keeps one value per (series, key) and counts them', () => {
    const m = new SeriesKeyMap<number>();
    m.set('a', 'x', 1);
    m.set('a', 'y', 2);
    m.set('ax', '', 3); // not the same as ('a', 'x')
    m.set('a', 'x', 4);
    assert.equal(m.size, 3);
    assert.equal(m.get('a', 'x'), 4);
    assert.equal(m.get('ax', ''), 3);
    assert.equal(m.get('b', 'x'), undefined);
    assert.deepEqual([...m.values()], [4, 2, 3]);
  });

  it('newestPerSeriesKey: the newest point of each series key, the last of equal times', () => {
    const points = [
      at('a', 'k', 5, 'old'),
      at('a', 'k', 9),
      at('b', 'k', 1),
      at('a', 'k', 9, 'last'),
      at('a', 'j', 2),
    ];
    assert.deepEqual(
      newestPerSeriesKey(points).map((p) => [p.seriesId, p.key, p.ts, p.value]),
      [
        ['a', 'k', 9, 'last'],
        ['a', 'j', 2, 2],
        ['b', 'k', 1, 1],
      ],
    );
  });
});

describe('sortedUniquePoints', () => {
  it('sorts by (series, key, ts) and keeps one point per (series, key, ts), the last of the batch winning', () => {
    for (const repeatAt of [1, 2, 3]) {
      const points = [
        at('b', 'k', 2),
        at('a', 'k', 3),
        at('a', 'k', 1),
        at('a', 'j', 1),
        at('a', 'k', 2),
        at('a', 'k', repeatAt, 'again'),
      ];
      const unique = sortedUniquePoints(points);
      assert.deepEqual(
        unique.map((p) => `${p.seriesId}${p.key}${p.ts}`),
        ['aj1', 'ak1', 'ak2', 'ak3', 'bk2'],
        `repeat of time ${repeatAt}`,
      );
      assert.equal(
        unique.find((p) => p.key === 'k' && p.seriesId === 'a' && p.ts === repeatAt)?.value,
        'again',
      );
    }
  });

  it('takes a batch of one key linearly (50,000 points at distinct times, then all repeated)', () => {
    const points = Array.from({ length: 50_000 }, (_, i) => at('a', 'k', 50_000 - i));
    const unique = sortedUniquePoints([...points, ...points.map((p) => ({ ...p, value: -p.ts }))]);
    assert.equal(unique.length, 50_000);
    assert.ok(unique.every((p, i) => p.ts === i + 1 && p.value === -p.ts));
  });
});

describe('checkPoints', () => {
  it('refuses a time that is not an integer of ms and a non-finite number anywhere in the batch', () => {
    assert.throws(() => checkPoints([at('a', 'k', 1.5)]), /integer of ms/);
    assert.throws(() => checkPoints([at('a', 'k', 1), at('a', 'k', 1), at('a', 'k', 2, Infinity)]), /finite/);
    assert.throws(() => sortedUniquePoints([at('a', 'k', 1), at('a', 'k', Number.NaN)]), /integer of ms/);
    checkPoints([at('a', 'k', 1, 'text'), at('a', 'k', 2, true), at('a', 'k', 3, -0.5)]);
  });
});
