/**
 * A closed-loop publisher: PUBLISH frames are encoded once (mqtt-packet) into a
 * template of `maxBatch` frames; each send copies a slice of it and patches the
 * sequence number, timestamp and packet id in place, then goes out in a single
 * write. At most `window` messages are in flight: sent but not yet delivered to
 * the subscriber(s) — and, at QoS 1, not yet PUBACKed.
 */
import * as mqtt from 'mqtt-packet';
import type { RawClient } from './client.js';
import { makePayload } from './payload.js';

export interface PublisherOptions {
  index: number;
  topic: string;
  qos: 0 | 1;
  payloadSize: number;
  window: number;
  /** Largest number of frames per write. */
  maxBatch: number;
  /**
   * Each frame of the template gets its own topic, `<topic>/<k>` (k zero-padded), and
   * sends go round the template: the publisher cycles through as many topics as
   * the template has frames (e.g. to defeat a per-topic cache in the broker).
   */
  distinctTopics?: boolean;
}

export class Publisher {
  sent = 0;
  /** Updated by whoever watches the subscriber side. */
  delivered = 0;
  stopped = false;
  readonly frameLen: number;
  private readonly template: Buffer;
  private readonly payloadOff: number;
  private readonly minBatch: number;
  /** First template frame of the next send (stays 0 unless distinctTopics). */
  private cursor = 0;

  constructor(
    readonly client: RawClient,
    readonly opts: PublisherOptions,
  ) {
    const payload = makePayload(opts.payloadSize);
    payload.writeUInt16LE(opts.index, 0);
    const batch = Math.max(1, Math.min(opts.maxBatch, opts.window));
    const digits = String(batch - 1).length;
    const frameFor = (topic: string): Buffer =>
      mqtt.generate({
        cmd: 'publish',
        topic,
        payload,
        qos: opts.qos,
        messageId: opts.qos ? 1 : undefined,
        retain: false,
        dup: false,
      });
    const frame = frameFor(opts.topic);
    // Equal lengths (padded k) keep every frame at the same offsets.
    const frames = opts.distinctTopics
      ? Array.from({ length: batch }, (_, k) => frameFor(`${opts.topic}/${String(k).padStart(digits, '0')}`))
      : Array.from({ length: batch }, () => frame);
    this.frameLen = frames[0].length;
    this.payloadOff = this.frameLen - opts.payloadSize;
    this.template = Buffer.concat(frames);
    // Waiting for a quarter of the window to free up keeps writes large.
    this.minBatch = Math.max(1, Math.floor(Math.min(batch, opts.window) / 4));
  }

  inflight(): number {
    const done = this.opts.qos ? Math.min(this.client.pubacks, this.delivered) : this.delivered;
    return this.sent - done;
  }

  /** Sends what the window allows, in one write; returns how many frames went out. */
  pump(): number {
    if (this.stopped) return 0;
    const free = this.opts.window - this.inflight();
    if (free < this.minBatch) return 0;
    return this.send(free);
  }

  /** At most one template of frames per call. `stampOf` gives a message's timestamp (default: now), e.g. its scheduled time in an open-loop test. */
  send(count: number, stampOf?: (seq: number) => number): number {
    const fl = this.frameLen;
    const frames = this.template.length / fl;
    const n = Math.min(count, frames);
    const out = Buffer.allocUnsafe(n * fl);
    const start = this.cursor;
    const first = Math.min(n, frames - start);
    this.template.copy(out, 0, start * fl, (start + first) * fl);
    if (first < n) this.template.copy(out, first * fl, 0, (n - first) * fl);
    if (this.opts.distinctTopics) this.cursor = (start + n) % frames;
    const now = performance.now();
    const qos = this.opts.qos;
    for (let k = 0, p = this.payloadOff; k < n; k++, p += fl) {
      const seq = this.sent++;
      out.writeUInt32LE(seq, p + 4);
      out.writeDoubleLE(stampOf ? stampOf(seq) : now, p + 8);
      if (qos) out.writeUInt16BE((seq % 65535) + 1, p - 2);
    }
    this.client.write(out);
    return n;
  }
}
