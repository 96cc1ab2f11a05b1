#!/usr/bin/env node
import { CommandError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, processIo, type CliIo } from './errors.js';
import { PASSWD_HELP, runPasswd } from './passwd.js';
import { PUB_HELP, runPub } from './pub.js';
import { START_HELP, runStart } from './start.js';
import { SUB_HELP, runSub } from './sub.js';

const HELP = `Usage: halyard <command> [options]

Commands:
  start     run the platform (broker and listeners)
  pub       publish a message, like mosquitto_pub
  sub       subscribe and print messages, like mosquitto_sub
  passwd    hash a password for the config file's users[]
  help      show help for a command: halyard help <command>

Run "halyard <command> --help" for a command's options.`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  start: { run: runStart, help: START_HELP },
  pub: { run: runPub, help: PUB_HELP },
  sub: { run: runSub, help: SUB_HELP },
  passwd: { run: runPasswd, help: PASSWD_HELP },
};

async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(`${HELP}\n`);
    return EXIT_USAGE;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
    if (rest[0] !== undefined && !topic) return unknown(rest[0], io);
    io.stdout.write(`${topic ? topic.help : HELP}\n`);
    return EXIT_OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return unknown(name, io);
  try {
    return await command.run(rest, io);
  } catch (err) {
    return report(name, err, io);
  }
}

function unknown(name: string, io: CliIo): number {
  io.stderr.write(`halyard: unknown command "${name}"; run "halyard help" for the list\n`);
  return EXIT_USAGE;
}

/** One line per failure; a stack only for what is genuinely a bug. */
function report(name: string, err: unknown, io: CliIo): number {
  const code = (err as { code?: unknown }).code;
  // util.parseArgs rejects unknown flags and missing values with these codes.
  if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    io.stderr.write(`halyard ${name}: ${(err as Error).message}\nRun "halyard ${name} --help" for usage.\n`);
    return EXIT_USAGE;
  }
  if (err instanceof CommandError) {
    io.stderr.write(`halyard ${name}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  io.stderr.write(`halyard ${name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT_FAILURE;
}

const code = await main(process.argv.slice(2), processIo());
process.exitCode = code;
// Normally the process ends by itself here; a handle left open by a library must not keep it alive.
setTimeout(() => process.exit(code), 1000).unref();
