/**
 * Which sequence numbers of one publisher arrived, as a growable bitmap: finds
 * loss (unique < sent) and duplicates at one bit operation per message.
 */
export class SeqTracker {
  private bits = new Uint8Array(1 << 14);
  unique = 0;
  duplicates = 0;
  /** Messages that arrived after a higher sequence number (reordering). */
  reordered = 0;
  private highest = -1;

  mark(seq: number): void {
    const byte = seq >>> 3;
    if (byte >= this.bits.length) {
      let size = this.bits.length * 2;
      while (size <= byte) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (seq & 7);
    if (this.bits[byte] & mask) {
      this.duplicates++;
      return;
    }
    this.bits[byte] |= mask;
    this.unique++;
    if (seq < this.highest) this.reordered++;
    else this.highest = seq;
  }
}
