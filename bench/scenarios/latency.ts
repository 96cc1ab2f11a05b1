import { RawClient } from '../gen/client.js';
import { MAGIC, publishInfo, type PublishInfo } from '../gen/payload.js';
import { Publisher } from '../gen/publisher.js';
import { SeqTracker } from '../gen/seq-tracker.js';
import { CpuMeter, percentile, sleep, waitUntil } from '../gen/timing.js';
import { cpuFigures, type Scenario } from './types.js';

const RATE = 20_000;

/**
 * Open-loop latency: one publisher sends QoS 0, 64 B, at a fixed 20,000 msgs/s
 * whatever the broker does; each payload carries its *scheduled* send time, so a
 * stall anywhere (broker or generator) shows up instead of being hidden
 * (coordinated omission). One subscriber records receive − scheduled time.
 * The sender polls with setImmediate to keep to its 50 µs slots, so the
 * generator's CPU figure here is mostly that polling, not saturation.
 */
export const latency: Scenario = {
  name: 'latency',
  title: 'Latency at 20,000 msgs/s (QoS 0, 1→1)',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const warmupMs = quick ? 500 : 1000;
    const durationMs = quick ? 1500 : 4000;
    const firstMeasured = (warmupMs * RATE) / 1000;
    const total = ((warmupMs + durationMs) * RATE) / 1000;
    const samples = new Float64Array(total - firstMeasured);
    const tracker = new SeqTracker();
    let n = 0;
    let corrupt = 0;
    const clients: RawClient[] = [];
    try {
      const sub = await RawClient.connect(port, { clientId: 'lat-s' });
      clients.push(sub);
      const info: PublishInfo = { qos: 0, retain: false, packetId: 0, payloadOff: 0, payloadLen: 0 };
      sub.onPublish = (buf, off, _avail, hdrLen, remLen) => {
        const now = performance.now();
        publishInfo(buf, off, hdrLen, remLen, info);
        const p = info.payloadOff;
        if (info.payloadLen !== 64 || buf.readUInt16LE(p + 2) !== MAGIC) {
          corrupt++;
          return;
        }
        const seq = buf.readUInt32LE(p + 4);
        tracker.mark(seq);
        if (seq >= firstMeasured && n < samples.length) samples[n++] = now - buf.readDoubleLE(p + 8);
      };
      await sub.subscribe('bench/lat', 0);
      const client = await RawClient.connect(port, { clientId: 'lat-p' });
      clients.push(client);
      const pub = new Publisher(client, {
        index: 0,
        topic: 'bench/lat',
        qos: 0,
        payloadSize: 64,
        window: 100,
        maxBatch: 100,
      });
      const meter = new CpuMeter(brokerPid);
      const t0 = performance.now();
      const scheduled = (seq: number): number => t0 + (seq * 1000) / RATE;
      let metering = false;
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const now = performance.now();
          if (!metering && pub.sent === firstMeasured) {
            metering = true;
            meter.start();
          }
          const due = Math.min(total, Math.floor(((now - t0) * RATE) / 1000) + 1) - pub.sent;
          // Never cross the start of the measured interval inside one batch.
          const cap = pub.sent < firstMeasured ? firstMeasured - pub.sent : due;
          if (due > 0) pub.send(Math.min(due, cap), scheduled);
          if (pub.sent < total) setImmediate(tick);
          else resolve();
        };
        tick();
      });
      await waitUntil(() => tracker.unique + corrupt >= total, 5000);
      const cpu = meter.stop();
      await sleep(50);
      const lost = total - tracker.unique;
      const broken = clients.find((c) => c.error || c.socket.destroyed);
      const loss = broken
        ? `connection lost: ${broken.error?.message ?? 'closed by broker'}`
        : lost || tracker.duplicates || corrupt
          ? `lost ${lost}, ${tracker.duplicates} duplicates, ${corrupt} corrupt of ${total}`
          : null;
      const sorted = samples.subarray(0, n).sort();
      const common = { unit: 'ms', better: 'lower' as const, loss, ...cpuFigures(cpu) };
      const max = `max ${sorted[sorted.length - 1]?.toFixed(2)} ms`;
      return [
        {
          key: 'latency-p50',
          label: 'Latency p50 @ 20k msgs/s',
          value: loss ? null : percentile(sorted, 50),
          ...common,
        },
        {
          key: 'latency-p99',
          label: 'Latency p99 @ 20k msgs/s',
          value: loss ? null : percentile(sorted, 99),
          ...common,
          extra: max,
        },
      ];
    } finally {
      for (const c of clients) c.destroy();
    }
  },
};
