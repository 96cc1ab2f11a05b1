import { fanIn, lossOf } from '../gen/fanin.js';
import { cpuFigures, type Metric, type Scenario } from './types.js';

const SIZES = [16, 256, 1024, 4096, 16384, 65536];
/** Bytes each publisher may have in flight: keeps 10 × window well under any broker's per-client output cap. */
const WINDOW_BYTES = 256 * 1024;

const sizeLabel = (n: number): string => (n >= 1024 ? `${n / 1024} KB` : `${n} B`);

/** QoS 0 fan-in 10→1 at each payload size, on one broker process, msgs/s with MB/s beside it. */
export const payloadSweep: Scenario = {
  name: 'payload-sweep',
  title: 'Payload-size sweep, QoS 0 fan-in 10→1',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const metrics: Metric[] = [];
    for (const size of SIZES) {
      const r = await fanIn({
        port,
        brokerPid,
        publishers: 10,
        subscribers: 1,
        filter: 'bench/#',
        qos: 0,
        payloadSize: size,
        window: Math.max(2, Math.min(1000, Math.floor(WINDOW_BYTES / size))),
        clientPrefix: `w${size}`,
        warmupMs: quick ? 300 : 500,
        durationMs: quick ? 1000 : 2000,
      });
      const loss = lossOf(r);
      metrics.push({
        key: `sweep-${size}`,
        label: `QoS 0 fan-in, ${sizeLabel(size)} payload`,
        unit: 'msgs/s',
        better: 'higher',
        value: loss ? null : r.rate,
        loss,
        ...cpuFigures(r.cpu),
        extra: `${(r.bytesPerSec / 1e6).toFixed(1)} MB/s`,
      });
    }
    return metrics;
  },
};
