import { readFileSync } from 'node:fs';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `done` every `everyMs` until it holds or `ms` pass; returns whether it held. */
export async function waitUntil(done: () => boolean, ms: number, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

export interface CpuFigures {
  genCpu: number;
  brokerCpu: number;
  /** Everything else the machine did meanwhile (other processes, kernel softirq work). */
  otherCpu: number;
  elapsedMs: number;
}

/**
 * CPU time used, as a fraction of one core, by this process, the broker and
 * the rest of the machine since `start()`: a saturated generator, or a
 * neighbour stealing a core, shows next to every figure.
 */
export class CpuMeter {
  private t0 = 0;
  private self0 = process.cpuUsage();
  private broker0 = 0;
  private machine0 = 0;

  constructor(private readonly brokerPid: number) {}

  start(): void {
    this.t0 = performance.now();
    this.self0 = process.cpuUsage();
    this.broker0 = brokerCpuMs(this.brokerPid);
    this.machine0 = machineBusyMs();
  }

  /**
   * `childCpuMs`: CPU used meanwhile by a child process that does the
   * generator's work (the C connector); it counts as the generator's, not as
   * "other".
   */
  stop(childCpuMs = 0): CpuFigures {
    const elapsedMs = performance.now() - this.t0;
    const self = process.cpuUsage(this.self0);
    const genCpu = ((self.user + self.system) / 1000 + childCpuMs) / elapsedMs;
    const brokerCpu = (brokerCpuMs(this.brokerPid) - this.broker0) / elapsedMs;
    const busy = (machineBusyMs() - this.machine0) / elapsedMs;
    return { genCpu, brokerCpu, otherCpu: Math.max(0, busy - genCpu - brokerCpu), elapsedMs };
  }
}

/** How a process's main thread spent a stretch of time, as fractions of it. */
export interface MainThreadFigures {
  /** On a CPU. */
  running: number;
  /** Ready to run, waiting for a CPU (another thread or process had it). */
  waiting: number;
  /** Neither: blocked, e.g. in epoll with nothing to do, or in a system call. */
  asleep: number;
}

/**
 * The main thread of a process (its thread id is the pid), from
 * /proc/<pid>/task/<pid>/schedstat (ns on the CPU, ns waiting for one):
 * whether a server short of its target is out of CPU or waiting for
 * something (the disk, its clients).
 */
export class MainThreadMeter {
  private t0 = 0;
  private run0 = 0;
  private wait0 = 0;

  constructor(private readonly pid: number) {}

  start(): void {
    this.t0 = performance.now();
    [this.run0, this.wait0] = schedstatNs(this.pid);
  }

  /** NaN figures where /proc has no schedstat (not Linux, or scheduler statistics off). */
  stop(): MainThreadFigures {
    const elapsedNs = (performance.now() - this.t0) * 1e6;
    const [run, wait] = schedstatNs(this.pid);
    const running = (run - this.run0) / elapsedNs;
    const waiting = (wait - this.wait0) / elapsedNs;
    return { running, waiting, asleep: Math.max(0, 1 - running - waiting) };
  }
}

function schedstatNs(pid: number): [number, number] {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return [run, wait];
  } catch {
    return [NaN, NaN];
  }
}

/** Busy time of all CPUs together in ms, from the first line of /proc/stat (ticks of 10 ms). */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').slice(0, 200).split('\n')[0];
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq + steal) * 10;
  } catch {
    return NaN;
  }
}

/** utime + stime of a process in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function brokerCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
