/**
 * Telemetry ingest load: N devices, each its own MQTT 5 connection logged in
 * with its access token, publishing `{"ts":…,"values":{"k0":…,…}}` at QoS 1
 * on `devices/me/telemetry`. Halyard PUBACKs a telemetry message only once its
 * points are durable, so every PUBACK is a stored message and the PUBACK
 * latency is the ingest latency.
 *
 * Two modes:
 * - paced (`ratePerDevice`): device i sends its k-th message at
 *   t0 + (i/N + k) / rate, unless `window` of its messages are unacknowledged;
 *   then it waits, and the latency still counts from the scheduled time (no
 *   coordinated omission): a store that falls behind shows in p99 and rate.
 * - max (`ratePerDevice` null): closed loop, each device keeps `window`
 *   messages in flight; latency from the send.
 *
 * Each message gets its own timestamp (base + sequence, in ms), so no two
 * points of a series share (key, ts) and the store's row count must equal
 * PUBACKed messages × keys exactly.
 */
import * as mqtt from 'mqtt-packet';
import { RawClient } from './client.js';
import { CpuMeter, percentile, sleep, waitUntil, type CpuFigures } from './timing.js';

export const TELEMETRY_TOPIC = 'devices/me/telemetry';

export interface TelemetryLoadOptions {
  port: number;
  brokerPid: number;
  /** One access token per device (the MQTT username). */
  tokens: string[];
  keys: number;
  /** Messages/s per device; null = as fast as the window allows. */
  ratePerDevice: number | null;
  /** Unacknowledged messages per device at most. */
  window: number;
  warmupMs: number;
  durationMs: number;
  /** Bound on the wait for the last PUBACKs after sending stops. */
  drainMs: number;
  /** Timestamp of each device's first message (ms); later ones add their sequence number. */
  baseTs: number;
  /** Connections opened at once while connecting. */
  connectConcurrency?: number;
}

export interface TelemetryLoadResult {
  /** PUBACKed (accepted) data points per second over the measured interval. */
  pointsPerSec: number;
  /** Messages/s the schedule asked for (paced mode), for comparison. */
  offeredPointsPerSec: number | null;
  p50Ms: number;
  p99Ms: number;
  sent: number;
  acked: number;
  /** PUBACKs with a reason code ≥ 0x80 (refused by the broker). */
  refused: number;
  /** Messages sent whose PUBACK never came, and PUBACKs for nothing in flight. */
  unacked: number;
  strayAcks: number;
  cpu: CpuFigures;
  problem: string | null;
}

const ID_SPACE = 65535;

class Device {
  sent = 0;
  acked = 0;
  refused = 0;
  stray = 0;
  readonly sentAt = new Float64Array(ID_SPACE + 1);
  private readonly inUse = new Uint8Array(ID_SPACE + 1);
  private readonly template: Buffer;
  private readonly tsOff: number;
  private readonly idOff: number;

  constructor(
    readonly client: RawClient,
    keys: number,
    private readonly baseTs: number,
    private readonly onLatency: (ms: number) => void,
  ) {
    const values = Array.from({ length: keys }, (_, k) => `"k${k}":${(k * 1.5 + 0.25).toFixed(2)}`).join(',');
    const payload = Buffer.from(`{"ts":${baseTs},"values":{${values}}}`);
    this.template = mqtt.generate(
      { cmd: 'publish', topic: TELEMETRY_TOPIC, payload, qos: 1, messageId: 1, retain: false, dup: false },
      { protocolVersion: 5 },
    );
    // The payload is last in the frame; its timestamp starts 6 bytes in (`{"ts":`).
    this.tsOff = this.template.length - payload.length + 6;
    // Topic length (2) + topic, then the packet id.
    this.idOff = this.template.indexOf(TELEMETRY_TOPIC) + TELEMETRY_TOPIC.length;
    if (String(baseTs).length !== 13) throw new Error('baseTs must have 13 digits');
    client.onPuback = (id, reason) => this.ack(id, reason);
  }

  get inflight(): number {
    return this.sent - this.acked;
  }

  /** Sends `n` messages in one write; `stampOf(k)` is the k-th one's reference time for its latency. */
  send(n: number, stampOf: (k: number) => number): void {
    const fl = this.template.length;
    const out = Buffer.allocUnsafe(n * fl);
    for (let k = 0; k < n; k++) {
      const o = k * fl;
      this.template.copy(out, o);
      const seq = this.sent++;
      out.write(String(this.baseTs + seq), o + this.tsOff, 13, 'latin1');
      const id = (seq % ID_SPACE) + 1;
      out.writeUInt16BE(id, o + this.idOff);
      this.sentAt[id] = stampOf(k);
      this.inUse[id] = 1;
    }
    this.client.write(out);
  }

