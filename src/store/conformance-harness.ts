import { afterEach, beforeEach, describe } from 'node:test';

/**
 * The frame every store conformance suite shares (registry, telemetry,
 * ThingSpeak): a fresh store per test, `reopen` to check persistence, and
 * `cleanup` after the store is closed (drop a database, remove a file).
 */

interface Closable {
  close(): Promise<void>;
}

export interface OpenedStore<S extends Closable> {
  store: S;
  /** Opens the same data again after the store has been closed. */
  reopen?: () => Promise<S>;
  cleanup?: () => Promise<void>;
}

export interface StoreSuiteContext<S extends Closable> {
  store: S;
  /** Closes `store` and opens the same data again; undefined for a store that keeps nothing. */
  reopen: (() => Promise<S>) | undefined;
}

export function describeStoreConformance<S extends Closable>(
  title: string,
  open: () => Promise<OpenedStore<S>>,
  options: { skip?: string },
  tests: (ctx: StoreSuiteContext<S>) => void,
): void {
  describe(title, { skip: options.skip }, () => {
    const ctx = { reopen: undefined } as StoreSuiteContext<S>;
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
    tests(ctx);
  });
}
