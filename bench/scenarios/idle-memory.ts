import { closeAll, connectMany } from '../gen/connect-many.js';
import { rssBytes, sleep } from '../gen/timing.js';
import type { Scenario } from './types.js';

/**
 * Broker RSS (/proc/<pid>/status VmRSS) before and after 10,000 idle clients
 * (keep-alive 0, nothing subscribed), divided by the connections reached.
 * Both readings follow a settle pause so start-up and connect-time garbage
 * are not counted.
 */
export const idleMemory: Scenario = {
  name: 'idle-memory',
  title: 'Memory per idle connection (10,000 clients)',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const target = quick ? 2000 : 10_000;
    await sleep(1000);
    const before = rssBytes(brokerPid);
    const r = await connectMany(port, target, 100, 'im');
    await sleep(2000);
    const after = rssBytes(brokerPid);
    await closeAll(r.sockets);
    const loss = r.reached === 0 ? `no connection succeeded: ${r.firstError}` : null;
    return [
      {
        key: 'idle-memory',
        label: 'Memory per idle connection',
        unit: 'B/conn',
        better: 'lower',
        value: loss ? null : (after - before) / r.reached,
        loss,
        genCpu: NaN,
        brokerCpu: NaN,
        otherCpu: NaN,
        extra: `${r.reached} clients, RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB`,
      },
    ];
  },
};
