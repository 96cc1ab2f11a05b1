import * as mqtt from 'mqtt-packet';
import { RawClient } from '../gen/client.js';
import { MAGIC, makePayload, publishInfo, type PublishInfo } from '../gen/payload.js';
import { SeqTracker } from '../gen/seq-tracker.js';
import { CpuMeter, waitUntil } from '../gen/timing.js';
import { cpuFigures, type Scenario } from './types.js';

const WINDOW = 100;

/**
 * Stores N retained messages (QoS 1, each on its own topic, all PUBACKed), then
 * a fresh client subscribes to `#` at QoS 0; the figure is the time from
 * SUBSCRIBE to the last of the N retained messages.
 */
export const retainedStorm: Scenario = {
  name: 'retained',
  title: 'Retained-message storm (10,000 topics, then `#`)',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const count = quick ? 2000 : 10_000;
    const clients: RawClient[] = [];
    try {
      const frames = Array.from({ length: count }, (_, i) => {
        const payload = makePayload(64);
        payload.writeUInt32LE(i, 4);
        return mqtt.generate({
          cmd: 'publish',
          topic: `retained/${i}`,
          payload,
          qos: 1,
          messageId: (i % 65535) + 1,
          retain: true,
          dup: false,
        });
      });
      const pub = await RawClient.connect(port, { clientId: 'rt-p' });
      clients.push(pub);
      let sent = 0;
      const pump = (): void => {
        const n = Math.min(count - sent, WINDOW - (sent - pub.pubacks));
        if (n < WINDOW / 4 && sent + n < count) return;
        if (n > 0) pub.write(Buffer.concat(frames.slice(sent, (sent += n))));
      };
      pub.afterData = pump;
      const t0 = performance.now();
      pump();
      if (!(await waitUntil(() => pub.pubacks >= count, 60_000))) {
        throw new Error(`only ${pub.pubacks} of ${count} retained publishes acknowledged in 60 s`);
      }
      const storeMs = performance.now() - t0;

      const tracker = new SeqTracker();
      let other = 0;
      let last = 0;
      const sub = await RawClient.connect(port, { clientId: 'rt-s' });
      clients.push(sub);
      const info: PublishInfo = { qos: 0, retain: false, packetId: 0, payloadOff: 0, payloadLen: 0 };
      sub.onPublish = (buf, off, _avail, hdrLen, remLen) => {
        publishInfo(buf, off, hdrLen, remLen, info);
        if (!info.retain || info.payloadLen !== 64 || buf.readUInt16LE(info.payloadOff + 2) !== MAGIC) {
          other++;
          return;
        }
        tracker.mark(buf.readUInt32LE(info.payloadOff + 4));
        last = performance.now();
      };
      const meter = new CpuMeter(brokerPid);
      meter.start();
      const t1 = performance.now();
      await sub.subscribe('#', 0);
      await waitUntil(() => tracker.unique >= count, 30_000, 2);
      const cpu = meter.stop();
      const elapsed = last - t1;
      const loss =
        tracker.unique < count || tracker.duplicates
          ? `received ${tracker.unique} of ${count} (${tracker.duplicates} duplicates)`
          : null;
      return [
        {
          key: 'retained',
          label: `Retained storm: ${count} to a \`#\` subscriber`,
          unit: 'ms',
          better: 'lower',
          value: loss ? null : elapsed,
          loss,
          ...cpuFigures(cpu),
          extra: `${Math.round((count * 1000) / elapsed)} msgs/s; storing took ${(storeMs / 1000).toFixed(2)} s${other ? `; ${other} other messages` : ''}`,
        },
      ];
    } finally {
      for (const c of clients) c.destroy();
    }
  },
};
