/**
 * Telemetry as the store keeps it: one value of one key of one series at one
 * time. A series is a device (its id); the updates of a ThingSpeak channel
 * bound to a device are that device's. Values keep their JSON type.
 */

export type TelemetryValue = number | boolean | string;

export interface DataPoint {
  tenantId: string;
  /** The device's id. */
  seriesId: string;
  key: string;
  /** ms since the epoch. */
  ts: number;
  value: TelemetryValue;
}

export interface LatestValue {
  key: string;
  ts: number;
  value: TelemetryValue;
}

export type Aggregation = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'median' | 'first' | 'last';

export interface Bucket {
  key: string;
  /** Start of the bucket (ms since the epoch, aligned to the bucket size from the epoch). */
  ts: number;
  /** null when the bucket has no numeric value for avg/min/max/sum/median. */
  value: TelemetryValue | null;
  /** How many points fell into the bucket. */
  count: number;
}

/** Limits the ingest path enforces (a bad payload is refused with the limit it broke). */
export const TELEMETRY_LIMITS = {
  maxKeyLength: 128,
  maxKeysPerMessage: 100,
  maxStringValueLength: 4096,
  maxPointsPerMessage: 10_000,
} as const;
