import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataPoint } from '../model.js';
import { uniquePoints } from './codec.js';
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

describe('uniquePoints', () => {
  it('returns the batch itself when no (series, key, ts) repeats', () => {
    const points = [at('a', 'k', 1), at('a', 'k', 2), at('a', 'k', 3), at('b', 'k', 1), at('a', 'j', 1)];
    assert.equal(uniquePoints(points), points);
  });

  it('drops repeats wherever they are found (first, second or later time of a key), the last value winning', () => {
    for (const repeatAt of [1, 2, 3]) {
      const points = [
        at('a', 'k', 1),
        at('b', 'k', 2),
        at('a', 'k', 2),
        at('a', 'k', 3),
        at('a', 'k', repeatAt, 'again'),
      ];
      const unique = uniquePoints(points);
      assert.equal(unique.length, 4, `repeat of time ${repeatAt}`);
      const repeated = unique.find((p) => p.seriesId === 'a' && p.ts === repeatAt);
      assert.equal(repeated?.value, 'again');
      // The repeat keeps the first one's place.
      assert.deepEqual(
        unique.map((p) => `${p.seriesId}${p.ts}`),
        ['a1', 'b2', 'a2', 'a3'],
      );
    }
  });

  it('refuses a time that is not an integer of ms and a non-finite number, even after a repeat', () => {
    assert.throws(() => uniquePoints([at('a', 'k', 1.5)]), /integer of ms/);
    assert.throws(
      () => uniquePoints([at('a', 'k', 1), at('a', 'k', 1), at('a', 'k', 2, Infinity)]),
      /finite/,
    );
  });
});
