import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHalyard, type RunningHalyard } from '../app.js';
import { loadConfig } from '../core/config.js';
import { isHalyardError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { Registry } from '../registry/registry.js';
import { generatePassword } from '../registry/secrets.js';
import { SYSTEM_ACTOR } from '../registry/service.js';
import { formatSummary, ProgressReporter } from '../simulator/progress.js';
import type { PlannedDevice } from '../simulator/kinds.js';
import type { Simulation } from '../simulator/simulation.js';
import { ApiClient } from './api-client.js';
import type { LoginAnswer } from './api-types.js';
import { CommandError, EXIT_OK, intFlag, type CliIo } from './errors.js';
import { startSimulation, stopSignal, TRAFFIC_HELP, TRAFFIC_OPTIONS, trafficFromFlags } from './simulate.js';
import { helpRequested, parseSubcommand } from './subcommands.js';

const DEMO_TENANT = 'demo';
const DEMO_USER = 'demo';
const LISTENERS = ['mqtt', 'mqtts', 'http', 'https', 'line', 'lines'] as const;
type ListenerName = (typeof LISTENERS)[number];
const DEFAULT_PORTS: Record<ListenerName, number> = {
  mqtt: 1883,
  mqtts: 8883,
  http: 8080,
  https: 8443,
  line: 7000,
  lines: 7443,
};

export const DEMO_HELP = `Usage: halyard demo [options]

Halyard with simulated devices, so that the dashboard fills with data at once:
starts the platform on a throw-away data directory (removed at exit), creates
the tenant "demo" and its admin "demo" with a random password (printed once),
registers simulated devices through the REST API and streams their telemetry
over MQTT. Prints the dashboard URL and the sign-in; opens no browser.
Ctrl-C (SIGINT) or SIGTERM stops everything.

Platform:
      --data-dir <dir>        keep the data in <dir> instead (created if missing); a re-run
                              reuses its devices and gives "demo" a new password
      --host <address>        listen on this address (default 127.0.0.1: this machine only)
      --mqtt-port <n>         MQTT (default 1883)         0 = any free port
      --mqtts-port <n>        MQTT over TLS (default 8883)
      --http-port <n>         dashboard, REST API, MQTT over WebSocket (default 8080)
      --https-port <n>        the same over TLS (default 8443)
      --line-port <n>         the line protocol, for nc (default 7000)
      --lines-port <n>        the line protocol over TLS (default 7443)

${TRAFFIC_HELP({ devices: 20, rate: '1', dropoutEvery: '5m', dropoutFor: '20s' })}

  -h, --help                  show this help

The platform admin "admin" is created too, with a password nobody is shown; with
--data-dir, "halyard admin reset-password --data-dir <dir>" gives you one.
Exit status: 0 stopped cleanly, 1 failed (a port taken…), 2 bad arguments.`;

const DEMO_OPTIONS = {
  ...TRAFFIC_OPTIONS,
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  'mqtt-port': { type: 'string' },
  'mqtts-port': { type: 'string' },
  'http-port': { type: 'string' },
  'https-port': { type: 'string' },
  'line-port': { type: 'string' },
  'lines-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runDemo(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseSubcommand(argv, DEMO_OPTIONS);
  if (helpRequested(values, DEMO_HELP, io)) return EXIT_OK;
  const plan = trafficFromFlags(values, {
    devices: 20,
    ratePerSecond: 1,
    prefix: 'demo',
    dropoutEvery: '5m',
    dropoutFor: '20s',
  });
  const host = values.host ?? '127.0.0.1';
  const ports = Object.fromEntries(
    LISTENERS.map((l) => [l, intFlag(`--${l}-port`, values[`${l}-port`], 0, 65535) ?? DEFAULT_PORTS[l]]),
  ) as Record<ListenerName, number>;
  const keptDir = values['data-dir'];
  const dataDir = keptDir ?? (await mkdtemp(join(tmpdir(), 'halyard-demo-')));
  const signal = stopSignal(io, 'halyard demo');
  let app: RunningHalyard | undefined;
  try {
    app = await startPlatform(dataDir, host, ports);
    const { http, mqtt, line } = app.addresses;
    if (!http || !mqtt) throw new Error('the demo platform started without its HTTP or MQTT listener');
    const httpUrl = `http://${connectHost(host)}:${http.port}`;
    const mqttUrl = `mqtt://${connectHost(host)}:${mqtt.port}`;
    const password = await prepareDemoUser(app.registry);
    const api = await signIn(httpUrl, password);
    const simulation = await startSimulation({
      api,
      prefix: 'demo',
      devices: plan.devices,
      broker: { url: mqttUrl },
      traffic: plan.traffic,
      seed: plan.seed,
    });
    io.stdout.write(
      `\nHalyard demo is running.\n` +
        `  Dashboard: ${httpUrl}/\n` +
        `  Sign in:   username ${DEMO_USER}, password ${password}   (shown only now)\n` +
        `  MQTT:      ${mqttUrl}\n` +
        (line ? `  Line:      nc ${connectHost(host)} ${line.port}   (docs/line-protocol.md)\n` : '') +
        `  Devices:   ${describeFleet(plan.devices)} in tenant "${DEMO_TENANT}"` +
        `${simulation.reused > 0 ? `, ${simulation.reused} reused from the last run` : ''}\n` +
        `  Data:      ${dataDir}${keptDir === undefined ? ' (removed when the demo stops)' : ''}\n` +
        `Press Ctrl-C to stop.\n\n`,
    );
    await runUntilStopped(simulation, signal.received, io);
    await api.post('/auth/logout').catch(() => undefined);
    return EXIT_OK;
  } finally {
    signal.dispose();
    await app?.stop();
    if (keptDir === undefined) await rm(dataDir, { recursive: true, force: true });
  }
}

async function startPlatform(
  dataDir: string,
  host: string,
  ports: Record<ListenerName, number>,
): Promise<RunningHalyard> {
  const argv = ['--data-dir', dataDir, '--log-level', 'warn'];
  for (const l of LISTENERS)
    argv.push(`--listeners.${l}.host`, host, `--listeners.${l}.port`, String(ports[l]));
  const config = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  try {
    return await startHalyard(config, { logger: createLogger({ level: config.log.level, fd: 2 }) });
  } catch (err) {
    if (isHalyardError(err, 'LISTEN_FAILED')) {
      const { listener, port, errno } = err.context as {
        listener: ListenerName;
        port: number;
        errno?: string;
      };
      const why = errno === 'EADDRINUSE' ? `port ${port} is taken` : err.message;
      throw new CommandError(`${why} (${listener}): free it or choose another with --${listener}-port`);
    }
    throw err;
  }
}

/** The demo tenant and its admin, created on first use; the admin gets a new random password every run. */
async function prepareDemoUser(registry: Registry): Promise<string> {
  if (!(await registry.tenantById(DEMO_TENANT))) {
    await registry.createTenant(SYSTEM_ACTOR, { id: DEMO_TENANT, name: 'Demo' });
  }
  const password = generatePassword();
  const existing = (await registry.listUsers(SYSTEM_ACTOR, { tenantId: DEMO_TENANT })).find(
    (u) => u.username === DEMO_USER,
  );
  if (existing) await registry.setPassword(SYSTEM_ACTOR, existing.id, password);
  else {
    await registry.createUser(SYSTEM_ACTOR, {
      username: DEMO_USER,
      password,
      role: 'admin',
      tenantId: DEMO_TENANT,
    });
  }
  return password;
}

/** As the demo user, through the API, like anybody who runs `halyard simulate`. */
async function signIn(url: string, password: string): Promise<ApiClient> {
  const answer = await new ApiClient({ url }).post<LoginAnswer>('/auth/login', {
    username: DEMO_USER,
    password,
  });
  return new ApiClient({ url, token: answer.token, tokenSource: 'session' });
}

async function runUntilStopped(simulation: Simulation, stopped: Promise<unknown>, io: CliIo): Promise<void> {
  const progress = new ProgressReporter(simulation.stats, io.stderr, { everyMs: 60_000, label: 'demo' });
  progress.start();
  await stopped;
  const summary = await simulation.stop();
  progress.stop();
  io.stderr.write(`${formatSummary(summary)}\n`);
}

function describeFleet(devices: readonly PlannedDevice[]): string {
  const byKind = new Map<string, number>();
  for (const d of devices) byKind.set(d.kind.label, (byKind.get(d.kind.label) ?? 0) + 1);
  const parts = [...byKind].map(([label, n]) => `${n} × ${label.toLowerCase()}`);
  return `${devices.length} simulated (${parts.join(', ')})`;
}

/** How clients reach a bound address: a wildcard means this machine's loopback; IPv6 goes in brackets. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
