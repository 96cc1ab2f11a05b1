import { fanIn, lossOf } from '../gen/fanin.js';
import { cpuFigures, phases, type Scenario } from './types.js';

/** A 10-publisher fan-in with 64-byte payloads; the scenarios differ only in QoS, window and subscribers. */
export function fanInScenario(spec: {
  name: string;
  title: string;
  label: string;
  quick: boolean;
  qos: 0 | 1;
  window: number;
  subscribers: number;
  filter: string;
  clientPrefix: string;
}): Scenario {
  return {
    name: spec.name,
    title: spec.title,
    quick: spec.quick,
    async run({ port, brokerPid, quick }) {
      const r = await fanIn({
        port,
        brokerPid,
        publishers: 10,
        subscribers: spec.subscribers,
        filter: spec.filter,
        qos: spec.qos,
        payloadSize: 64,
        window: spec.window,
        clientPrefix: spec.clientPrefix,
        ...phases(quick),
      });
      // A broker without shared subscriptions takes `$share/g/…` as a plain filter no topic matches.
      const unsupported =
        spec.filter.startsWith('$share/') && r.unique === 0 && r.corrupt === 0 && r.problem === null;
      const loss = unsupported ? null : lossOf(r);
      return [
        {
          key: spec.name,
          label: spec.label,
          unit: 'msgs/s',
          better: 'higher',
          value: loss ? null : r.rate,
          loss,
          ...cpuFigures(r.cpu),
          ...(unsupported
            ? { unsupported, extra: 'nothing delivered to the $share group: not supported' }
            : {}),
        },
      ];
    },
  };
}
