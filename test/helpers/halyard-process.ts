import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt, {
  type IClientOptions,
  type IConnackPacket,
  type IDisconnectPacket,
  type IPublishPacket,
  type MqttClient,
} from 'mqtt';
import { configSchema } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { hashPassword } from '../../src/devices/password.js';
import { openRegistry } from '../../src/registry/open-store.js';
import { SYSTEM_ACTOR, type RegistryService } from '../../src/registry/service.js';

/**
 * The real platform (`node dist/src/cli/main.js start`) as a child process, on
 * a temporary data directory, for tests that need real SQLite, real signals
 * and `kill -9`. The MQTT listener binds 127.0.0.1 on port 0 the first time;
 * its actual port is read from the startup log line. Restarts reuse the data
 * directory and pass the previous port explicitly, so that persistent clients
 * reconnect to the same URL. mqtts, http and https are disabled.
 *
 *   const fx = await HalyardFixture.create();
 *   let p = await fx.start();
 *   p.kill('SIGKILL'); await p.exited;
 *   p = await fx.start(); // same data dir, same port
 *   ...
 *   await fx.cleanup(); // in an after hook: kills what still runs, removes the temp dir
 */

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Every test user's credentials; scrypt parameters kept low so that connects are fast. */
export const TEST_USER = { username: 'device', password: 'device-secret' } as const;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HalyardProcess {
  /** The MQTT listener's port on 127.0.0.1. */
  port: number;
  url: string;
  pid: number;
  /** Sends a signal (default SIGTERM); a no-op once the process has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves (never rejects) when the process has exited and its output has been read. */
  exited: Promise<ExitStatus>;
  /** Every stdout line so far (pino JSON). */
  stdoutLines: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first stdout line (parsed) for which `match` is true; rejects if the process exits first. */
  waitForLog(match: (entry: LogEntry) => boolean, what?: string): Promise<LogEntry>;
}

export type LogEntry = Record<string, unknown> & { msg?: string };

export interface StartOptions {
  /** Extra CLI arguments after `start --config <file>`. */
  args?: string[];
  /** Extra environment (the child otherwise gets only PATH, so that no HALYARD_* leaks in). */
  env?: NodeJS.ProcessEnv;
  /** Safety net for start-up, so that a broken build fails the test instead of hanging it. */
  timeoutMs?: number;
}

/** Spawns the CLI with the given arguments and collects its output; does not wait for anything. */
export function spawnHalyard(args: string[], env: NodeJS.ProcessEnv = {}): HalyardProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdoutLines.push(line);
    for (const watch of [...watchers]) watch(line);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    running.delete(proc);
  });

  const proc: HalyardProcess = {
    port: 0,
    url: '',
    pid: child.pid ?? -1,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!hasExited && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    exited,
    stdoutLines,
    stderr: () => stderr,
    waitForLog(match, what = 'a log line') {
      return new Promise<LogEntry>((resolve, reject) => {
        const check = (line: string): boolean => {
          const entry = parseLogLine(line);
          if (!entry || !match(entry)) return false;
          watchers.delete(check);
          resolve(entry);
          return true;
        };
        if (stdoutLines.some(check)) return;
        watchers.add(check);
        void exited.then((status) => {
          if (!watchers.delete(check)) return;
          reject(
            new Error(
              `halyard exited (code ${status.code}, signal ${status.signal}) before ${what}\n` +
                `stdout:\n${stdoutLines.join('\n')}\nstderr:\n${stderr}`,
            ),
          );
        });
      });
    },
  };
  running.add(proc);
  return proc;
}

