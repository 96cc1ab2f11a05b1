import { EventEmitter } from 'node:events';
import { HalyardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DataPoint } from './model.js';
import type { TelemetryStore } from './store.js';

/**
 * The write path of telemetry: group commit. Points accepted while a write is
 * in flight wait and go together in the next transaction, so the transaction
 * rate adapts to the store's speed and many small messages cost one commit.
 * Every accept() resolves only once the transaction holding its points has
 * committed, which is what lets MQTT acknowledge a QoS 1 telemetry message (and
 * HTTP answer 200) only when the value is durable.
 *
 * Back-pressure: at most `maxPendingPoints` wait. Beyond that, accept() rejects
 * at once with QUOTA_EXCEEDED (MQTT 5 PUBACK 0x97, HTTP 503), instead of
 * queueing without bound while storage is behind.
 *
 * Live views (the dashboard) listen to 'accepted': it fires in accept(), as soon
 * as points are admitted and before they are durable.
 */

export interface TelemetryIngestOptions {
  store: TelemetryStore;
  logger: Logger;
  maxPendingPoints?: number;
  /** Largest transaction; a bigger backlog is written in several. */
  maxBatchPoints?: number;
}

interface Waiting {
  points: readonly DataPoint[];
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface IngestStats {
  pointsWritten: number;
  transactions: number;
  /** accept() calls refused because too much was pending. */
  rejectedBusy: number;
  /** Points lost to a failed write (their accept() rejected, so nobody was told they were stored). */
  pointsFailed: number;
}

interface IngestEvents {
  accepted: [points: readonly DataPoint[]];
}

export class TelemetryIngest extends EventEmitter<IngestEvents> {
  readonly stats: IngestStats = { pointsWritten: 0, transactions: 0, rejectedBusy: 0, pointsFailed: 0 };
  private readonly maxPending: number;
  private readonly maxBatch: number;
  private queue: Waiting[] = [];
  private queuedPoints = 0;
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: TelemetryIngestOptions) {
    super();
    this.maxPending = opts.maxPendingPoints ?? 200_000;
    this.maxBatch = opts.maxBatchPoints ?? 20_000; // the config default (config-schema.ts says why)
  }

  /** Points waiting for their transaction. */
  get pending(): number {
    return this.queuedPoints;
  }

  accept(points: readonly DataPoint[]): Promise<void> {
    if (points.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new HalyardError('STORE_FAILURE', 'telemetry ingest is closed'));
    if (this.queuedPoints + points.length > this.maxPending) {
      this.stats.rejectedBusy++;
      return Promise.reject(
        new HalyardError('QUOTA_EXCEEDED', 'telemetry storage is behind; retry later', {
          pending: this.queuedPoints,
        }),
      );
    }
    const durable = new Promise<void>((resolve, reject) => {
      this.queue.push({ points, resolve, reject });
      this.queuedPoints += points.length;
      // Everything accepted in this turn of the event loop joins the same transaction.
      this.writing ??= new Promise<void>((started) => setImmediate(started)).then(() => this.drain());
    });
    // The hot path pays one counter read when nobody watches.
    if (this.listenerCount('accepted') > 0) this.announce(points);
    return durable;
  }

  /**
   * Writes points now, in a transaction of their own, outside the queue: for a
   * caller that groups its writes itself (ThingSpeak's group commit writes a
   * group's mirror right after its entries) and would otherwise wait a turn
   * for the next drain. Announced and counted like accepted points; resolves
   * once they are durable.
   */
  async writeNow(points: readonly DataPoint[]): Promise<void> {
    if (points.length === 0) return;
    if (this.closed) throw new HalyardError('STORE_FAILURE', 'telemetry ingest is closed');
    if (this.listenerCount('accepted') > 0) this.announce(points);
    await this.writeCounted(points);
  }

  /** One store write, counted in the stats as written or as failed. */
  private async writeCounted(points: readonly DataPoint[]): Promise<void> {
    try {
      await this.opts.store.write(points);
    } catch (err) {
      this.stats.pointsFailed += points.length;
      throw err;
    }
    this.stats.pointsWritten += points.length;
    this.stats.transactions++;
  }

  /** A failing listener is logged; it never fails the write it watched. */
  private announce(points: readonly DataPoint[]): void {
    try {
      this.emit('accepted', points);
    } catch (err) {
      this.opts.logger.error({ err }, 'telemetry listener failed');
    }
  }

  /** Writes what is pending and refuses anything later. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      const points = batch.flatMap((w) => w.points);
      try {
        await this.writeCounted(points);
        for (const waiting of batch) waiting.resolve();
      } catch (err) {
        this.opts.logger.error({ err, points: points.length }, 'telemetry write failed');
        const failure =
          err instanceof Error
            ? err
            : new HalyardError('STORE_FAILURE', 'telemetry write failed', { cause: err });
        for (const waiting of batch) waiting.reject(failure);
      }
    }
    this.writing = undefined;
  }

  /** Whole messages, up to maxBatch points (a single larger message goes alone). */
  private takeBatch(): Waiting[] {
    let count = 0;
    let taken = 0;
    while (taken < this.queue.length) {
      const size = this.queue[taken].points.length;
      if (taken > 0 && count + size > this.maxBatch) break;
      count += size;
      taken++;
    }
    this.queuedPoints -= count;
    return this.queue.splice(0, taken);
  }
}
