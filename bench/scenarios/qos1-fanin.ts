import { fanInScenario } from './fanin-scenario.js';

/**
 * 10 QoS 1 publishers → 1 QoS 1 subscriber that acks. A publisher's window (100,
 * Halyard's default Receive Maximum) frees a slot only once the message is both
 * PUBACKed and delivered, so no broker queue grows without bound.
 */
export const qos1FanIn = fanInScenario({
  name: 'qos1-fanin',
  title: 'QoS 1 fan-in 10→1',
  label: 'QoS 1 fan-in 10→1',
  quick: true,
  qos: 1,
  window: 100,
  subscribers: 1,
  filter: 'bench/#',
  clientPrefix: 'f1',
});