  private ack(id: number, reason: number): void {
    if (this.inUse[id] !== 1) {
      this.stray++;
      return;
    }
    this.inUse[id] = 0;
    this.acked++;
    if (reason >= 0x80) this.refused++;
    this.onLatency(performance.now() - this.sentAt[id]);
  }
}

export async function telemetryLoad(o: TelemetryLoadOptions): Promise<TelemetryLoadResult> {
  const devices: Device[] = [];
  let measuring = false;
  let measuredAcks = 0;
  let latencies = new Float64Array(1 << 16);
  let nLat = 0;
  const onLatency = (ms: number): void => {
    if (!measuring) return;
    measuredAcks++;
    if (nLat === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[nLat++] = ms;
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Connect (bounded concurrency: a thousand handshakes at once would only queue in the kernel).
    const conc = o.connectConcurrency ?? 50;
    for (let i = 0; i < o.tokens.length; i += conc) {
      const batch = o.tokens.slice(i, i + conc);
      const clients = await Promise.all(
        batch.map((token, j) =>
          RawClient.connect(o.port, {
            clientId: `tele-${i + j}`,
            username: token,
            protocolVersion: 5,
            keepalive: 0,
          }),
        ),
      );
      for (const c of clients) devices.push(new Device(c, o.keys, o.baseTs, onLatency));
    }

    const t0 = performance.now() + 50;
    const n = devices.length;
    const rate = o.ratePerDevice;
    const minBatch = Math.max(1, Math.floor(o.window / 4));
    if (rate === null) {
      let scheduled = false;
      const pumpAll = (): void => {
        scheduled = false;
        if (stopped) return;
        for (const d of devices) {
          const free = o.window - d.inflight;
          if (free >= minBatch) {
            const now = performance.now();
            d.send(free, () => now);
          }
        }
      };
      const schedule = (): void => {
        if (!scheduled) {
          scheduled = true;
          setImmediate(pumpAll);
        }
      };
      for (const d of devices) d.client.afterData = schedule;
      schedule();
    } else {
      const period = 1000 / rate;
      /** Devices that had messages due but a full window at the last pace. */
      let held = 0;
      const pace = (): void => {
        if (stopped) return;
        const now = performance.now();
        held = 0;
        for (let i = 0; i < n; i++) {
          const d = devices[i];
          const first = t0 + (i / n) * period;
          // Messages due by now, less those already sent; the window caps how many go.
          const due = Math.floor((now - first) / period) + 1 - d.sent;
          const free = o.window - d.inflight;
          const count = Math.min(due, free);
          if (due > free) held++;
          if (count > 0) {
            const seq0 = d.sent;
            d.send(count, (k) => first + (seq0 + k) * period);
          }
        }
      };
      // Paced on a 2 ms tick; while windows hold messages back, PUBACKs pump too.
      timer = setInterval(pace, 2);
      let scheduled = false;
      const afterData = (): void => {
        if (held > 0 && !scheduled) {
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            pace();
          });
        }
      };
      for (const d of devices) d.client.afterData = afterData;
    }

    const meter = new CpuMeter(o.brokerPid);
    await sleep(Math.max(0, t0 - performance.now()) + o.warmupMs);
    measuring = true;
    meter.start();
    await sleep(o.durationMs);
    const cpu = meter.stop();
    measuring = false;
    stopped = true;
    if (timer) clearInterval(timer);
    const sum = (f: (d: Device) => number): number => devices.reduce((s, d) => s + f(d), 0);
    const sent = sum((d) => d.sent);
    await waitUntil(
      () => sum((d) => d.acked) >= sent || devices.some((d) => d.client.error || d.client.socket.destroyed),
      o.drainMs,
      20,
    );
    await sleep(50); // late or duplicate PUBACKs would show up here
    const acked = sum((d) => d.acked);
    const sorted = latencies.subarray(0, nLat).sort();
    const broken = devices.find((d) => d.client.error || d.client.socket.destroyed);
    return {
      pointsPerSec: (measuredAcks * o.keys * 1000) / cpu.elapsedMs,
      offeredPointsPerSec: rate === null ? null : n * rate * o.keys,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      sent,
      acked,
      refused: sum((d) => d.refused),
      unacked: sent - acked,
      strayAcks: sum((d) => d.stray),
      cpu,
      problem: broken ? `connection lost: ${broken.client.error?.message ?? 'closed by broker'}` : null,
    };
  } finally {
    stopped = true;
    if (timer) clearInterval(timer);
    for (const d of devices) d.client.destroy();
  }
}
