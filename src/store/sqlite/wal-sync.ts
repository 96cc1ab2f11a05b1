import { close, fdatasync, fsync, open } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { HalyardError } from '../../core/errors.js';

const openFile = promisify(open);
const syncData = promisify(fdatasync);
const syncAll = promisify(fsync);
const closeFile = promisify(close);

/**
 * Durable SQLite commits that do not stop the event loop.
 *
 * With synchronous=FULL, SQLite calls fsync inside every COMMIT, on the thread
 * that runs the statement — for Halyard the event loop, which then serves no
 * socket for as long as the disk takes (about 0.4 ms a commit on this
 * project's reference machine, more on a busy disk). A hot store instead
 * commits with synchronous=NORMAL, where SQLite writes the WAL frames to the
 * OS and syncs the WAL itself only before a checkpoint, and then waits for
 * `durable()`: an fdatasync of the WAL file on libuv's thread pool. Once a
 * sync that began after a commit has finished, that commit survives power
 * loss, exactly as under FULL; WAL checksums make a torn tail roll back, never
 * corrupt. fdatasync flushes the file, not the descriptor, so one descriptor
 * opened beside SQLite's own serves for the file's life (SQLite removes the
 * WAL only when its last connection closes, and truncates it in place).
 *
 * Callers arriving while a sync runs share the next one: a burst of commits
 * costs two syncs, not one each.
 */
export class WalSync {
  private fd: number | undefined;
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly walPath: string,
    private readonly syncFd: (fd: number) => Promise<void> = syncData,
  ) {}

  /** Resolves once everything committed before the call is on disk. */
  durable(): Promise<void> {
    if (this.closed) return Promise.reject(new HalyardError('STORE_FAILURE', 'the store is closed'));
    if (this.running === undefined) return this.start();
    // The running sync may have begun before the caller's commit: wait for the one after it.
    this.next ??= this.running.then(
      () => this.startNext(),
      () => this.startNext(),
    );
    return this.next;
  }

  /** Waits for the syncs in flight, then lets the descriptor go. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.running, this.next]);
    if (this.fd !== undefined) await closeFile(this.fd);
    this.fd = undefined;
  }

  private startNext(): Promise<void> {
    this.next = undefined;
    return this.start();
  }

  private start(): Promise<void> {
    const sync = this.syncOnce().finally(() => {
      if (this.running === sync) this.running = undefined;
    });
    this.running = sync;
    return sync;
  }

  private async syncOnce(): Promise<void> {
    try {
      if (this.fd === undefined) {
        this.fd = await openFile(this.walPath, 'r');
        // The WAL may have just been created: its directory entry must be on disk too.
        const dir = await openFile(dirname(this.walPath), 'r');
        try {
          await syncAll(dir);
        } finally {
          await closeFile(dir);
        }
      }
      await this.syncFd(this.fd);
    } catch (err) {
      throw new HalyardError(
        'STORE_FAILURE',
        `could not sync ${this.walPath}: ${(err as Error).message}`,
        { path: this.walPath },
        { cause: err },
      );
    }
  }
}
