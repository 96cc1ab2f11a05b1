import type { Writable } from 'node:stream';

/**
 * Corks every stream written to during one event-loop turn and uncorks them all
 * at the end of it, so the packets a turn produces for one client leave in one
 * writev instead of one write syscall each (the largest single cost of fan-in
 * before this: ~30% of broker CPU).
 */
export class WriteBatcher {
  private pending: Writable[] = [];
  private scheduled = false;

  private readonly flush = (): void => {
    this.scheduled = false;
    const streams = this.pending;
    this.pending = [];
    for (const stream of streams) if (!stream.destroyed) stream.uncork();
  };

  /** Call before writing; cheap when the stream is already corked for this turn. */
  hold(stream: Writable): void {
    if (stream.writableCorked > 0) return;
    stream.cork();
    this.pending.push(stream);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }
}
