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

  constructor(
    readonly client: RawClient,
    readonly opts: PublisherOptions,
  ) {
    const payload = makePayload(opts.payloadSize);
    payload.writeUInt16LE(opts.index, 0);
    const frame = mqtt.generate({
      cmd: 'publish',
      topic: opts.topic,
      payload,
      qos: opts.qos,
      messageId: opts.qos ? 1 : undefined,
      retain: false,
      dup: false,
    });
    this.frameLen = frame.length;
    this.payloadOff = frame.length - opts.payloadSize;
    const batch = Math.max(1, Math.min(opts.maxBatch, opts.window));
    this.template = Buffer.concat(Array.from({ length: batch }, () => frame));
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
    const n = Math.min(count, this.template.length / fl);
    const out = Buffer.allocUnsafe(n * fl);
    this.template.copy(out, 0, 0, n * fl);
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
