import { fanIn, lossOf } from '../gen/fanin.js';
import { cpuFigures, phases, type Scenario } from './types.js';

/** 10 publishers → 1 subscriber on `bench/#`, QoS 0, 64-byte payloads. */
export const qos0FanIn: Scenario = {
  name: 'qos0-fanin',
  title: 'QoS 0 fan-in 10→1',
  quick: true,
  async run({ port, brokerPid, quick }) {
    const r = await fanIn({
      port,
      brokerPid,
      publishers: 10,
      subscribers: 1,
      filter: 'bench/#',
      qos: 0,
      payloadSize: 64,
      window: 1000,
      clientPrefix: 'f0',
      ...phases(quick),
    });
    const loss = lossOf(r);
    return [
      {
        key: 'qos0-fanin',
        label: 'QoS 0 fan-in 10→1',
        unit: 'msgs/s',
        better: 'higher',
        value: loss ? null : r.rate,
        loss,
        ...cpuFigures(r.cpu),
      },
    ];
  },
};
