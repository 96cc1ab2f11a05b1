import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { isHalyardError } from '../core/errors.js';
import { ID_PATTERN } from '../registry/model.js';
import type { BrokerTarget, TrafficSettings } from '../simulator/device.js';
import {
  customKind,
  DEFAULT_MIX,
  KINDS,
  planDevices,
  type MixEntry,
  type PlannedDevice,
} from '../simulator/kinds.js';
import { counted, formatSummary, ProgressReporter } from '../simulator/progress.js';
import { SIGNAL_NAMES, type SignalName } from '../simulator/signals.js';
import { Simulation, type SimulationOptions } from '../simulator/simulation.js';
import type { DropoutMode } from '../simulator/timing.js';
import { ApiClient, API_HELP, API_OPTIONS } from './api-client.js';
import { CommandError, EXIT_FAILURE, EXIT_OK, UsageError, intFlag, type CliIo } from './errors.js';
import { parseQos } from './mqtt-client.js';
import { helpRequested, oneOf, parseSubcommand } from './subcommands.js';
import { json } from './table.js';

const MAX_DEVICES = 10_000;

/** Flags `halyard simulate` shares with `halyard demo`: what the devices are and how they send. */
export const TRAFFIC_OPTIONS = {
  devices: { type: 'string', short: 'n' },
  mix: { type: 'string' },
  signals: { type: 'string' },
  rate: { type: 'string' },
  jitter: { type: 'string' },
  qos: { type: 'string', short: 'q' },
  'dropout-every': { type: 'string' },
  'dropout-for': { type: 'string' },
  'dropout-mode': { type: 'string' },
  seed: { type: 'string' },
} as const;

export const TRAFFIC_HELP = (defaults: {
  devices: number;
  rate: string;
  dropoutEvery: string;
  dropoutFor: string;
}) => `Devices and traffic:
  -n, --devices <n>           how many devices (default ${defaults.devices}; at most ${MAX_DEVICES})
      --mix <kind=weight,…>   kinds of device and their shares (default ${DEFAULT_MIX}):
                                weather  weather station: temperature, humidity, pressure
                                meter    smart meter: energy_kwh (a register that only goes up), power_w
                                pump     pump: running (on/off), flow_lpm (0 while stopped)
                                sine     signal generator: sine
      --signals <list>        instead of --mix: every device publishes these signals, from
                              ${SIGNAL_NAMES.join(', ')}
      --rate <n>              messages per second of each device (default ${defaults.rate}; 0.001-100)
      --jitter <fraction>     move each interval by up to ± this fraction (default 0.1; 0-0.9)
  -q, --qos <0|1|2>           MQTT quality of service (default 1)
      --dropout-every <time>  on average, each device drops out once per <time>
                              (default ${defaults.dropoutEvery}; 0 = never)
      --dropout-for <time>    average length of a drop-out (default ${defaults.dropoutFor})
      --dropout-mode <mode>   silent (connected, sending nothing), offline (the connection is
                              lost, then comes back) or mixed (default)
      --seed <n>              seed of the signals, jitter and drop-outs (default: random, printed)
Times are a number and a unit: 500ms, 30s, 10m, 2h, 1d (no unit: seconds).`;

export const SIMULATE_HELP = `Usage: halyard simulate [options]

Simulated devices for a running Halyard: each is registered through the REST
API (tagged "simulated", id <prefix>-<kind>-<n>) with its own access token, and
publishes JSON telemetry on devices/me/telemetry over MQTT at the chosen rate.
A re-run with the same prefix reuses the devices (each gets a fresh token; the
old ones are revoked). Progress goes to stderr; a summary to stdout at the end.
Ctrl-C (SIGINT) or SIGTERM stops, waiting briefly for outstanding acknowledgements.

${TRAFFIC_HELP({ devices: 10, rate: '1', dropoutEvery: 'never', dropoutFor: '10s' })}

Run:
      --count <n>             stop each device after <n> messages
      --duration <time>       stop after <time>; without --count or --duration: until Ctrl-C
      --prefix <text>         device ids start with <text>- (default sim)
      --tenant <id>           the devices' tenant (default: yours; platform admins must name one)
      --mqtt <url>            the broker: mqtt://, mqtts://, ws:// or wss:// (path /mqtt
                              unless given; default mqtt://<host of --url>:1883)
      --cafile <path>         trust this CA for mqtts:// and wss:// (<data dir>/tls/ca.crt)
      --json                  print the summary as JSON

${API_HELP}

Exit status: 0 ran and stopped without errors, 1 failed or counted errors, 2 bad arguments.`;

