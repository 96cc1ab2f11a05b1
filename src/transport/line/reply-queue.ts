/**
 * Replies in the order of the frames they answer. Each frame gets a place when
 * it arrives; a reply fills its place whenever its answer is known (a PUB when
 * the broker made it durable, a PING at once) and is written once every place
 * before it is filled.
 */

export type Reply = (bytes: Buffer | undefined) => void;

interface Place {
  bytes: Buffer | undefined;
  filled: boolean;
}

export class ReplyQueue {
  private readonly places: Place[] = [];

  constructor(private readonly write: (bytes: Buffer) => void) {}

  /** Places not yet written. */
  get outstanding(): number {
    return this.places.length;
  }

  /** A place for one reply; `undefined` fills it with nothing (a frame that needs no answer of its own). */
  reserve(): Reply {
    const place: Place = { bytes: undefined, filled: false };
    this.places.push(place);
    return (bytes) => {
      if (place.filled) return;
      place.filled = true;
      place.bytes = bytes;
      this.flush();
    };
  }

  /** The connection is closing: writes what is filled, in order, and forgets the places still open. */
  drain(): void {
    for (const place of this.places.splice(0)) if (place.bytes) this.write(place.bytes);
  }

  private flush(): void {
    while (this.places.length > 0 && this.places[0].filled) {
      const bytes = (this.places.shift() as Place).bytes;
      if (bytes) this.write(bytes);
    }
  }
}
