/**
 * When a simulated device sends and when it drops out: pure decisions from
 * the settings and a random source, so they can be tested without timers.
 */

export type DropoutMode = 'silent' | 'offline' | 'mixed';

export interface DropoutSettings {
  /** Mean time between the drop-outs of one device. */
  everyMs: number;
  /** Mean length of a drop-out; each lasts between half and one and a half times this. */
  forMs: number;
  /** silent: connected but sending nothing; offline: the connection is lost; mixed: either. */
  mode: DropoutMode;
}

export interface Dropout {
  kind: 'silent' | 'offline';
  ms: number;
}

/** The wait before the next message: the rate's interval, moved by up to ± jitter of itself. */
export function nextInterval(intervalMs: number, jitter: number, random: () => number): number {
  return Math.max(1, intervalMs * (1 + jitter * (2 * random() - 1)));
}

/**
 * Decided after each message: a drop-out starts with probability interval /
 * everyMs, so that on average one starts every `everyMs` whatever the rate.
 */
export function maybeDropout(
  settings: DropoutSettings | undefined,
  intervalMs: number,
  random: () => number,
): Dropout | undefined {
  if (settings === undefined || random() >= intervalMs / settings.everyMs) return undefined;
  const kind = settings.mode === 'mixed' ? (random() < 0.5 ? 'silent' : 'offline') : settings.mode;
  return { kind, ms: Math.round(settings.forMs * (0.5 + random())) };
}
