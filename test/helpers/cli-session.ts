import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { IClientOptions } from 'mqtt';
import { runCli, type CliResult } from '../../src/cli/cli-test-support.js';
import { connectClient, connectRefusal, type TestClient } from './halyard-process.js';
import { startTestPlatform, type TestPlatform } from './platform.js';
import { tempDir } from './temp-dir.js';

/**
 * The platform in this process and the real CLI as a child process, as a user
 * runs it: with only the URL and a private config home ($XDG_CONFIG_HOME) set.
 */
export class CliSession {
  readonly configHome = tempDir('halyard-cli-home-');
  private readonly clients: TestClient[] = [];

  private constructor(readonly platform: TestPlatform) {}

  static async start(): Promise<CliSession> {
    return new CliSession(await startTestPlatform());
  }

  get savedLoginPath(): string {
    return join(this.configHome, 'halyard', 'cli.json');
  }

  halyard(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return runCli(args, {
      input: opts.input,
      env: {
        PATH: process.env.PATH,
        HOME: this.configHome,
        XDG_CONFIG_HOME: this.configHome,
        HALYARD_URL: this.platform.httpUrl,
        ...opts.env,
      },
    });
  }

  /** `halyard login` as the platform admin, password on stdin. */
  async login(): Promise<void> {
    ok(await this.halyard(['login', '--username', 'admin'], { input: `${this.platform.adminPassword}\n` }));
  }

  /** An MQTT 5 client without username or password unless given; dropped by dropClients(). */
  async connect(opts: IClientOptions, url = this.platform.mqttUrl): Promise<TestClient> {
    const client = await connectClient(url, {
      protocolVersion: 5,
      username: undefined,
      password: undefined,
      ...opts,
    });
    this.clients.push(client);
    return client;
  }

  /** The CONNACK reason code of a refused connection. */
  async refusal(opts: IClientOptions, url = this.platform.mqttUrl): Promise<number> {
    return connectRefusal(url, opts);
  }

  async dropClients(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.drop()));
  }

  async stop(): Promise<void> {
    await this.dropClients();
    await this.platform.stop();
  }
}

export function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Exit `code`, stderr matching `pattern`, and no stack trace. */
export function failed(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
