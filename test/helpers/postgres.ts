import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { tempDir } from './temp-dir.js';

const run = promisify(execFile);

const ROOT = '/usr/lib/postgresql';
const PREFERRED_VERSION = '15';

/** The server binaries: PostgreSQL 15's, or else the newest installed (another Debian release's). */
export function postgresBinDir(): string | undefined {
  if (!existsSync(ROOT)) return undefined;
  const versions = readdirSync(ROOT)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(ROOT, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  const version = versions.includes(PREFERRED_VERSION) ? PREFERRED_VERSION : versions[0];
  return version === undefined ? undefined : join(ROOT, version, 'bin');
}

/**
 * Why the PostgreSQL tests cannot run here, or undefined when they can: pass it as
 * `describe(…, { skip })`. Under CI=true a missing PostgreSQL throws instead, so CI
 * fails rather than passing without those tests.
 */
export function postgresSkipReason(): string | undefined {
  if (postgresBinDir()) return undefined;
  const reason = `no PostgreSQL server binaries under ${ROOT}/*/bin (scripts/install-test-deps.sh installs them)`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: the PostgreSQL tests must run)`);
  return reason;
}

export interface TestPostgres {
  /** A database created for the test on the throw-away cluster (user postgres, no password). */
  url: string;
  /** Another fresh, empty database on the same cluster; returns its URL. */
  createDatabase(): Promise<string>;
  /** Drops a database made by createDatabase, closing any connection still open to it. */
  dropDatabase(url: string): Promise<void>;
  /** Stops the cluster (immediate shutdown) and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts a throw-away PostgreSQL cluster in a temp dir, listening on a free
 * port of 127.0.0.1 with its socket in that dir. PostgreSQL refuses to run as
 * root, so as root the server tools run as the `postgres` user. Durability is
 * off (fsync): nothing here has to survive a crash of the machine.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresSkipReason() ?? 'PostgreSQL is not installed');
  const dir = tempDir('halyard-pg-');
  const owner = serverUser();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const tool = (name: string, args: string[]) =>
    run(join(bin, name), args, { ...owner, cwd: dir, env: { ...process.env, LC_ALL: 'C' } });

  await tool('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const options = [
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      '-c fsync=off -c synchronous_commit=off -c full_page_writes=off',
    ].join(' ');
    try {
      await tool('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', logFile, '-o', options]);
      break;
    } catch (err) {
      // Another process may have taken the port between freePort() and the bind.
      if (attempt === 3) throw new Error(`PostgreSQL did not start:\n${tail(logFile)}`, { cause: err });
    }
  }

  // Should the test process end without stop(), the server must not outlive it.
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const killOnExit = () => {
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);

  const admin = async (sql: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let databases = 0;
  const createDatabase = async () => {
    const name = `halyard_test_${++databases}`;
    await admin(`CREATE DATABASE ${name}`);
    return `postgres://postgres@127.0.0.1:${port}/${name}`;
  };
  const dropDatabase = async (url: string) => {
    const name = new URL(url).pathname.slice(1);
    if (!/^halyard_test_\d+$/.test(name)) throw new Error(`not a test database: ${url}`);
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };

  let stopped = false;
  return {
    url: await createDatabase(),
    createDatabase,
    dropDatabase,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', killOnExit);
      await tool('pg_ctl', ['stop', '-w', '-D', data, '-m', 'immediate']).catch(killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The `postgres` user's ids when running as root; undefined otherwise (run as ourselves). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no server log)';
  }
}
