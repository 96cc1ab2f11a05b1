/**
 * Splits an MQTT byte stream into frames by reading only the fixed header
 * (type byte + remaining length), so counting a PUBLISH costs a few byte reads
 * instead of a full decode. The handler sees the first `min(frame, HEAD)` bytes
 * of each frame — enough for topic, packet id and the payload's sequence
 * header — and the rest of a large frame is skipped without copying.
 */
export const HEAD = 128;

/** `avail` bytes of the frame start at `buf[off]`; `avail >= min(HEAD, hdrLen + remLen)`. */
export type FrameHandler = (buf: Buffer, off: number, avail: number, hdrLen: number, remLen: number) => void;

/**
 * Reads a Remaining Length starting at `buf[from]` (the byte after the type byte),
 * looking no further than `end`. Returns the value and the header length (type
 * byte included), or undefined when the header is not all there yet.
 */
function readRemainingLength(
  buf: Buffer,
  start: number,
  end: number,
): { rem: number; hdrLen: number } | undefined {
  let rem = 0;
  let mul = 1;
  let p = start + 1;
  while (p < end && p < start + 5) {
    const b = buf[p++];
    rem += (b & 127) * mul;
    mul *= 128;
    if (b < 128) return { rem, hdrLen: p - start };
  }
  if (p >= start + 5) throw new Error('malformed remaining length');
  return undefined;
}

export class FrameScanner {
  private readonly carry = Buffer.allocUnsafe(HEAD + 8);
  private carryLen = 0;
  private skip = 0;

  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    const len = chunk.length;
    let i = 0;
    if (this.skip > 0) {
      i = Math.min(this.skip, len);
      this.skip -= i;
      if (this.skip > 0) return;
    }
    if (this.carryLen > 0) {
      i = this.finishCarry(chunk, i);
      if (i < 0) return;
    }
    while (i < len) {
      const header = readRemainingLength(chunk, i, len);
      if (!header) {
        this.saveCarry(chunk, i);
        return;
      }
      const { rem, hdrLen } = header;
      const frameLen = hdrLen + rem;
      const avail = len - i;
      if (avail >= frameLen) {
        this.onFrame(chunk, i, frameLen, hdrLen, rem);
        i += frameLen;
      } else if (avail >= Math.min(frameLen, HEAD)) {
        this.onFrame(chunk, i, avail, hdrLen, rem);
        this.skip = frameLen - avail;
        return;
      } else {
        this.saveCarry(chunk, i);
        return;
      }
    }
  }

  private saveCarry(chunk: Buffer, from: number): void {
    this.carryLen = chunk.copy(this.carry, 0, from);
  }

  /** Completes a frame head split across chunks; returns the next offset in chunk, or -1 when all is consumed. */
  private finishCarry(chunk: Buffer, from: number): number {
    const old = this.carryLen;
    const total = old + chunk.copy(this.carry, old, from, from + this.carry.length - old);
    const header = readRemainingLength(this.carry, 0, total);
    if (!header) {
      this.carryLen = total;
      return -1;
    }
    const { rem, hdrLen: p } = header;
    const frameLen = p + rem;
    if (total < Math.min(frameLen, HEAD)) {
      this.carryLen = total;
      return -1;
    }
    this.carryLen = 0;
    this.onFrame(this.carry, 0, Math.min(total, frameLen), p, rem);
    const next = from + frameLen - old;
    if (next <= chunk.length) return next;
    this.skip = next - chunk.length;
    return -1;
  }
}
