import { fanInScenario } from './fanin-scenario.js';

/** 10 publishers → 1 subscriber on `bench/#`, QoS 0, 64-byte payloads. */
export const qos0FanIn = fanInScenario({
  name: 'qos0-fanin',
  title: 'QoS 0 fan-in 10→1',
  label: 'QoS 0 fan-in 10→1',
  quick: true,
  qos: 0,
  window: 1000,
  subscribers: 1,
  filter: 'bench/#',
  clientPrefix: 'f0',
});
