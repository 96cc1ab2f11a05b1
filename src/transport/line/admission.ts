/**
 * The conversation cap of one listener and its waiting line. A conversation
 * holds a slot from its greeting to its end (BYE, CLOSE, timeout, lost
 * connection); clients beyond the cap wait in arrival order and learn their
 * position (1 = next) whenever it changes. Pure bookkeeping: no sockets, no timers.
 */

export interface Waiter {
  /** A slot is this waiter's now (it has left the line). */
  admitted(): void;
  /** Its place in the line changed (1-based). */
  moved(position: number): void;
}

export type AdmissionResult = { kind: 'admitted' } | { kind: 'queued'; position: number } | { kind: 'full' };

export class Admission {
  private active = 0;
  private readonly line: Waiter[] = [];

  constructor(
    readonly maxConversations: number,
    /** How many may wait; beyond that a newcomer is refused. */
    readonly maxWaiting: number,
  ) {}

  get conversations(): number {
    return this.active;
  }

  get waiting(): number {
    return this.line.length;
  }

  /** Takes a slot at once, or a place in line (whoever waits already goes first). */
  request(waiter: Waiter): AdmissionResult {
    if (this.line.length === 0 && this.active < this.maxConversations) {
      this.active++;
      return { kind: 'admitted' };
    }
    if (this.line.length >= this.maxWaiting) return { kind: 'full' };
    this.line.push(waiter);
    return { kind: 'queued', position: this.line.length };
  }

  /** A conversation ended: its slot goes to the first in line, if any. */
  release(): void {
    this.active = Math.max(0, this.active - 1);
    this.admitWaiting();
  }

  /** A waiter gave up (BYE, CLOSE, lost connection); those behind it move up. */
  leave(waiter: Waiter): void {
    const index = this.line.indexOf(waiter);
    if (index < 0) return;
    this.line.splice(index, 1);
    this.announceFrom(index);
  }

  private admitWaiting(): void {
    let admitted = 0;
    while (this.line.length > 0 && this.active < this.maxConversations) {
      const next = this.line.shift() as Waiter;
      this.active++;
      admitted++;
      next.admitted();
    }
    if (admitted > 0) this.announceFrom(0);
  }

  private announceFrom(index: number): void {
    for (let i = index; i < this.line.length; i++) this.line[i].moved(i + 1);
  }
}
