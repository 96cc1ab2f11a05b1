import { afterEach, beforeEach, describe } from 'node:test';
import type { TelemetryStore } from './store.js';
import { aggregateTests } from './store-suite/aggregate.js';
import type { SuiteContext } from './store-suite/fixtures.js';
import { queryTests } from './store-suite/query.js';
import { retentionTests } from './store-suite/retention.js';
import { writeLatestTests } from './store-suite/write-latest.js';

/**
 * What `open` gives for each test: a fresh, empty store; `reopen`, when given,
 * opens the same data again after the store has been closed; `cleanup` runs
 * after the test's store is closed.
 */
export interface OpenedTelemetryStore {
  store: TelemetryStore;
  reopen?: () => Promise<TelemetryStore>;
  cleanup?: () => Promise<void>;
}

/**
 * The behaviour every TelemetryStore must show (store.ts), run against SQLite
 * and PostgreSQL. `skip` (a reason) skips them all.
 */
export function describeTelemetryStoreConformance(
  name: string,
  open: () => Promise<OpenedTelemetryStore>,
  options: { skip?: string } = {},
): void {
  describe(`TelemetryStore conformance: ${name}`, { skip: options.skip }, () => {
    const ctx = { reopen: undefined } as SuiteContext;
    let cleanup: (() => Promise<void>) | undefined;
    beforeEach(async () => {
      const opened = await open();
      ctx.store = opened.store;
      const { reopen } = opened;
      ctx.reopen = reopen
        ? async () => {
            await ctx.store.close();
            return reopen();
          }
        : undefined;
      cleanup = opened.cleanup;
    });
    afterEach(async () => {
      await ctx.store.close();
      await cleanup?.();
    });

    describe('write and latest', () => writeLatestTests(ctx));
    describe('query', () => queryTests(ctx));
    describe('aggregate', () => aggregateTests(ctx));
    describe('retention', () => retentionTests(ctx));
  });
}
