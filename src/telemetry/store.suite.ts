import { describe } from 'node:test';
import { describeStoreConformance, type OpenedStore } from '../store/conformance-harness.js';
import type { TelemetryStore } from './store.js';
import { aggregateTests } from './store-suite/aggregate.js';
import { queryTests } from './store-suite/query.js';
import { retentionTests } from './store-suite/retention.js';
import { rollupTests } from './store-suite/rollups.js';
import { writeLatestTests } from './store-suite/write-latest.js';

export type OpenedTelemetryStore = OpenedStore<TelemetryStore>;

/**
 * The behaviour every TelemetryStore must show (store.ts), run against SQLite
 * and PostgreSQL. `skip` (a reason) skips them all.
 */
export function describeTelemetryStoreConformance(
  name: string,
  open: () => Promise<OpenedTelemetryStore>,
  options: { skip?: string } = {},
): void {
  describeStoreConformance(`TelemetryStore conformance: ${name}`, open, options, (ctx) => {
    describe('write and latest', () => writeLatestTests(ctx));
    describe('query', () => queryTests(ctx));
    describe('aggregate', () => aggregateTests(ctx));
    describe('retention', () => retentionTests(ctx));
    describe('rollups', () => rollupTests(ctx));
  });
}
