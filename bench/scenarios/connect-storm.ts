import { closeAll, connectMany } from '../gen/connect-many.js';
import { CpuMeter } from '../gen/timing.js';
import { cpuFigures, type Scenario } from './types.js';

/** 100 in flight: at most the listen backlog of every broker measured (Mosquitto's is 100). */
const CONCURRENCY = 100;

/** 10,000 clients CONNECT → CONNACK, 100 attempts at a time; connects/s over the whole storm. */
export const connectStorm: Scenario = {
  name: 'connect-storm',
  title: 'Connection storm (10,000 clients, 100 concurrent)',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const target = quick ? 2000 : 10_000;
    const meter = new CpuMeter(brokerPid);
    meter.start();
    const r = await connectMany(port, target, CONCURRENCY, 'cs');
    const cpu = meter.stop();
    await closeAll(r.sockets);
    const loss = r.reached === 0 ? `no connection succeeded: ${r.firstError}` : null;
    return [
      {
        key: 'connect-storm',
        label: `Connects/s (${target} clients)`,
        unit: 'connects/s',
        better: 'higher',
        value: loss ? null : (r.reached * 1000) / r.elapsedMs,
        loss,
        ...cpuFigures(cpu),
        extra: r.failures
          ? `reached ${r.reached}/${target} (${r.failures} failed: ${r.firstError})`
          : undefined,
      },
    ];
  },
};
