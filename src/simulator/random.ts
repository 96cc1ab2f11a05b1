/**
 * Deterministic randomness for the simulator. Signals hash (seed, time step)
 * instead of drawing from a generator, so a signal's value at a time is a pure
 * function: the same seed gives the same curve on every run and every machine.
 */

/** murmur3's finalizer: spreads every input bit over the 32-bit result. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A number in [0, 1) determined by `seed` and the integer `n` (any safe integer). */
export function hashUnit(seed: number, n: number): number {
  const low = n >>> 0;
  const high = Math.floor(n / 0x1_0000_0000) >>> 0;
  const h = mix32(mix32(mix32(seed ^ 0x9e3779b9) ^ low) ^ Math.imul(high, 0x27d4eb2f));
  return h / 0x1_0000_0000;
}

/** FNV-1a: a 32-bit seed from text (a device id), so each device gets its own curves. */
export function seedFromText(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return h;
}

/** Smooth noise in [-1, 1]: random values at integer x, eased in between (continuous, no jumps). */
export function valueNoise(seed: number, x: number): number {
  const i = Math.floor(x);
  const f = x - i;
  const a = hashUnit(seed, i) * 2 - 1;
  const b = hashUnit(seed, i + 1) * 2 - 1;
  const eased = f * f * (3 - 2 * f);
  return a + (b - a) * eased;
}

/**
 * Noise of several octaves in [-1, 1]: slow swings with finer wiggles on top,
 * which is what a wandering sensor value looks like.
 */
export function fractalNoise(seed: number, x: number, octaves = 4): number {
  let sum = 0;
  let weight = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    sum += weight * valueNoise(seed + o * 0x632be5ab, x * 2 ** o);
    total += weight;
    weight /= 2;
  }
  return sum / total;
}

/** mulberry32: a small seeded generator of numbers in [0, 1), for jitter and drop-out decisions. */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
