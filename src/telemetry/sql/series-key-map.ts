/**
 * A map keyed by (series, key) without building a string per lookup: the
 * write path looks up every point of a batch (up to tens of thousands) in a
 * few such maps, and a joined `series\0key` string per point was a large share
 * of the write's allocations and garbage collection. The series strings are
 * mostly one object per device, so the outer lookup hits a cached hash.
 */
export class SeriesKeyMap<T> {
  private readonly bySeries = new Map<string, Map<string, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(seriesId: string, key: string): T | undefined {
    return this.bySeries.get(seriesId)?.get(key);
  }

  set(seriesId: string, key: string, value: T): void {
    let keys = this.bySeries.get(seriesId);
    if (!keys) this.bySeries.set(seriesId, (keys = new Map<string, T>()));
    if (!keys.has(key)) this.count++;
    keys.set(key, value);
  }

  /** Values in first-insertion order per series, series in first-insertion order. */
  *values(): IterableIterator<T> {
    for (const keys of this.bySeries.values()) yield* keys.values();
  }
}

/** Each series key's newest point of a batch (the last of equal times): its row in `latest`. */
export function newestPerSeriesKey<P extends { seriesId: string; key: string; ts: number }>(
  points: readonly P[],
): P[] {
  const newest = new SeriesKeyMap<P>();
  for (const p of points) {
    const seen = newest.get(p.seriesId, p.key);
    if (!seen || p.ts >= seen.ts) newest.set(p.seriesId, p.key, p);
  }
  return [...newest.values()];
}