function parseLogLine(line: string): LogEntry | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null ? (value as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** Processes started by this module and not yet exited: killed by cleanup() and on test-process exit. */
const running = new Set<HalyardProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export class HalyardFixture {
  /** The MQTT port of the latest start; 0 (ephemeral) before the first. */
  port = 0;
  private readonly processes: HalyardProcess[] = [];

  private constructor(
    readonly dir: string,
    readonly dataDir: string,
    readonly configPath: string,
  ) {}

  /** A temp directory holding the data dir and a config file with TEST_USER (anonymous access off). */
  static async create(config: Record<string, unknown> = {}): Promise<HalyardFixture> {
    const dir = await mkdtemp(join(tmpdir(), 'halyard-proc-'));
    const dataDir = join(dir, 'data');
    const configPath = join(dir, 'halyard.json');
    const passwordHash = await hashPassword(TEST_USER.password, { N: 1024, r: 8, p: 1 });
    const file = {
      dataDir,
      log: { level: 'info' },
      listeners: {
        mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: false },
        mqtts: { enabled: false },
        http: { enabled: false },
        https: { enabled: false },
        line: { enabled: false },
        lines: { enabled: false },
      },
      broker: { sysInterval: 0 },
      users: [{ username: TEST_USER.username, passwordHash }],
      ...config,
    };
    await writeFile(configPath, JSON.stringify(file, null, 2));
    return new HalyardFixture(dir, dataDir, configPath);
  }

  /**
   * Starts the platform on this fixture's data dir (and, after the first start,
   * on the same port) and resolves once the MQTT listener has logged its address.
   * The previous process must have exited (await its `exited`).
   */
  async start(opts: StartOptions = {}): Promise<HalyardProcess> {
    const args = ['start', '--config', this.configPath, '--listeners.mqtt.port', String(this.port)];
    const proc = spawnHalyard([...args, ...(opts.args ?? [])], opts.env);
    this.processes.push(proc);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`halyard did not start within ${opts.timeoutMs ?? 15_000} ms`)),
        opts.timeoutMs ?? 15_000,
      );
    });
    try {
      const entry = await Promise.race([
        proc.waitForLog(
          (e) => e.listener === 'mqtt' && typeof e.port === 'number' && e.port > 0,
          'the MQTT listener logged its address',
        ),
        timeout,
      ]);
      proc.port = entry.port as number;
      proc.url = `mqtt://127.0.0.1:${proc.port}`;
      this.port = proc.port;
      return proc;
    } catch (err) {
      proc.kill('SIGKILL');
      await proc.exited;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Registers a tenant (if new) and a device with an access token straight in
   * the data dir's registry, while no Halyard runs on it; returns the token.
   */
  provisionTokenDevice(tenantId: string, deviceId: string): Promise<string> {
    return this.inTenant(tenantId, async (registry) => {
      await registry.createDevice(SYSTEM_ACTOR, { id: deviceId, tenantId });
      const issued = await registry.issueCredential(SYSTEM_ACTOR, deviceId, { kind: 'token' });
      return issued.secret ?? '';
    });
  }

  /**
   * Registers a tenant (if new) and an admin user of it with an API token
   * straight in the data dir's registry, while no Halyard runs on it; returns
   * the token (also the user's ThingSpeak user API key).
   */
  provisionApiToken(tenantId: string): Promise<string> {
    return this.inTenant(tenantId, async (registry) => {
      const user = await registry.createUser(SYSTEM_ACTOR, {
        username: `${tenantId}-admin`,
        password: `${tenantId}-admin-password-0123`,
        role: 'admin',
        tenantId,
      });
      const { token } = await registry.createApiToken(
        { type: 'user', id: user.id, name: user.username, tenantId, role: 'admin' },
        { name: 'test' },
      );
      return token;
    });
  }

  /** Runs `fn` on the data dir's registry, with the tenant made if new. */
  private async inTenant<T>(tenantId: string, fn: (registry: RegistryService) => Promise<T>): Promise<T> {
    const { registry, store } = await openRegistry(
      configSchema.parse({ dataDir: this.dataDir }),
      silentLogger(),
    );
    try {
      if (!(await registry.listTenants(SYSTEM_ACTOR)).some((t) => t.id === tenantId))
        await registry.createTenant(SYSTEM_ACTOR, { id: tenantId, name: tenantId });
      return await fn(registry);
    } finally {
      await store.close();
    }
  }

  /** `kill -9` the process and wait until it is gone. */
  static async crash(proc: HalyardProcess): Promise<ExitStatus> {
    proc.kill('SIGKILL');
    return proc.exited;
  }

  /** Kills every process this fixture started that still runs, then removes the temp directory. */
  async cleanup(): Promise<void> {
    for (const p of this.processes) p.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface ReceivedMessage {
  topic: string;
  payload: string;
  packet: IPublishPacket;
}

export interface TestClient {
  client: MqttClient;
  connack: IConnackPacket;
  /** Every message received, in order (also those already taken by nextMessage()). */
  received: ReceivedMessage[];
  /** The next message not yet taken; rejects after `timeoutMs` (a safety net, default 5 s) or on close. */
  nextMessage(timeoutMs?: number): Promise<ReceivedMessage>;
  /** Resolves with the broker's DISCONNECT packet (v5), if one arrives. */
  disconnectPacket: Promise<IDisconnectPacket>;
  /** Resolves when the connection has closed. */
  closed: Promise<void>;
  /** Closes the network connection without DISCONNECT, so a persistent session is kept as it is. */
  drop(): Promise<void>;
}

/**
 * Connects an MQTT.js client (no automatic reconnect) as TEST_USER. The message
 * handler is attached before the connection completes: a resumed session's
 * queued messages can arrive in the same chunk as the CONNACK.
 */
export async function connectClient(url: string, opts: IClientOptions): Promise<TestClient> {
  const client = mqtt.connect(url, {
    username: TEST_USER.username,
    password: TEST_USER.password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
  const received: ReceivedMessage[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  let isClosed = false;
  client.on('message', (topic, payload, packet) => {
    received.push({ topic, payload: payload.toString(), packet });
    wake?.();
  });
  client.on('error', () => {}); // resets when the broker is killed are expected; 'close' follows
  const closed = new Promise<void>((resolve) =>
    client.once('close', () => {
      isClosed = true;
      wake?.();
      resolve();
    }),
  );
  const disconnectPacket = new Promise<IDisconnectPacket>((resolve) => client.once('disconnect', resolve));
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
    void closed.then(() => reject(new Error(`connection to ${url} closed before CONNACK`)));
  });

  const nextMessage = async (timeoutMs = 5000): Promise<ReceivedMessage> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (taken < received.length) return received[taken++];
      if (isClosed) throw new Error('connection closed while waiting for a message');
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for message #${taken + 1}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        wake = () => {
          wake = undefined;
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  const drop = async () => {
    client.end(true);
    await closed;
  };
  return { client, connack, received, nextMessage, disconnectPacket, closed, drop };
}

/** The CONNACK reason code of a connection the broker refuses (MQTT.js rejects with it); fails if accepted. */
export async function connectRefusal(url: string, opts: IClientOptions): Promise<number> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  try {
    return await new Promise<number>((resolve, reject) => {
      client.once('connect', () => reject(new Error('connection was accepted')));
      client.once('error', (err) => resolve((err as { code?: number }).code ?? -1));
    });
  } finally {
    client.end(true);
  }
}
