/**
 * A throw-away PostgreSQL cluster for the telemetry scenario's PostgreSQL
 * variant: initdb in a temp dir, listening on a free loopback port, pinned to
 * the broker's CPU (Halyard and its database share one core, as Halyard and
 * its embedded SQLite do), with PostgreSQL's default durability (fsync on,
 * synchronous_commit on): a PUBACK must mean the same thing on both stores.
 * As root, the server tools run as the `postgres` user (PostgreSQL refuses root).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pinned } from './brokers.js';

const run = promisify(execFile);
const ROOTS = ['/usr/lib/postgresql'];

/** Directory of initdb/pg_ctl: /usr/lib/postgresql/<newest>/bin, else the PATH's. */
export function postgresBin(): string | null {
  for (const root of ROOTS) {
    if (!existsSync(root)) continue;
    const v = readdirSync(root)
      .filter((d) => /^\d+$/.test(d) && existsSync(path.join(root, d, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a))[0];
    if (v !== undefined) return path.join(root, v, 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(path.join(dir, 'pg_ctl')) && existsSync(path.join(dir, 'initdb'))) return dir;
  }
  return null;
}

export interface BenchPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startPostgres(cpu: number): Promise<BenchPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-pg-'));
  const owner = serverUser();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const tool = (name: string, args: string[]) => {
    const [command, argv] = pinned(cpu, path.join(bin, name), args);
    return run(command, argv, { ...owner, cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
  };
  const stop = async (): Promise<void> => {
    await tool('pg_ctl', ['stop', '-w', '-D', data, '-m', 'immediate']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await tool('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C']);
    const port = await freePort();
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
    await tool('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', log, '-o', options]);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop };
  } catch (err) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-10).join('\n') : '';
    await stop();
    throw new Error(`PostgreSQL did not start: ${(err as Error).message} ${tail}`);
  }
}

function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
