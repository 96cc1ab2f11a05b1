import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pubLoad, type PubLoadResult } from '../gen/line-load.js';
import { freePort } from '../lib/brokers.js';
import { setUpDevices } from './telemetry.js';
import { cpuFigures, phases, type Metric, type Scenario, type ScenarioContext } from './types.js';

const DEVICES = 10;
const WINDOW = 100;
const PAYLOAD = 'x'.repeat(64);

/**
 * The line protocol against MQTT, into the same Halyard in the same run
 * (Halyard only: neither Mosquitto nor Aedes speaks it). 10 devices, each with
 * one connection keeping 100 messages unacknowledged, 64-byte payloads:
 *
 * - `PUB|bench/line|…` frames answered OK, against MQTT 5 QoS 1 PUBLISHes
 *   answered PUBACK on the same topic (no subscriber: the protocol and broker
 *   path alone);
 * - the same on `devices/me/telemetry` with a distinct timestamp per message,
 *   where the OK and the PUBACK both wait for the telemetry store.
 *
 * A refused message or a lost connection is LOSS. The extra column gives the
 * line figure as a share of the MQTT one.
 */
export const linePublish: Scenario = {
  name: 'line-pub',
  title: 'Line protocol PUB vs MQTT QoS 1: 10 devices, window 100, 64 B (plain topic and telemetry)',
  quick: false,
  brokers: ['halyard'],
  halyard: { http: true },
  timeoutMs: 120_000,
  async halyardConfig() {
    return {
      listeners: { line: { enabled: true, host: '127.0.0.1', port: await freePort() } },
      security: { device: { publishMessagesPerSecond: 1_000_000, publishBytesPerSecond: 1_000_000_000 } },
    };
  },
  async run(ctx) {
    const tokens = await setUpDevices(ctx, DEVICES);
    const devices = tokens.map((token, i) => ({ id: `dev-${String(i).padStart(4, '0')}`, token }));
    const linePort = linePortOf(ctx);
    const base = Date.now() - 10 * 60_000;
    const load = (
      transport: 'line' | 'mqtt',
      topic: string,
      payload: (device: number, seq: number) => string,
    ) =>
      pubLoad({
        transport,
        port: transport === 'line' ? linePort : ctx.port,
        brokerPid: ctx.brokerPid,
        devices,
        topic,
        payload,
        window: WINDOW,
        ...phases(ctx.quick),
        drainMs: 10_000,
      });
    const plain = () => PAYLOAD;
    // Each message its own timestamp: no two points of a series replace each other.
    let offset = 0;
    const telemetry = () => {
      const start = (offset += 10_000_000);
      return (_device: number, seq: number) => `{"ts":${base + start + seq},"values":{"v":21.5}}`;
    };
    const linePlain = await load('line', 'bench/line', plain);
    const mqttPlain = await load('mqtt', 'bench/line', plain);
    const lineTelemetry = await load('line', 'devices/me/telemetry', telemetry());
    const mqttTelemetry = await load('mqtt', 'devices/me/telemetry', telemetry());
    return [
      ...pair('line-pub', 'plain topic', linePlain, mqttPlain),
      ...pair('line-pub-telemetry', 'devices/me/telemetry', lineTelemetry, mqttTelemetry),
    ];
  },
};

/** Broker CPU per acknowledged message, in µs: comparable even when other processes slow the run. */
const cpuPerMessage = (r: PubLoadResult): string =>
  r.rate > 0 ? `Halyard ${((r.cpu.brokerCpu * 1e6) / r.rate).toFixed(1)} µs CPU/msg` : '';

function pair(key: string, what: string, line: PubLoadResult, mqtt: PubLoadResult): Metric[] {
  const share = mqtt.rate > 0 ? `${Math.round((100 * line.rate) / mqtt.rate)}% of MQTT QoS 1; ` : '';
  return [
    metric(key, `Line PUB (OK = durable), ${what}`, line, share + cpuPerMessage(line)),
    metric(`${key}-mqtt`, `MQTT 5 QoS 1 PUBLISH, ${what}, same run`, mqtt, cpuPerMessage(mqtt)),
  ];
}

function metric(key: string, label: string, r: PubLoadResult, extra: string): Metric {
  const problems: string[] = [];
  if (r.problem) problems.push(r.problem);
  if (r.acked === 0) problems.push('nothing acknowledged');
  if (r.refused > 0) problems.push(`${r.refused} refused`);
  if (r.acked < r.sent) problems.push(`${r.sent - r.acked} of ${r.sent} never answered`);
  const loss = problems.length > 0 ? problems.join('; ') : null;
  return {
    key,
    label,
    unit: 'msgs/s',
    better: 'higher',
    value: loss ? null : r.rate,
    loss,
    ...cpuFigures(r.cpu),
    extra,
  };
}

/** The line listener's port, from the config file the runner wrote into Halyard's data dir. */
function linePortOf(ctx: ScenarioContext): number {
  if (ctx.dataDir === undefined) throw new Error('line-pub needs the data dir of Halyard');
  const config = JSON.parse(readFileSync(path.join(ctx.dataDir, 'halyard.json'), 'utf8')) as {
    listeners?: { line?: { port?: number } };
  };
  const port = config.listeners?.line?.port;
  if (!port) throw new Error('no line listener port in halyard.json');
  return port;
}
