/**
 * The telemetry mirror of channel entries, written behind the updates.
 *
 * An update is answered once its entry is durable; the entry's points go to
 * the telemetry store in batches that gather a short while (`delayMs`), so
 * one telemetry transaction serves hundreds of updates instead of one group
 * (the mirror was half of an update's cost when each group wrote its own).
 * The native API sees an update's points that much later.
 *
 * Nothing is lost in a crash: each channel has a mirror mark in the channel
 * store (the entry id up to which its mirror is stored), moved after each
 * batch is durable. On start, `recover` mirrors the entries after the marks,
 * writing only points the telemetry store does not have (an entry of a
 * device's channel may have come from that device's telemetry).
 *
 * Batches are written one at a time, in order. A batch that fails is logged
 * and written again, first, after a pause that doubles up to 10 s; no mark
 * moves meanwhile. Past `maxPendingPoints` waiting points, `room()` makes the
 * updates wait for the writer (back-pressure, not a growing queue), so a
 * telemetry store that stays down stops the updates instead of the memory
 * growing. `flush()` (shutdown) stops at a failure: the next start's recovery
 * writes what is left.
 */
import type { Logger } from '../core/logger.js';
import type { DataPoint } from '../telemetry/model.js';
import type { TelemetryStore } from '../telemetry/store.js';
import type { ChannelEntry } from './model.js';
import type { ChannelStore } from './store.js';

export interface MirrorWriterOptions {
  store: Pick<ChannelStore, 'markMirrored' | 'unmirroredEntries'>;
  telemetry: Pick<TelemetryStore, 'query'>;
  /** Writes points durably (the telemetry ingest's `writeNow`, or the store's `write`). */
  writePoints: (points: DataPoint[]) => Promise<void>;
  logger: Logger;
  /** How long points gather before a batch is written. */
  delayMs?: number;
  /** A batch is written at once when this many points wait. */
  batchPoints?: number;
  /** Past this many waiting points, updates wait for the writer. */
  maxPendingPoints?: number;
}

interface Mirrored {
  channelId: number;
  entryId: number;
  points: DataPoint[];
}

export class MirrorWriter {
  private readonly delayMs: number;
  private readonly batchPoints: number;
  private readonly maxPendingPoints: number;
  private queue: Mirrored[] = [];
  private pendingPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The batch being written, if any. */
  private writing: Promise<void> | undefined;
  /** Failed writes in a row: the next retry waits 100 ms × 2^(n-1), at most 10 s. */
  private failures = 0;
  private closed = false;
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly opts: MirrorWriterOptions) {
    this.delayMs = opts.delayMs ?? 50;
    this.batchPoints = opts.batchPoints ?? 20_000;
    this.maxPendingPoints = opts.maxPendingPoints ?? 100_000;
  }

  /** Queues an entry's points (none: only its mark moves with the next batch). */
  add(channelId: number, entryId: number, points: DataPoint[]): void {
    this.queue.push({ channelId, entryId, points });
    this.pendingPoints += points.length;
    if (this.writing) return;
    if (this.pendingPoints >= this.batchPoints) this.writeSoon(0);
    else if (this.timer === undefined) this.writeSoon(this.delayMs);
  }

  /** Resolves once fewer than `maxPendingPoints` points wait. */
  room(): Promise<void> | undefined {
    if (this.pendingPoints < this.maxPendingPoints) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Writes everything queued now, without waiting for more; resolves once all is written, or at a failed write. */
  async flush(): Promise<void> {
    while (this.writing || this.queue.length > 0) {
      if (!this.writing) this.writeNext();
      const failuresBefore = this.failures;
      await this.writing;
      if (this.failures > failuresBefore) return;
    }
  }

  /** Writes what waits (flush), then stops: no retry is left pending (shutdown). */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Mirrors the entries after their channels' marks (what a crash left
   * unmirrored), `chunk` entries at a time; returns how many points it wrote.
   */
  async recover(mirrorPoints: (entry: ChannelEntry) => Promise<DataPoint[]>, chunk = 1000): Promise<number> {
    let written = 0;
    for (;;) {
      const entries = await this.opts.store.unmirroredEntries(chunk);
      if (entries.length === 0) return written;
      const candidates: DataPoint[] = [];
      const marks = new Map<number, number>();
      for (const entry of entries) {
        candidates.push(...(await mirrorPoints(entry)));
        marks.set(entry.channelId, entry.entryId);
      }
      const missing = await this.missing(candidates);
      if (missing.length > 0) await this.opts.writePoints(missing);
      await this.opts.store.markMirrored(marks);
      written += missing.length;
    }
  }

  /** The points the telemetry store does not have: one range read per series key, not one per point. */
  private async missing(points: readonly DataPoint[]): Promise<DataPoint[]> {
    const byKey = new Map<string, DataPoint[]>();
    for (const p of points) {
      const id = `${p.seriesId}\u0000${p.key}`;
      const list = byKey.get(id);
      if (list) list.push(p);
      else byKey.set(id, [p]);
    }
    const out: DataPoint[] = [];
    for (const list of byKey.values()) {
      const { seriesId, key } = list[0];
      const times = list.map((p) => p.ts);
      const stored = new Set<number>();
      let cursor: string | undefined;
      do {
        const page = await this.opts.telemetry.query({
          seriesId,
          keys: [key],
          from: Math.min(...times),
          to: Math.max(...times) + 1,
          limit: 100_000,
          cursor,
        });
        for (const p of page.points) stored.add(p.ts);
        cursor = page.next;
      } while (cursor);
      for (const p of list) if (!stored.has(p.ts)) out.push(p);
    }
    return out;
  }

  private writeSoon(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.writeNext(), ms);
  }

  private writeNext(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const points = batch.flatMap((m) => m.points);
    this.pendingPoints -= points.length;
    this.writing = this.writeBatch(batch, points).finally(() => {
      this.writing = undefined;
      this.wakeRoomWaiters();
      if (this.queue.length === 0) return;
      if (this.failures > 0) this.writeSoon(Math.min(10_000, 100 * 2 ** (this.failures - 1)));
      else if (this.pendingPoints >= this.batchPoints) this.writeSoon(0);
      else this.writeSoon(this.delayMs);
    });
  }

  private async writeBatch(batch: Mirrored[], points: DataPoint[]): Promise<void> {
    try {
      if (points.length > 0) await this.opts.writePoints(points);
    } catch (err) {
      this.failures++;
      // Back to the front of the queue: the entries are stored (ThingSpeak's API reads them), and
      // their mirror is written once the telemetry store takes it again.
      this.queue = [...batch, ...this.queue];
      this.pendingPoints += points.length;
      this.opts.logger.error(
        { err, points: points.length, failures: this.failures },
        'could not mirror channel updates into telemetry; trying again',
      );
      return;
    }
    this.failures = 0;
    const marks = new Map<number, number>();
    for (const m of batch) marks.set(m.channelId, m.entryId);
    if (marks.size === 0) return;
    try {
      await this.opts.store.markMirrored(marks);
    } catch (err) {
      // Harmless: the next start looks again at entries whose mirror is there.
      this.opts.logger.warn({ err }, 'could not record how far channels are mirrored');
    }
  }

  private wakeRoomWaiters(): void {
    if (this.pendingPoints >= this.maxPendingPoints) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiters) wake();
  }
}
