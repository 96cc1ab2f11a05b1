/**
 * The machine may be shared (other test suites, other sessions). Before each
 * run, wait — bounded — until the CPUs are nearly idle, so a run does not start
 * while a neighbour holds a core. What still overlaps shows as "other CPU".
 */
import { machineBusyMs, sleep } from '../gen/timing.js';

const SAMPLE_MS = 300;
/** Cores busy (all CPUs together) below which the machine counts as quiet. */
const QUIET = 0.25;

/** Returns the ms waited, or -1 when the machine never went quiet within `maxMs`. */
export async function waitForQuiet(maxMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) {
    const before = machineBusyMs();
    await sleep(SAMPLE_MS);
    if ((machineBusyMs() - before) / SAMPLE_MS < QUIET) return Date.now() - t0;
  }
  return -1;
}
