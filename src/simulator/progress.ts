import type { SimulationStats, SimulationSummary } from './stats.js';

/**
 * Live progress of a simulation: on a terminal one line rewritten in place
 * every REFRESH_MS; elsewhere (a log, a pipe) a line every `everyMs`, plus
 * one when every device has connected, so a reader can wait for that.
 */

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const REFRESH_MS = 250;
/** Messages per second are measured over the last few refreshes: steady, yet quick to follow a change. */
const RATE_WINDOW_MS = 2_000;

export function progressLine(stats: SimulationStats, messagesPerSecond: number): string {
  const parts = [
    `${stats.connected}/${stats.devices} connected`,
    `${messagesPerSecond.toFixed(1)} msg/s`,
    `${stats.sent} sent`,
  ];
  if (stats.qos > 0) parts.push(`${stats.acknowledged} acknowledged`);
  parts.push(counted(stats.errors, 'error'));
  if (stats.dropouts > 0) parts.push(counted(stats.dropouts, 'drop-out'));
  const line = parts.join(' · ');
  return stats.lastError === undefined ? line : `${line} (last: ${stats.lastError})`;
}

export function formatSummary(s: SimulationSummary): string {
  const seconds = s.durationMs / 1000;
  const rate = seconds > 0 ? s.sent / seconds : 0;
  const acks = s.qos === 0 ? 'QoS 0, not acknowledged' : `${s.acknowledged} acknowledged (QoS ${s.qos})`;
  return (
    `Simulated ${counted(s.devices, 'device')} for ${seconds.toFixed(1)} s: ${s.sent} sent, ${acks}, ` +
    `${counted(s.errors, 'error')}, ${counted(s.dropouts, 'drop-out')} (${rate.toFixed(1)} msg/s).` +
    (s.lastError === undefined ? '' : `\nLast error: ${s.lastError}`)
  );
}

export const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly samples: { at: number; sent: number }[] = [];
  private lastLineAt: number;
  private announcedAllConnected = false;
  private readonly tty: boolean;

  constructor(
    private readonly stats: SimulationStats,
    private readonly out: ProgressOutput,
    private readonly opts: { everyMs: number; label: string; now?: () => number },
  ) {
    this.tty = out.isTTY === true;
    this.lastLineAt = this.now();
  }

  start(): void {
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  /** Ends the live line (a terminal gets its last state and a newline). */
  stop(): void {
    clearInterval(this.timer);
    if (this.tty) this.out.write(`\r\x1b[2K${this.line()}\n`);
    // A short run may end between two refreshes: what it reached is still worth its line.
    else this.announce();
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private refresh(): void {
    const now = this.now();
    this.samples.push({ at: now, sent: this.stats.sent });
    while (this.samples.length > 2 && now - this.samples[0].at > RATE_WINDOW_MS) this.samples.shift();
    if (this.tty) {
      const line = this.line();
      const width = this.out.columns ?? 0;
      this.out.write(`\r\x1b[2K${width > 1 ? line.slice(0, width - 1) : line}`);
      return;
    }
    this.announce();
    if (now - this.lastLineAt >= this.opts.everyMs) {
      this.lastLineAt = now;
      this.out.write(`${this.line()}\n`);
    }
  }

  private announce(): void {
    if (this.announcedAllConnected || !this.stats.allConnected) return;
    this.announcedAllConnected = true;
    this.out.write(`${this.opts.label}: all ${counted(this.stats.devices, 'device')} connected\n`);
  }

  private line(): string {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const span = first && last ? (last.at - first.at) / 1000 : 0;
    const rate = span > 0 ? (last.sent - first.sent) / span : 0;
    return `${this.opts.label}: ${progressLine(this.stats, rate)}`;
  }
}
