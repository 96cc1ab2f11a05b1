/**
 * Group commit: items added while a group is being written, or within a short
 * wait, are written together, and every caller learns its own item's outcome
 * once the group's write is done. One group at a time.
 *
 * When to write: the clients answered by the last group tend to come back
 * together (a gateway, a load of keep-alive connections), so a group is
 * written as soon as as many items as the last group held are waiting, or
 * once no item has come for `quietMs`, or `maxWaitMs` after the first one,
 * whichever is first. A lone item after a quiet spell is written at once (the
 * last group held one), or after `quietMs` at most; a steady load settles into
 * groups of the size of its concurrency.
 */

/** One item's outcome in a group. */
export type Settled<R> = { value: R } | { error: unknown };

export interface GroupCommitOptions {
  /** A group is written when no item came for this long. */
  quietMs?: number;
  /** The longest the first item of a group waits for others. */
  maxWaitMs?: number;
  /** The most items in one group. */
  maxSize?: number;
}

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private readonly maxSize: number;
  private readonly waiting: Waiting<T, R>[] = [];
  private writing = false;
  /** Items expected in the next group: the size of the last one. */
  private expected = 1;
  /** When the first waiting item came. */
  private firstAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Immediate | undefined;
  /** The group being written, settled once its callers have their outcomes. */
  private current: Promise<void> = Promise.resolve();

  /** `write` returns one outcome per item, in order; a rejection fails the whole group. */
  constructor(
    private readonly write: (items: readonly T[]) => Promise<Settled<R>[]>,
    opts: GroupCommitOptions = {},
  ) {
    this.quietMs = opts.quietMs ?? 1;
    this.maxWaitMs = opts.maxWaitMs ?? 5;
    this.maxSize = opts.maxSize ?? 1000;
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
    while (this.writing || this.waiting.length > 0) {
      if (!this.writing) this.flush();
      await this.current;
    }
  }

  private schedule(arrived: boolean): void {
    if (this.writing || this.waiting.length === 0 || this.soon) return;
    const waited = performance.now() - this.firstAt;
    if (this.waiting.length >= this.expected || waited >= this.maxWaitMs) {
      // Later in this turn of the event loop: the requests already read join the group.
      this.soon = setImmediate(() => this.flush());
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.min(this.quietMs, this.maxWaitMs - waited));
    } else if (arrived) {
      this.timer.refresh(); // not quiet yet
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.soon = undefined;
    if (this.writing || this.waiting.length === 0) return;
    const group = this.waiting.splice(0, this.maxSize);
    this.expected = group.length;
    this.writing = true;
    this.current = this.write(group.map((w) => w.item))
      .then(
        (outcomes) =>
          group.forEach((w, i) => {
            const outcome = outcomes[i];
            if ('value' in outcome) w.resolve(outcome.value);
            else w.reject(outcome.error);
          }),
        (err: unknown) => group.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.writing = false;
        this.schedule(false);
      });
  }
}
