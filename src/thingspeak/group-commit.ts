/**
 * Group commit: items added while a group is being written, or within a short
 * wait, are written together, and every caller learns its own item's outcome
 * once the group's write is done.
 *
 * When to write: the clients a group answered tend to come back together (a
 * gateway, a load of keep-alive connections), so the answered groups are
 * remembered, oldest first, as cohorts still to come back, and a group is
 * written as soon as the oldest cohort's worth of items waits, or once no
 * item has come for `quietMs`, or `maxWaitMs` after the first one, whichever
 * is first (a cohort that timed out is forgotten). A lone item after a quiet
 * spell is written at once (no cohort is due), or after `quietMs` at most; a
 * steady load settles into groups of the size of its cohorts.
 *
 * Two groups at a time (a pipeline): a group's write is mostly a wait for the
 * disk (the store's sync), and the next group is written meanwhile, so the
 * event loop serves requests instead of sleeping on that wait. Clients in
 * lock-step would still all wait on one group, so once `halveAt` clients or
 * more are in play (in groups being written, waiting, or answered and due
 * back), a group takes half of them at most: the other half goes as the next
 * group, its commit waits for the sync after the first's, the halves are
 * answered that much apart, and from then on each half's clients come back
 * while the other half is on the disk. Groups settle in the order they were
 * written, whatever order their writes finish in.
 */

/** One item's outcome in a group. */
export type Settled<R> = { value: R } | { error: unknown };

export interface GroupCommitOptions<T, R> {
  /** A group is written when no item came for this long. */
  quietMs?: number;
  /** The longest the first item of a group waits for others. */
  maxWaitMs?: number;
  /** The most items in one group. */
  maxSize?: number;
  /** From this many clients in play on (in groups, waiting or due back), a group takes half of them at most. */
  halveAt?: number;
  /**
   * Runs for each written group, in group order (after the groups before it
   * are settled), before its callers learn their outcomes: for what must
   * follow the groups in order. A rejection fails the group's items.
   */
  written?: (items: readonly T[], outcomes: readonly Settled<R>[]) => Promise<void> | void;
}

/** Groups being written at once. */
const PIPELINE = 2;
/** Cohorts remembered: clients that answer and never come back must not grow the memory. */
const MAX_COHORTS = 64;

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private readonly maxSize: number;
  private readonly halveAt: number;
  private readonly waiting: Waiting<T, R>[] = [];
  /** Groups written and not yet settled, and their items. */
  private inFlight = 0;
  private inFlightItems = 0;
  /** Items of the answered groups not come back yet, oldest group first. */
  private readonly returning: number[] = [];
  /** When the first waiting item came. */
  private firstAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  /** The last group written, settled once its callers have their outcomes. */
  private settled: Promise<void> = Promise.resolve();

  /**
   * `write` returns one outcome per item, in order; a rejection fails the
   * whole group. It is called for the next group while the last one's may
   * still run.
   */
  constructor(
    private readonly write: (items: readonly T[]) => Promise<Settled<R>[]>,
    private readonly opts: GroupCommitOptions<T, R> = {},
  ) {
    this.quietMs = opts.quietMs ?? 1;
    this.maxWaitMs = opts.maxWaitMs ?? 5;
    this.maxSize = opts.maxSize ?? 1000;
    this.halveAt = opts.halveAt ?? 16;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.waiting.length === 0) this.firstAt = performance.now();
      this.waiting.push({ item, resolve, reject });
      this.schedule(true);
    });
  }

  /**
   * Writes what waits at once, without waiting for others, and resolves once
   * no item waits and no group is being written: before the stores close.
   */
  async drain(): Promise<void> {
    while (this.inFlight > 0 || this.waiting.length > 0) {
      this.flush();
      await this.settled;
    }
  }

  private schedule(arrived: boolean): void {
    if (this.inFlight >= PIPELINE || this.waiting.length === 0 || this.soon) return;
    const waited = performance.now() - this.firstAt;
    if (this.waiting.length >= (this.returning[0] ?? 1) || waited >= this.maxWaitMs) {
      this.flushSoon();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          // Not at once: after a long task (a fold, a mirror write) the timer fires before the
          // requests that came meanwhile are read, and they are no reason to stop waiting.
          this.flushSoon();
        },
        Math.min(this.quietMs, this.maxWaitMs - waited),
      );
    } else if (arrived) {
      this.timer.refresh(); // not quiet yet
    }
  }

  /** Later in this turn of the event loop, once the requests already come are read. */
  private flushSoon(): void {
    this.soon ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    clearImmediate(this.soon);
    this.soon = undefined;
    if (this.inFlight >= PIPELINE || this.waiting.length === 0) return;
    // Written without the oldest cohort's worth (timed out, or drained): its rest is not waited for again.
    const timedOut = this.waiting.length < (this.returning[0] ?? 1);
    const due = this.returning.reduce((sum, size) => sum + size, 0);
    // The clients in play: in the groups being written, and waiting or due back (the same ones).
    const clients = this.inFlightItems + Math.max(this.waiting.length, due);
    // Enough of them, and a group takes half at most, so that two groups take turns on the disk.
    const cap = clients >= this.halveAt ? Math.ceil(clients / 2) : clients;
    const n = Math.min(this.waiting.length, cap, this.maxSize);
    this.cameBack(n, timedOut);
    this.writeGroup(this.waiting.splice(0, n));
    this.schedule(false); // the rest, as the second group if there is room
  }

  /** Counts `n` items as come back, from the oldest cohort on. */
  private cameBack(n: number, timedOut: boolean): void {
    let left = n;
    while (left > 0 && this.returning.length > 0) {
      if (this.returning[0] > left) {
        this.returning[0] -= left;
        left = 0;
      } else {
        left -= this.returning.shift()!;
      }
    }
    if (timedOut) this.returning.shift();
  }

  private writeGroup(group: Waiting<T, R>[]): void {
    this.inFlight++;
    this.inFlightItems += group.length;
    const items = group.map((w) => w.item);
    const written = this.write(items);
    const before = this.settled;
    this.settled = written
      .then(async (outcomes) => {
        await before;
        await this.opts.written?.(items, outcomes);
        return outcomes;
      })
      .then(
        (outcomes) =>
          group.forEach((w, i) => {
            const outcome = outcomes[i];
            if ('value' in outcome) w.resolve(outcome.value);
            else w.reject(outcome.error);
          }),
        async (err: unknown) => {
          await before;
          group.forEach((w) => w.reject(err));
        },
      )
      .finally(() => {
        this.inFlight--;
        this.inFlightItems -= group.length;
        this.returning.push(group.length);
        if (this.returning.length > MAX_COHORTS) this.returning.shift();
        this.schedule(false);
      });
  }
}
