import { closeAll, connectMany } from '../gen/connect-many.js';
import {
  connectorCpuMs,
  connectorMissing,
  failureNote,
  nodeFallbackAllowed,
  runConnector,
} from '../gen/native-connect.js';
import { CpuMeter } from '../gen/timing.js';
import { cpuFigures, type Metric, type Scenario } from './types.js';

/** 100 in flight: at most the listen backlog of every broker measured (Mosquitto's is 100). */
const CONCURRENCY = 100;

/**
 * 10,000 clients CONNECT → CONNACK, 100 attempts at a time, each closed right
 * after its CONNACK; connects/s over the whole storm. The clients come from
 * the C connector (bench/gen/connect-storm.c): a Node generator saturates its
 * core near 8,000 connects/s, below what the brokers can do.
 */
export const connectStorm: Scenario = {
  name: 'connect-storm',
  title: 'Connection storm (10,000 clients, 100 concurrent)',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const target = quick ? 2000 : 10_000;
    const missing = connectorMissing();
    if (missing !== null) {
      if (!nodeFallbackAllowed()) throw new Error(missing);
      return nodeStorm(port, brokerPid, target, missing);
    }
    const meter = new CpuMeter(brokerPid);
    meter.start();
    const { result: r } = await runConnector({ port, count: target, concurrency: CONCURRENCY });
    const cpu = meter.stop(connectorCpuMs(r));
    const loss = r.connected === 0 ? `no connection succeeded: ${r.firstError ?? '?'}` : null;
    return [
      {
        ...metric(target),
        value: loss ? null : r.rate,
        loss,
        ...cpuFigures(cpu),
        extra: failureNote(r, target),
      },
    ];
  },
};

function metric(target: number): Pick<Metric, 'key' | 'label' | 'unit' | 'better'> {
  return {
    key: 'connect-storm',
    label: `Connects/s (${target} clients)`,
    unit: 'connects/s',
    better: 'higher',
  };
}

/** The Node generator, when the connector is not built (never under CI=true): a lower bound. */
async function nodeStorm(port: number, brokerPid: number, target: number, why: string): Promise<Metric[]> {
  const meter = new CpuMeter(brokerPid);
  meter.start();
  const r = await connectMany(port, target, CONCURRENCY, 'cs');
  const cpu = meter.stop();
  await closeAll(r.sockets);
  const loss = r.reached === 0 ? `no connection succeeded: ${r.firstError}` : null;
  const failures = r.failures
    ? `reached ${r.reached}/${target} (${r.failures} failed: ${r.firstError}); `
    : '';
  return [
    {
      ...metric(target),
      value: loss ? null : (r.reached * 1000) / r.elapsedMs,
      loss,
      ...cpuFigures(cpu),
      extra: `${failures}Node generator (${why}): bounded by the generator`,
    },
  ];
}