const SIMULATE_OPTIONS = {
  ...API_OPTIONS,
  ...TRAFFIC_OPTIONS,
  count: { type: 'string' },
  duration: { type: 'string' },
  prefix: { type: 'string' },
  tenant: { type: 'string' },
  mqtt: { type: 'string' },
  cafile: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_DURATION_MS = 365 * 86_400_000;

export function durationFlag(flag: string, value: string): number;
export function durationFlag(flag: string, value: string | undefined): number | undefined;
export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? 's'] : NaN;
  if (!(ms >= 1 && ms <= MAX_DURATION_MS)) {
    throw new UsageError(`${flag} must be a time such as 500ms, 30s, 10m, 2h or 1d (got "${value}")`);
  }
  return Math.round(ms);
}

export function numberFlag(flag: string, value: string | undefined, min: number, max: number) {
  if (value === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= min && n <= max))
    throw new UsageError(`${flag} must be a number from ${min} to ${max} (got "${value}")`);
  return n;
}

/** `weather=8,meter=6,pump` (a kind without a weight counts 1). */
export function parseMix(value: string): MixEntry[] {
  const entries = value.split(',').map((part) => {
    const [name, weight = '1', ...rest] = part.trim().split('=');
    const kind = KINDS.find((k) => k.id === name);
    if (!kind) {
      throw new UsageError(`--mix: unknown kind "${name}"; expected ${KINDS.map((k) => k.id).join(', ')}`);
    }
    const w = rest.length === 0 ? numberFlag(`--mix ${name}`, weight, 0, 1_000_000) : undefined;
    if (w === undefined) throw new UsageError(`--mix expects kind=weight (got "${part}")`);
    return { kind, weight: w };
  });
  if (new Set(entries.map((e) => e.kind.id)).size !== entries.length) {
    throw new UsageError('--mix names a kind twice');
  }
  if (!entries.some((e) => e.weight > 0)) throw new UsageError('--mix needs a weight above 0');
  return entries;
}

export function parseSignals(value: string): SignalName[] {
  const names = value.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(SIGNAL_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`--signals: unknown signal "${name}"; expected ${SIGNAL_NAMES.join(', ')}`);
    }
  }
  if (new Set(names).size !== names.length) throw new UsageError('--signals names a signal twice');
  return names as SignalName[];
}

type TrafficValues = { [K in keyof typeof TRAFFIC_OPTIONS]?: string };

export interface TrafficPlan {
  devices: PlannedDevice[];
  traffic: TrafficSettings;
  seed: number;
}

/** The devices and their traffic from the shared flags; every bad value is a UsageError naming its flag. */
export function trafficFromFlags(
  values: TrafficValues,
  defaults: {
    devices: number;
    ratePerSecond: number;
    prefix: string;
    dropoutEvery?: string;
    dropoutFor: string;
  },
): TrafficPlan {
  const count = intFlag('--devices', values.devices, 1, MAX_DEVICES) ?? defaults.devices;
  if (values.mix !== undefined && values.signals !== undefined) {
    throw new UsageError('give --mix or --signals, not both');
  }
  const mix =
    values.signals !== undefined
      ? [{ kind: customKind(parseSignals(values.signals)), weight: 1 }]
      : parseMix(values.mix ?? DEFAULT_MIX);
  const seed = intFlag('--seed', values.seed, 0, 0xffff_ffff) ?? randomInt(0, 0xffff_ffff);
  const everyFlag = values['dropout-every'] ?? defaults.dropoutEvery;
  const every = everyFlag === '0' ? undefined : durationFlag('--dropout-every', everyFlag);
  const mode = oneOf('--dropout-mode', values['dropout-mode'], ['silent', 'offline', 'mixed'] as const);
  if (every === undefined && (values['dropout-for'] !== undefined || mode !== undefined)) {
    throw new UsageError('--dropout-for and --dropout-mode need --dropout-every');
  }
  const dropoutMode: DropoutMode = mode ?? 'mixed';
  return {
    devices: planDevices(defaults.prefix, count, mix, seed),
    seed,
    traffic: {
      ratePerSecond: numberFlag('--rate', values.rate, 0.001, 100) ?? defaults.ratePerSecond,
      jitter: numberFlag('--jitter', values.jitter, 0, 0.9) ?? 0.1,
      qos: parseQos(values.qos ?? '1'),
      dropout:
        every === undefined
          ? undefined
          : {
              everyMs: every,
              forMs: durationFlag('--dropout-for', values['dropout-for'] ?? defaults.dropoutFor),
              mode: dropoutMode,
            },
    },
  };
}

