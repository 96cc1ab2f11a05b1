import { aclCost } from './acl.js';
import { connectStorm } from './connect-storm.js';
import { fanOut } from './fanout.js';
import { idleMemory } from './idle-memory.js';
import { latency } from './latency.js';
import { linePublish } from './line.js';
import { payloadSweep } from './payload-sweep.js';
import { qos0FanIn } from './qos0-fanin.js';
import { qos1FanIn } from './qos1-fanin.js';
import { retainedStorm } from './retained.js';
import { sharedSubscription } from './shared.js';
import { thingspeakUpdate, thingspeakUpdateBothCpus, thingspeakUpdateBound } from './thingspeak.js';
import {
  telemetryIngest,
  telemetryIngestMax,
  telemetryIngestMaxPg,
  telemetryIngestOver,
  telemetryIngestPg,
} from './telemetry.js';
import type { Scenario } from './types.js';

/** In the order they run and are reported. */
export const scenarios: Scenario[] = [
  qos0FanIn,
  qos1FanIn,
  fanOut,
  sharedSubscription,
  retainedStorm,
  latency,
  connectStorm,
  idleMemory,
  payloadSweep,
  aclCost,
  telemetryIngest,
  telemetryIngestOver,
  telemetryIngestMax,
  telemetryIngestPg,
  telemetryIngestMaxPg,
  thingspeakUpdate,
  thingspeakUpdateBothCpus,
  thingspeakUpdateBound,
  linePublish,
];

export function findScenario(name: string): Scenario {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`unknown scenario ${name}; known: ${scenarios.map((x) => x.name).join(', ')}`);
  return s;
}
