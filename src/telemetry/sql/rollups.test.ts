import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataPoint } from '../model.js';
import {
  checkMedianPoints,
  countPlan,
  MEDIAN_MAX_POINTS,
  planAggregate,
  pointId,
  rollupChanges,
} from './rollups.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const T0 = 1_700_006_400_000;

const at = (ts: number, value: DataPoint['value'] = 1, key = 'k', seriesId = 'd'): DataPoint => ({
  tenantId: 't',
  seriesId,
  key,
  ts,
  value,
});

describe('planAggregate', () => {
  it('reads whole hours from the hour rollup, whole minutes at the edges from the minute rollup, the rest raw', () => {
    const from = T0 + 5 * MINUTE + 1234;
    const to = T0 + 30 * HOUR + 17 * MINUTE + 5;
    assert.deepEqual(planAggregate('avg', from, to, HOUR), [
      { source: 'raw', from, to: T0 + 6 * MINUTE },
      { source: 'rollup', table: 'rollup_1m', ms: MINUTE, from: T0 + 6 * MINUTE, to: T0 + HOUR },
      { source: 'rollup', table: 'rollup_1h', ms: HOUR, from: T0 + HOUR, to: T0 + 30 * HOUR },
      {
        source: 'rollup',
        table: 'rollup_1m',
        ms: MINUTE,
        from: T0 + 30 * HOUR,
        to: T0 + 30 * HOUR + 17 * MINUTE,
      },
      { source: 'raw', from: T0 + 30 * HOUR + 17 * MINUTE, to },
    ]);
  });

  it('uses only rollups whose size divides the bucket, and raw points for median', () => {
    assert.deepEqual(planAggregate('sum', T0, T0 + 2 * HOUR, 5 * MINUTE), [
      { source: 'rollup', table: 'rollup_1m', ms: MINUTE, from: T0, to: T0 + 2 * HOUR },
    ]);
    assert.deepEqual(planAggregate('sum', T0, T0 + HOUR, 90_000), [
      { source: 'raw', from: T0, to: T0 + HOUR },
    ]);
    assert.deepEqual(planAggregate('median', T0, T0 + HOUR, HOUR), [
      { source: 'raw', from: T0, to: T0 + HOUR },
    ]);
    assert.deepEqual(planAggregate('count', T0, T0, HOUR), []);
  });

  it('counts with every rollup, whatever the bucket asked for', () => {
    assert.deepEqual(
      countPlan(T0, T0 + 2 * HOUR).map((s) => s.source),
      ['rollup'],
    );
  });
});

describe('rollupChanges', () => {
  it('sums a batch per bucket: one delta per (series, key, bucket) and rollup', () => {
    const points = [
      at(T0 + 2000, 4),
      at(T0, 2),
      at(T0 + MINUTE, 'x'),
      at(T0 + 2 * HOUR, true),
      at(T0, 1, 'j'),
    ];
    const { deltas, dirty } = rollupChanges(points, new Set());
    assert.deepEqual(dirty, []);
    const [hours, minutes] = deltas;
    assert.deepEqual(
      minutes.map((d) => [d.key, d.bucketTs - T0, d.partial.count]),
      [
        ['k', 0, 2],
        ['k', MINUTE, 1],
        ['k', 2 * HOUR, 1],
        ['j', 0, 1],
      ],
    );
    assert.deepEqual(hours[0], {
      table: 'rollup_1h',
      seriesId: 'd',
      key: 'k',
      bucketTs: T0,
      partial: {
        count: 3,
        numCount: 2,
        sum: 6,
        min: 2,
        max: 4,
        firstTs: T0,
        first: 2,
        lastTs: T0 + MINUTE,
        last: 'x',
      },
    });
    assert.equal(hours.length, 3);
  });

  it('rebuilds instead of adding to the buckets of a replaced point', () => {
    const points = [at(T0, 1), at(T0 + 1000, 2), at(T0 + HOUR, 3)];
    const { deltas, dirty } = rollupChanges(points, new Set([pointId('d', 'k', T0 + 1000)]));
    assert.deepEqual(
      dirty.map((b) => [b.table, b.bucketTs - T0]),
      [
        ['rollup_1h', 0],
        ['rollup_1m', 0],
      ],
    );
    assert.deepEqual(
      deltas.map((level) => level.map((d) => d.bucketTs - T0)),
      [[HOUR], [HOUR]],
    );
  });

  it('keeps series and keys apart whatever characters they hold', () => {
    const { deltas } = rollupChanges([at(T0, 1, 'b', 'a1'), at(T0, 2, '1b', 'a')], new Set());
    assert.equal(deltas[1].length, 2);
  });
});

describe('checkMedianPoints', () => {
  it(`refuses more than ${MEDIAN_MAX_POINTS} points with INVALID_INPUT naming fn`, () => {
    checkMedianPoints(MEDIAN_MAX_POINTS);
    assert.throws(() => checkMedianPoints(MEDIAN_MAX_POINTS + 1), {
      code: 'INVALID_INPUT',
      message:
        /median reads every point and is limited to 1,000,000 per query \(this range holds 1,000,001\)/,
      context: { field: 'fn', points: MEDIAN_MAX_POINTS + 1, limit: MEDIAN_MAX_POINTS },
    });
  });
});
