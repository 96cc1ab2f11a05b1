import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Config } from '../core/config.js';
import { isHalyardError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { openRegistry } from '../registry/open-store.js';
import { CommandError, EXIT_OK, EXIT_USAGE, UsageError, type CliIo } from './errors.js';

export const ADMIN_HELP = `Usage: halyard admin reset-password [--username <name>] [--config <file>] [--<key.path> <value>...]

Sets a new random password for a platform admin and prints it once: for when
the admin's password is lost, so it works on the registry directly, without
the API or any login. Also reactivates the account, lifts its lockout, removes
its second factor (TOTP; enrol again after signing in) and ends its sessions.

Stop Halyard first, and give the same configuration as "halyard start"
(--config, --data-dir, --database and their HALYARD_* variables): that is how
the registry (<data-dir>/registry.db, or the PostgreSQL database) is found.

  -u, --username <name>    the platform admin (default: admin)
      --config <file>      the config file, as for "halyard start"
      --data-dir <dir>     the data directory, as for "halyard start"
      --database <url>     postgres://… when the registry lives in PostgreSQL
  -h, --help               show this help`;

export async function runAdmin(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    io.stderr.write(`${ADMIN_HELP}\n`);
    return EXIT_USAGE;
  }
  if (sub === '--help' || sub === '-h' || sub === 'help' || rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${ADMIN_HELP}\n`);
    return EXIT_OK;
  }
  if (sub !== 'reset-password') throw new UsageError(`unknown subcommand "${sub}"; expected reset-password`);
  const { username, configArgs } = takeUsername(rest);
  let config: Config;
  try {
    config = loadConfig({ argv: configArgs, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (isHalyardError(err, 'CONFIG_INVALID') || isHalyardError(err, 'CONFIG_FILE_UNREADABLE')) {
      io.stderr.write(`${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const reset = await resetAdminPassword(config, username);
  io.stdout.write(
    `New password for the platform admin "${reset.username}" (shown only now; only its hash is stored):\n` +
      `  ${reset.password}\n` +
      `Its sessions were ended and any lockout lifted. Start Halyard and sign in, e.g.\n` +
      `  halyard login --username ${reset.username}\n`,
  );
  return EXIT_OK;
}

/** `--username`/`-u` is this command's; every other flag is configuration, read as `start` reads it. */
function takeUsername(argv: string[]): { username: string; configArgs: string[] } {
  let username = 'admin';
  const configArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--username' || arg === '-u') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) throw new UsageError(`${arg} needs a value`);
      username = value;
    } else if (arg.startsWith('--username=')) username = arg.slice('--username='.length);
    else configArgs.push(arg);
  }
  if (username === '') throw new UsageError('--username must not be empty');
  return { username, configArgs };
}

async function resetAdminPassword(
  config: Config,
  username: string,
): Promise<{ username: string; password: string }> {
  const where =
    config.database.url === undefined ? join(config.dataDir, 'registry.db') : 'the PostgreSQL database';
  // Opening a registry that is not there would create an empty one, in the wrong place.
  if (config.database.url === undefined && !existsSync(where)) {
    throw new CommandError(
      `no registry at ${where}: give the --data-dir (or --config, --database) that "halyard start" uses`,
    );
  }
  const { registry, store } = await openRegistry(config, silentLogger());
  try {
    return await registry.resetAdminPassword(username);
  } catch (err) {
    if (isHalyardError(err, 'NOT_FOUND')) {
      throw new CommandError(`there is no platform admin "${username}" in the registry at ${where}`);
    }
    throw err;
  } finally {
    await store.close();
  }
}
