import { fanIn, lossOf } from '../gen/fanin.js';
import { cpuFigures, phases, type Scenario } from './types.js';

/** 10 publishers → a `$share/g/bench/#` group of 4 subscribers, QoS 0: each message to exactly one member. */
export const sharedSubscription: Scenario = {
  name: 'shared',
  title: 'Shared subscription 10→$share group of 4',
  quick: false,
  async run({ port, brokerPid, quick }) {
    const r = await fanIn({
      port,
      brokerPid,
      publishers: 10,
      subscribers: 4,
      filter: '$share/g/bench/#',
      qos: 0,
      payloadSize: 64,
      window: 1000,
      clientPrefix: 'sh',
      ...phases(quick),
    });
    // A broker without shared subscriptions takes `$share/g/…` as a plain filter no topic matches.
    const unsupported = r.unique === 0 && r.corrupt === 0 && r.problem === null;
    const loss = unsupported ? null : lossOf(r);
    return [
      {
        key: 'shared',
        label: 'Shared subscription 10→4',
        unit: 'msgs/s',
        better: 'higher',
        value: loss ? null : r.rate,
        loss,
        ...cpuFigures(r.cpu),
        unsupported,
        extra: unsupported ? 'nothing delivered to the $share group: not supported' : undefined,
      },
    ];
  },
};