/** --mqtt, or the API's host on 1883; --cafile read now, so a typo fails before anything is registered. */
function brokerTarget(mqttUrl: string | undefined, cafile: string | undefined, apiUrl: string): BrokerTarget {
  let url: URL;
  try {
    url = new URL(mqttUrl ?? `mqtt://${new URL(apiUrl).hostname}:1883`);
  } catch {
    throw new UsageError(`--mqtt must be a URL such as mqtt://localhost:1883 (got "${mqttUrl}")`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new UsageError(`--mqtt must be an mqtt://, mqtts://, ws:// or wss:// URL (got "${mqttUrl}")`);
  }
  // Halyard serves MQTT over WebSocket at /mqtt (docs/mqtt.md).
  if ((url.protocol === 'ws:' || url.protocol === 'wss:') && url.pathname === '/') url.pathname = '/mqtt';
  const options: IClientOptions = {};
  if (cafile !== undefined) {
    try {
      options.ca = readFileSync(cafile);
    } catch (err) {
      throw new UsageError(`cannot read --cafile ${cafile}: ${(err as NodeJS.ErrnoException).code ?? ''}`);
    }
  }
  return { url: url.href, options };
}

/**
 * Starts a simulation, turning a refusal of the provisioning (a device id
 * taken by a real device) into one CLI error line.
 */
export async function startSimulation(opts: SimulationOptions): Promise<Simulation> {
  try {
    return await Simulation.start(opts);
  } catch (err) {
    if (isHalyardError(err)) throw new CommandError(err.message);
    throw err;
  }
}

/**
 * Resolves with the first SIGINT or SIGTERM; a second one while stopping exits
 * at once. dispose() gives the signals back to their default.
 */
export function stopSignal(io: CliIo, label: string): { received: Promise<NodeJS.Signals>; dispose(): void } {
  let first: (signal: NodeJS.Signals) => void = () => undefined;
  const again = (signal: NodeJS.Signals) => {
    io.stderr.write(`${label}: ${signal} while stopping, exiting immediately\n`);
    process.exit(EXIT_FAILURE);
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    first = (signal) => {
      process.off('SIGINT', first).off('SIGTERM', first);
      process.once('SIGINT', again).once('SIGTERM', again);
      resolve(signal);
    };
    process.once('SIGINT', first).once('SIGTERM', first);
  });
  const dispose = () => {
    process.off('SIGINT', first).off('SIGTERM', first).off('SIGINT', again).off('SIGTERM', again);
  };
  return { received, dispose };
}

export async function runSimulate(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseSubcommand(argv, SIMULATE_OPTIONS);
  if (helpRequested(values, SIMULATE_HELP, io)) return EXIT_OK;
  const prefix = values.prefix ?? 'sim';
  if (!ID_PATTERN.test(`${prefix}-x`) || prefix.length > 40) {
    throw new UsageError(
      '--prefix must be 1-40 letters, digits, "_", "." or "-", starting with a letter or digit',
    );
  }
  const plan = trafficFromFlags(values, { devices: 10, ratePerSecond: 1, prefix, dropoutFor: '10s' });
  const count = intFlag('--count', values.count, 1, 1_000_000_000);
  const durationMs = durationFlag('--duration', values.duration);
  const api = await ApiClient.fromFlags(values, process.env);
  const broker = brokerTarget(values.mqtt, values.cafile, api.url);

  const signal = stopSignal(io, 'halyard simulate');
  try {
    const simulation = await startSimulation({
      api,
      tenantId: values.tenant,
      prefix,
      devices: plan.devices,
      broker,
      traffic: { ...plan.traffic, count },
      durationMs,
      seed: plan.seed,
    });
    io.stderr.write(
      `simulate: ${counted(plan.devices.length, 'device')} (${simulation.created} registered, ` +
        `${simulation.reused} reused) publishing to ${broker.url} at ${plan.traffic.ratePerSecond}/s each, ` +
        `seed ${plan.seed}; Ctrl-C stops\n`,
    );
    const progress = new ProgressReporter(simulation.stats, io.stderr, {
      everyMs: 10_000,
      label: 'simulate',
    });
    progress.start();
    await Promise.race([simulation.finished, signal.received]);
    const summary = await simulation.stop();
    progress.stop();
    io.stdout.write(
      values.json
        ? json({ ...summary, created: simulation.created, reused: simulation.reused, seed: plan.seed })
        : `${formatSummary(summary)}\n`,
    );
    return summary.errors > 0 ? EXIT_FAILURE : EXIT_OK;
  } finally {
    signal.dispose();
  }
}
