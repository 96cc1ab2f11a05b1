/**
 * Chart ranges and the aggregate bucket for each: the smallest bucket that keeps a
 * chart under MAX_POINTS per key, so a year charts as fast as an hour (and the
 * API's 1-minute and 1-hour rollups serve the long ranges).
 */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const RANGES = [
  { id: '15m', label: '15 min', ms: 15 * MINUTE },
  { id: '1h', label: '1 h', ms: HOUR },
  { id: '24h', label: '24 h', ms: DAY },
  { id: '7d', label: '7 d', ms: 7 * DAY },
  { id: '30d', label: '30 d', ms: 30 * DAY },
  { id: '1y', label: '1 y', ms: 365 * DAY },
] as const;

export type RangeId = (typeof RANGES)[number]['id'];

const BUCKETS_MS = [
  1000,
  5000,
  10_000,
  30_000,
  MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  7 * DAY,
];

export const MAX_POINTS = 400;

/** The bucket (ms) for a window of `spanMs`. */
export function bucketFor(spanMs: number): number {
  return BUCKETS_MS.find((b) => spanMs / b <= MAX_POINTS) ?? BUCKETS_MS[BUCKETS_MS.length - 1];
}

export interface Window {
  from: number;
  to: number;
}

/** The window moved by `fraction` of its width (negative = back in time). */
export function panWindow(w: Window, fraction: number): Window {
  const shift = Math.round((w.to - w.from) * fraction);
  return { from: w.from + shift, to: w.to + shift };
}
