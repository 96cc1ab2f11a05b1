import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CommandError } from './errors.js';

/**
 * What `halyard login` leaves behind for the other management commands: the
 * URL and an API token, in `$XDG_CONFIG_HOME/halyard/cli.json` (default
 * `~/.config/halyard/cli.json`), readable by the owner only.
 */
export interface SavedLogin {
  url: string;
  token: string;
  /** The API token's id, so that `halyard logout` can revoke it. */
  tokenId: string;
  username: string;
}

export type Env = Record<string, string | undefined>;

export function savedLoginPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'halyard', 'cli.json');
}

/** The saved login, or undefined when there is none; a file that is not ours is an error naming it. */
export async function readSavedLogin(env: Env): Promise<SavedLogin | undefined> {
  const path = savedLoginPath(env);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CommandError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!isSavedLogin(value)) {
    throw new CommandError(`${path} is not a saved login; delete it and run "halyard login" again`);
  }
  return value;
}

function isSavedLogin(value: unknown): value is SavedLogin {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (['url', 'token', 'tokenId', 'username'] as const).every((k) => typeof v[k] === 'string');
}

/**
 * Written to a temporary file created 0600 and renamed over the old one, so the
 * token is never readable by others, not even for a moment, and a crash never
 * leaves half a file.
 */
export async function writeSavedLogin(env: Env, login: SavedLogin): Promise<string> {
  const path = savedLoginPath(env);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // The mode given to writeFile is filtered by the umask; 0600 is what we promise.
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw new CommandError(`cannot save the login to ${path}: ${(err as Error).message}`);
  }
  return path;
}

/** True when there was a file to delete. */
export async function deleteSavedLogin(env: Env): Promise<boolean> {
  const path = savedLoginPath(env);
  try {
    await rm(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CommandError(`cannot delete ${path}: ${(err as Error).message}`);
  }
}
