import { SimulatedDevice, type BrokerTarget, type TrafficSettings } from './device.js';
import type { PlannedDevice } from './kinds.js';
import { provisionDevices, type DeviceApi } from './provision.js';
import { createRng, seedFromText } from './random.js';
import { SimulationStats, type SimulationSummary } from './stats.js';

/**
 * A run of simulated devices: registered (or found again) through the API,
 * then each on its own MQTT connection until its --count is sent, the
 * duration is up, or stop() is called.
 */

export interface SimulationOptions {
  api: DeviceApi;
  /** The devices' tenant; undefined = the caller's own. */
  tenantId?: string;
  prefix: string;
  devices: readonly PlannedDevice[];
  broker: BrokerTarget;
  traffic: TrafficSettings;
  durationMs?: number;
  /** Seeds the jitter and drop-out decisions of each device (the signals have their own seeds). */
  seed: number;
}

/**
 * First connections are spread out: Halyard's default connect-rate limit is 50
 * per second and address (docs/security.md), and a thousand devices from one
 * machine must not trip it.
 */
const CONNECTS_PER_SECOND = 40;

export class Simulation {
  readonly stats: SimulationStats;
  /** Resolves when every device has sent its --count, or the duration is up; never without either. */
  readonly finished: Promise<void>;
  private readonly rampTimers: NodeJS.Timeout[] = [];
  private durationTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<SimulationSummary> | undefined;

  private constructor(
    private readonly devices: SimulatedDevice[],
    readonly created: number,
    readonly reused: number,
    opts: SimulationOptions,
    stats: SimulationStats,
  ) {
    this.stats = stats;
    const allDone = Promise.all(devices.map((d) => d.finished)).then(() => undefined);
    const timeUp =
      opts.durationMs === undefined
        ? new Promise<void>(() => undefined)
        : new Promise<void>((resolve) => (this.durationTimer = setTimeout(resolve, opts.durationMs)));
    this.finished = Promise.race([allDone, timeUp]);
    devices.forEach((device, i) => {
      this.rampTimers.push(setTimeout(() => device.start(), (i * 1000) / CONNECTS_PER_SECOND));
    });
  }

  static async start(opts: SimulationOptions): Promise<Simulation> {
    const provisioned = await provisionDevices(opts.api, opts.devices, opts);
    const stats = new SimulationStats(opts.traffic.qos);
    stats.devices = provisioned.length;
    const devices = provisioned.map(
      ({ device, token }) =>
        new SimulatedDevice(
          device,
          token,
          opts.broker,
          opts.traffic,
          stats,
          createRng(seedFromText(device.id, opts.seed ^ 0x2545f491)),
        ),
    );
    const reused = provisioned.filter((p) => p.reused).length;
    return new Simulation(devices, provisioned.length - reused, reused, opts, stats);
  }

  /** Stops every device (waiting briefly for outstanding acknowledgements) and sums up. Safe to call twice. */
  stop(): Promise<SimulationSummary> {
    this.stopping ??= (async () => {
      for (const timer of this.rampTimers) clearTimeout(timer);
      clearTimeout(this.durationTimer);
      await Promise.all(this.devices.map((d) => d.stop()));
      return this.stats.summary();
    })();
    return this.stopping;
  }
}
