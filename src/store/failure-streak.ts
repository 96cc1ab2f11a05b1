import type { Logger } from '../core/logger.js';

/**
 * Logs background work that is retried until it succeeds (a store's fold):
 * the first failure of a streak as an error and the first success after it,
 * not every retry, so a failure that lasts does not flood the log.
 */
export class FailureStreak {
  private failing = false;

  constructor(
    private readonly logger: Logger | undefined,
    private readonly failedMessage: string,
    private readonly recoveredMessage: string,
  ) {}

  failed(err: unknown): void {
    if (!this.failing) this.logger?.error({ err }, this.failedMessage);
    this.failing = true;
  }

  succeeded(): void {
    if (this.failing) this.logger?.info(this.recoveredMessage);
    this.failing = false;
  }
}
