import { startHalyard } from '../app.js';
import { loadConfig } from '../core/config.js';
import { isHalyardError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CliIo } from './errors.js';

export const START_HELP = `Usage: halyard start [--config <file>] [--<key.path> <value>...]

Starts the platform. Configuration, lowest precedence first:
  defaults < JSON file (--config or HALYARD_CONFIG) < HALYARD_* environment < flags

Flags name any key as a dotted path, in kebab-case or camelCase:
  --listeners.mqtt.port 1884   --broker.max-packet-size 65536   --data-dir ./data
  --listeners.mqtt.allow-anonymous       (a flag without a value means true)
Shorthands: --port (listeners.mqtt.port), --log-level (log.level),
  --database <postgres://…> (database.url: the registry in PostgreSQL instead of SQLite).

Environment variables: HALYARD_ + the key path with "__" between levels and each
level in SCREAMING_SNAKE_CASE, e.g. HALYARD_LISTENERS__MQTT__PORT=1884,
HALYARD_BROKER__MAX_PACKET_SIZE=65536, HALYARD_DATA_DIR=./data. HALYARD_LOG_LEVEL
is a shorthand for log.level; arrays (users) take JSON: HALYARD_USERS='[...]'.

On the very first start Halyard creates the platform admin ("admin") with a
random password and prints it once on standard output.

SIGTERM or SIGINT stops gracefully (clients get DISCONNECT 0x8B, data is flushed).
Exit status: 0 stopped cleanly, 1 failed to start or stop, 2 invalid configuration.`;

export async function runStart(argv: string[], io: CliIo): Promise<number> {
  if (argv.includes('--help')) {
    io.stdout.write(`${START_HELP}\n`);
    return EXIT_OK;
  }
  let config;
  try {
    config = loadConfig({ argv, env: process.env, cwd: process.cwd() });
  } catch (err) {
    if (isConfigError(err)) return configFailure(err, io);
    throw err;
  }
  const logger = createLogger({ level: config.log.level });
  let app;
  try {
    app = await startHalyard(config, { logger });
  } catch (err) {
    if (isConfigError(err)) return configFailure(err, io);
    logger.fatal({ err }, 'could not start');
    io.stderr.write(`halyard: could not start: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  if (app.initialAdmin) {
    // Straight to the terminal, never into the structured log: logs are kept and shipped, secrets must not be.
    const { username, password } = app.initialAdmin;
    io.stdout.write(
      `\nFirst start: created the platform admin. This password is shown only now; only its hash is stored.\n` +
        `  username: ${username}\n  password: ${password}\n` +
        `Sign in at /api/auth/login (or the dashboard). Lost it? Stop Halyard and run \`halyard admin reset-password\`.\n\n`,
    );
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve).once('SIGINT', resolve);
  });
  // A second signal while draining means "now": leave without waiting.
  const force = (again: NodeJS.Signals) => {
    io.stderr.write(`halyard: ${again} during shutdown, exiting immediately\n`);
    process.exit(EXIT_FAILURE);
  };
  process.once('SIGTERM', force).once('SIGINT', force);
  logger.info({ signal }, `received ${signal}`);
  try {
    await app.stop();
    return EXIT_OK;
  } catch (err) {
    logger.error({ err }, 'shutdown failed');
    return EXIT_FAILURE;
  }
}

const isConfigError = (err: unknown): err is Error =>
  isHalyardError(err, 'CONFIG_INVALID') || isHalyardError(err, 'CONFIG_FILE_UNREADABLE');

/** The message already names every bad key; a stack trace would only bury it. */
function configFailure(err: Error, io: CliIo): number {
  io.stderr.write(`${err.message}\n`);
  return EXIT_USAGE;
}
