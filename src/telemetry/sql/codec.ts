/**
 * How both SQL stores keep a value, and the small rules they share: the value
 * columns, the paging cursor, the limit, and what a write accepts.
 */
import { HalyardError } from '../../core/errors.js';
import type { DataPoint, TelemetryValue } from '../model.js';

/** value_type: the JSON type a value came in with. */
export const VALUE_TYPE = { number: 0, boolean: 1, string: 2 } as const;

/**
 * A value as three columns. Booleans keep 0/1 in value_num, so numeric
 * aggregates count them as 0/1 (store.ts) while the type tag brings them back
 * as booleans; strings have no number.
 */
export interface EncodedValue {
  type: number;
  num: number | null;
  text: string | null;
}

export function encodeValue(value: TelemetryValue): EncodedValue {
  if (typeof value === 'number') return { type: VALUE_TYPE.number, num: value, text: null };
  if (typeof value === 'boolean') return { type: VALUE_TYPE.boolean, num: value ? 1 : 0, text: null };
  return { type: VALUE_TYPE.string, num: null, text: value };
}

export function decodeValue(type: number, num: number | null, text: string | null): TelemetryValue {
  if (type === VALUE_TYPE.boolean) return num === 1;
  if (type === VALUE_TYPE.string) return text ?? '';
  return num ?? 0;
}

/** A point's value as a number for avg/min/max/sum/median, or null when it has none. */
export function numericValue(value: TelemetryValue): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 100_000;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new HalyardError('INVALID_INPUT', 'limit must be a positive integer', { field: 'limit', limit });
  }
  return Math.min(limit, MAX_LIMIT);
}

/** Where a page ended: the (ts, key) of its last row. */
export interface Cursor {
  ts: number;
  key: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.ts, c.key]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      Number.isSafeInteger(parsed[0]) &&
      typeof parsed[1] === 'string'
    ) {
      return { ts: parsed[0] as number, key: parsed[1] };
    }
  } catch {
    // reported below
  }
  throw new HalyardError('INVALID_INPUT', 'the cursor is not one this store returned', { field: 'cursor' });
}

export function checkRange(from: number, to: number): void {
  if (!Number.isFinite(from) || !Number.isFinite(to)) {
    throw new HalyardError('INVALID_INPUT', 'from and to must be times in ms', { from, to });
  }
}

/** Refuses, before anything is written, a point no column can hold. */
export function checkPoints(points: readonly DataPoint[]): void {
  for (const p of points) {
    if (!Number.isSafeInteger(p.ts)) {
      throw new HalyardError('INVALID_INPUT', 'a point time must be an integer of ms', { ts: p.ts });
    }
    if (typeof p.value === 'number' && !Number.isFinite(p.value)) {
      throw new HalyardError('INVALID_INPUT', 'a number must be finite', { key: p.key, ts: p.ts });
    }
  }
}

/**
 * The points of a write sorted by (series, key, ts), one per (series, key,
 * ts): the last one of the batch wins, as a later write would (the sort is
 * stable). For a store that writes a batch in one statement, which may not
 * touch a row twice. Checked as checkPoints does.
 */
export function sortedUniquePoints(points: readonly DataPoint[]): DataPoint[] {
  checkPoints(points);
  const sorted = [...points].sort(
    (a, b) => compareKeys(a.seriesId, b.seriesId) || compareKeys(a.key, b.key) || a.ts - b.ts,
  );
  const unique: DataPoint[] = [];
  for (const p of sorted) {
    const prev = unique.at(-1);
    if (prev && prev.ts === p.ts && prev.key === p.key && prev.seriesId === p.seriesId)
      unique[unique.length - 1] = p;
    else unique.push(p);
  }
  return unique;
}

/** Byte order of UTF-16 code units; keys are compared this way when results are merged in JS. */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
