import { fanIn, lossOf } from '../gen/fanin.js';
import { cpuFigures, phases, type Scenario } from './types.js';

/**
 * 10 QoS 1 publishers → 1 QoS 1 subscriber that acks. A publisher's window (100,
 * Halyard's default Receive Maximum) frees a slot only once the message is both
 * PUBACKed and delivered, so no broker queue grows without bound.
 */
export const qos1FanIn: Scenario = {
  name: 'qos1-fanin',
  title: 'QoS 1 fan-in 10→1',
  quick: true,
  async run({ port, brokerPid, quick }) {
    const r = await fanIn({
      port,
      brokerPid,
      publishers: 10,
      subscribers: 1,
      filter: 'bench/#',
      qos: 1,
      payloadSize: 64,
      window: 100,
      clientPrefix: 'f1',
      ...phases(quick),
    });
    const loss = lossOf(r);
    return [
      {
        key: 'qos1-fanin',
        label: 'QoS 1 fan-in 10→1',
        unit: 'msgs/s',
        better: 'higher',
        value: loss ? null : r.rate,
        loss,
        ...cpuFigures(r.cpu),
      },
    ];
  },
};
