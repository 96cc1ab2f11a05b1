import { fanInScenario } from './fanin-scenario.js';

/** 10 publishers → a `$share/g/bench/#` group of 4 subscribers, QoS 0: each message to exactly one member. */
export const sharedSubscription = fanInScenario({
  name: 'shared',
  title: 'Shared subscription 10→$share group of 4',
  label: 'Shared subscription 10→4',
  quick: false,
  qos: 0,
  window: 1000,
  subscribers: 4,
  filter: '$share/g/bench/#',
  clientPrefix: 'sh',
});
