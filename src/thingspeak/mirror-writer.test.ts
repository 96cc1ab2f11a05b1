import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureLogger } from '../transport/test-support.js';
import type { DataPoint } from '../telemetry/model.js';
import { MirrorWriter, type MirrorWriterOptions } from './mirror-writer.js';

const point = (seriesId: string, ts: number): DataPoint => ({
  tenantId: 't',
  seriesId,
  key: 'field1',
  ts,
  value: ts,
});

/** A writer over recording fakes: each write waits for the test's go-ahead when `hold` is set. */
function harness(opts: Partial<MirrorWriterOptions> & { hold?: boolean; failFirst?: boolean } = {}) {
  const batches: DataPoint[][] = [];
  const marks: Map<number, number>[] = [];
  const releases: (() => void)[] = [];
  let writeStarted: () => void = () => undefined;
  let marked: () => void = () => undefined;
  let fail = opts.failFirst ?? false;
  const { logger, lines } = captureLogger();
  const writer = new MirrorWriter({
    store: {
      markMirrored: (m) => {
        marks.push(new Map(m));
        marked();
        return Promise.resolve();
      },
      unmirroredEntries: () => Promise.resolve([]),
    },
    telemetry: { query: () => Promise.resolve({ points: [] }) },
    writePoints: async (points) => {
      batches.push(points);
      writeStarted();
      if (opts.hold) await new Promise<void>((r) => releases.push(r));
      if (fail) {
        fail = false;
        throw new Error('disk full');
      }
    },
    logger,
    ...opts,
  });
  return {
    writer,
    batches,
    marks,
    lines,
    release: () => releases.shift()?.(),
    nextWrite: () => new Promise<void>((r) => (writeStarted = r)),
    nextMark: () => new Promise<void>((r) => (marked = r)),
  };
}

describe('MirrorWriter', () => {
  it('gathers points for a while and writes them as one batch, then marks each channel up to its last entry', async () => {
    const h = harness({ delayMs: 30 });
    const marked = h.nextMark();
    h.writer.add(1, 1, [point('a', 1), point('a', 2)]);
    h.writer.add(2, 7, [point('b', 1)]);
    h.writer.add(1, 2, [point('a', 3)]);
    h.writer.add(3, 4, []); // no points: the mark still moves
    await marked;
    assert.deepEqual(
      h.batches.map((b) => b.map((p) => `${p.seriesId}${p.ts}`)),
      [['a1', 'a2', 'b1', 'a3']],
    );
    assert.deepEqual(h.marks, [
      new Map([
        [1, 2],
        [2, 7],
        [3, 4],
      ]),
    ]);
  });

  it('writes at once when a batch is full, and flush() writes what waits without the delay', async () => {
    const h = harness({ delayMs: 60_000, batchPoints: 2 });
    const full = h.nextWrite();
    h.writer.add(1, 1, [point('a', 1), point('a', 2)]);
    await full;
    h.writer.add(1, 2, [point('a', 3)]);
    await h.writer.flush();
    assert.deepEqual(
      h.batches.map((b) => b.length),
      [2, 1],
    );
  });

  it('logs a failed batch and writes it again, first, before any mark moves', async () => {
    const h = harness({ delayMs: 10, failFirst: true });
    const marked = h.nextMark();
    h.writer.add(1, 1, [point('a', 1)]);
    h.writer.add(2, 5, [point('b', 1)]);
    await marked;
    assert.ok(
      h.lines.some(
        (l) => l.msg === 'could not mirror channel updates into telemetry; trying again' && l.points === 2,
      ),
    );
    assert.deepEqual(
      h.batches.map((b) => b.map((p) => `${p.seriesId}${p.ts}`)),
      [
        ['a1', 'b1'],
        ['a1', 'b1'],
      ],
    );
    assert.deepEqual(h.marks, [
      new Map([
        [1, 1],
        [2, 5],
      ]),
    ]);
  });

  it('close() stops at a failure and moves no mark (the next start recovers the rest)', async () => {
    const h = harness({ delayMs: 60_000, failFirst: true });
    h.writer.add(1, 1, [point('a', 1)]);
    await h.writer.close();
    assert.equal(h.batches.length, 1);
    assert.deepEqual(h.marks, []);
  });

  it('makes updates wait while too many points wait, until the batch holding them is written', async () => {
    const h = harness({ delayMs: 60_000, batchPoints: 3, maxPendingPoints: 3, hold: true });
    assert.equal(h.writer.room(), undefined);
    const started = h.nextWrite();
    h.writer.add(1, 1, [point('a', 1), point('a', 2), point('a', 3)]);
    let roomy = false;
    const room = h.writer.room()?.then(() => (roomy = true));
    assert.ok(room, 'no room while 3 points wait');
    await started;
    assert.equal(roomy, false, 'still no room while the batch is being written');
    h.release();
    await room;
    assert.equal(h.writer.room(), undefined);
  });
});
