import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { describeError } from '../cli/mqtt-client.js';
import type { PlannedDevice } from './kinds.js';
import type { Signal, SignalValue } from './signals.js';
import type { SimulationStats } from './stats.js';
import { maybeDropout, nextInterval, type Dropout, type DropoutSettings } from './timing.js';

/** Where "me" is the device that logged in (docs/telemetry.md). */
export const TELEMETRY_TOPIC = 'devices/me/telemetry';

/** How long stopping waits for outstanding acknowledgements before closing anyway. */
const DRAIN_TIMEOUT_MS = 5_000;

export interface TrafficSettings {
  /** Messages per second of one device. */
  ratePerSecond: number;
  /** 0–0.9: each interval varies by up to ± this fraction. */
  jitter: number;
  qos: 0 | 1 | 2;
  /** Messages per device, then it disconnects; unbounded when undefined. */
  count?: number;
  dropout?: DropoutSettings;
}

export interface BrokerTarget {
  /** mqtt://, mqtts://, ws:// or wss:// */
  url: string;
  /** Extra MQTT.js options (a CA for TLS). */
  options?: IClientOptions;
}

/**
 * One simulated device: its own MQTT connection (the access token as
 * username), a message every interval on `devices/me/telemetry` carrying its
 * signals at the send time, and drop-outs. Sending starts once the first
 * connection is up; a connection lost by surprise is retried by MQTT.js,
 * ticks that find no connection are skipped.
 */
export class SimulatedDevice {
  private readonly signals: Signal[];
  private readonly intervalMs: number;
  private connection: Connection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;
  private sent = 0;
  private lastTs = 0;
  private readonly idleWaiters = new Set<() => void>();
  private resolveFinished!: () => void;
  /** Resolves once the device has sent its --count and disconnected, or was stopped. */
  readonly finished = new Promise<void>((resolve) => (this.resolveFinished = resolve));

  constructor(
    readonly device: PlannedDevice,
    private readonly token: string,
    private readonly broker: BrokerTarget,
    private readonly traffic: TrafficSettings,
    private readonly stats: SimulationStats,
    private readonly random: () => number,
  ) {
    this.signals = device.kind.signals(device.seed);
    this.intervalMs = 1000 / traffic.ratePerSecond;
  }

  start(): void {
    this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.finished;
    this.stopped = true;
    clearTimeout(this.timer);
    await this.disconnect();
    this.resolveFinished();
  }

  /** The payload at time `t`: the device's own timestamp, so the stored point is exactly `at(t)`. */
  private reading(t: number): { ts: number; values: Record<string, SignalValue> } {
    return { ts: t, values: Object.fromEntries(this.signals.map((s) => [s.key, s.at(t)])) };
  }

  private connect(): void {
    const client = connect(this.broker.url, {
      ...this.broker.options,
      username: this.token,
      clientId: this.device.id,
      protocolVersion: 5,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 2_000,
    });
    const connection: Connection = { client, inflight: 0 };
    this.connection = connection;
    let up = false;
    client.on('connect', () => {
      up = true;
      this.stats.connectionOpened();
      if (!this.started) {
        this.started = true;
        // A random phase, so that devices started together do not all send in the same millisecond.
        this.schedule(this.random() * this.intervalMs);
      }
    });
    client.on('close', () => {
      if (!up) return;
      up = false;
      this.stats.connectionClosed();
      // Connections the simulator ends itself are detached from this.connection first.
      if (this.connection === connection) this.stats.error(`${this.device.id}: connection lost`);
    });
    client.on('error', (err) => this.stats.error(`${this.device.id}: ${describeError(err)}`));
  }

  private schedule(delayMs: number): void {
    if (!this.stopped) this.timer = setTimeout(() => this.tick(), delayMs);
  }

  private tick(): void {
    if (this.stopped) return;
    this.publish();
    if (this.traffic.count !== undefined && this.sent >= this.traffic.count) {
      void this.stop();
      return;
    }
    const interval = nextInterval(this.intervalMs, this.traffic.jitter, this.random);
    const dropout = maybeDropout(this.traffic.dropout, this.intervalMs, this.random);
    if (dropout) void this.dropOut(dropout, interval);
    else this.schedule(interval);
  }

  private publish(): void {
    const connection = this.connection;
    if (!connection?.client.connected) return;
    // Strictly increasing per device: two points with one key and timestamp would overwrite each other.
    const t = Math.max(Date.now(), this.lastTs + 1);
    this.lastTs = t;
    const { qos } = this.traffic;
    this.sent++;
    this.stats.sent++;
    connection.inflight++;
    connection.client.publish(TELEMETRY_TOPIC, JSON.stringify(this.reading(t)), { qos }, (err) => {
      connection.inflight--;
      if (err) this.stats.error(`${this.device.id}: ${describeError(err)}`);
      else if (qos > 0) this.stats.acknowledged++;
      if (connection.inflight === 0) for (const wake of [...this.idleWaiters]) wake();
    });
  }

  private async dropOut(dropout: Dropout, interval: number): Promise<void> {
    this.stats.dropouts++;
    if (dropout.kind === 'offline') {
      const connection = this.connection;
      await this.idle();
      if (this.stopped || !connection) return;
      this.connection = undefined;
      // Like a device losing power or network: no DISCONNECT, the socket just goes.
      connection.client.end(true);
    }
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      if (dropout.kind === 'offline') this.connect();
      this.schedule(interval);
    }, dropout.ms);
  }

  /** Resolves when no message of the current connection awaits its acknowledgement, or after the drain timeout. */
  private idle(): Promise<void> {
    if ((this.connection?.inflight ?? 0) === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
      this.idleWaiters.add(done);
    });
  }

  private async disconnect(): Promise<void> {
    const connection = this.connection;
    if (!connection) return;
    await this.idle();
    this.connection = undefined;
    const { client } = connection;
    // A clean DISCONNECT when connected; otherwise just stop MQTT.js from reconnecting.
    await new Promise<void>((resolve) => client.end(!client.connected, {}, () => resolve()));
  }
}

/** One MQTT connection of the device and its messages awaiting acknowledgement. */
interface Connection {
  client: MqttClient;
  inflight: number;
}
