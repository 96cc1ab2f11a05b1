import { RawClient } from '../gen/client.js';
import { Publisher } from '../gen/publisher.js';
import { CpuMeter, sleep, waitUntil } from '../gen/timing.js';
import { cpuFigures, phases, type Scenario } from './types.js';

const SUBSCRIBERS = 100;

/**
 * 1 publisher → 100 subscribers of one topic, QoS 0, 64 B. Subscribers only
 * count frames (fixed-header scan, no decode); the publisher's window closes
 * on the slowest subscriber, and the figure is deliveries/s summed over all.
 */
export const fanOut: Scenario = {
  name: 'fanout',
  title: 'QoS 0 fan-out 1→100',
  quick: true,
  async run({ port, brokerPid, quick }) {
    const { warmupMs, durationMs } = phases(quick);
    const counts = new Float64Array(SUBSCRIBERS);
    const subs: RawClient[] = [];
    let pub: Publisher | null = null;
    let scheduled = false;
    const pump = (): void => {
      scheduled = false;
      if (!pub) return;
      let min = Infinity;
      for (let i = 0; i < SUBSCRIBERS; i++) if (counts[i] < min) min = counts[i];
      pub.delivered = min;
      pub.pump();
    };
    const schedule = (): void => {
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    };
    try {
      for (let s = 0; s < SUBSCRIBERS; s++) {
        const sub = await RawClient.connect(port, { clientId: `fo-s${s}` });
        sub.onPublish = () => counts[s]++;
        sub.afterData = schedule;
        await sub.subscribe('bench/fan', 0);
        subs.push(sub);
      }
      const client = await RawClient.connect(port, { clientId: 'fo-p' });
      pub = new Publisher(client, {
        index: 0,
        topic: 'bench/fan',
        qos: 0,
        payloadSize: 64,
        window: 200,
        maxBatch: 200,
      });
      const total = (): number => counts.reduce((a, b) => a + b, 0);
      const meter = new CpuMeter(brokerPid);
      schedule();
      await sleep(warmupMs);
      const start = total();
      meter.start();
      await sleep(durationMs);
      const count = total() - start;
      const cpu = meter.stop();
      pub.stopped = true;
      const expected = pub.sent * SUBSCRIBERS;
      await waitUntil(() => total() >= expected, 5000);
      await sleep(50);
      const got = total();
      const broken = [...subs, client].find((c) => c.error || c.socket.destroyed);
      const loss = broken
        ? `connection lost: ${broken.error?.message ?? 'closed by broker'}`
        : got !== expected
          ? `delivered ${got} of ${expected}`
          : null;
      return [
        {
          key: 'fanout',
          label: 'QoS 0 fan-out 1→100',
          unit: 'deliveries/s',
          better: 'higher',
          value: loss ? null : (count * 1000) / cpu.elapsedMs,
          loss,
          ...cpuFigures(cpu),
        },
      ];
    } finally {
      for (const c of [...subs, ...(pub ? [pub.client] : [])]) c.destroy();
    }
  },
};
