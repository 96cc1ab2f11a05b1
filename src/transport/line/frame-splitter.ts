/**
 * Cuts a byte stream into frames. A frame ends with LF (a CR before it is part
 * of the terminator) or with EOT (0x04). Input longer than the maximum frame
 * length is reported once and then skipped up to the next terminator without
 * being buffered, so a client can never make the server hold more than one
 * maximum-length frame.
 */

export type Terminator = 'lf' | 'crlf' | 'eot';

export const TERMINATOR_BYTES: Record<Terminator, Buffer> = {
  lf: Buffer.from('\n'),
  crlf: Buffer.from('\r\n'),
  eot: Buffer.from([0x04]),
};

export interface FrameSplitterEvents {
  onFrame(frame: Buffer, terminator: Terminator): void;
  /** The frame being read passed the maximum length; what is left of it will be skipped. */
  onOverflow(): void;
}

const LF = 0x0a;
const CR = 0x0d;
const EOT = 0x04;

function nextTerminator(chunk: Buffer, from: number): number {
  for (let i = from; i < chunk.length; i++) {
    const byte = chunk[i];
    if (byte === LF || byte === EOT) return i;
  }
  return -1;
}

export class FrameSplitter {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private skipping = false;
  private halted = false;

  constructor(
    private readonly maxFrameLength: number,
    private readonly events: FrameSplitterEvents,
  ) {}

  /** Stops delivering frames (the connection is closing, or reading is handed elsewhere). */
  halt(): void {
    this.halted = true;
    this.pending = [];
    this.pendingLength = 0;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length && !this.halted) {
      const end = nextTerminator(chunk, start);
      if (end < 0) {
        this.keep(chunk.subarray(start));
        return;
      }
      const terminatorByte = chunk[end];
      if (this.skipping) {
        this.skipping = false;
      } else {
        this.keep(chunk.subarray(start, end));
        if (!this.skipping) this.emit(terminatorByte);
        else this.skipping = false; // the frame overflowed and ended in this very piece
      }
      start = end + 1;
    }
  }

  private keep(piece: Buffer): void {
    if (this.skipping || piece.length === 0) return;
    // One byte of slack: a CR that will turn out to belong to a CRLF terminator.
    if (this.pendingLength + piece.length > this.maxFrameLength + 1) {
      this.pending = [];
      this.pendingLength = 0;
      this.skipping = true;
      this.events.onOverflow();
      return;
    }
    this.pending.push(piece);
    this.pendingLength += piece.length;
  }

  private emit(terminatorByte: number): void {
    let frame = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingLength);
    this.pending = [];
    this.pendingLength = 0;
    let terminator: Terminator = terminatorByte === EOT ? 'eot' : 'lf';
    if (terminator === 'lf' && frame.length > 0 && frame[frame.length - 1] === CR) {
      frame = frame.subarray(0, frame.length - 1);
      terminator = 'crlf';
    }
    if (frame.length > this.maxFrameLength) {
      this.events.onOverflow();
      return;
    }
    this.events.onFrame(frame, terminator);
  }
}
