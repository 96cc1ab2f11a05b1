#!/usr/bin/env node
import {
  CommandError,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  processIo,
  type CliIo,
} from './errors.js';
const HELP = `Usage: halyard <command> [options]

Commands:
  start     run the platform (broker and listeners)
  demo      the platform with simulated devices and a demo sign-in, on throw-away data
  pub       publish a message, like mosquitto_pub
  sub       subscribe and print messages, like mosquitto_sub
  line      talk the line protocol with a listener, like nc with the login done for you
  passwd    hash a password for the config file's users[]
  help      show help for a command: halyard help <command>

Management (through the REST API of a running Halyard):
  login     sign in and save an API token for the commands below
  logout    revoke the saved API token and forget it
  device    add, list, show devices; issue credentials (token, cert…); (de)activate
  tenant    add and list tenants
  user      add and list users
  simulate  simulated devices that register and stream telemetry over MQTT

Recovery (offline, on the stopped platform's registry):
  admin     admin reset-password: a new password for a platform admin

Run "halyard <command> --help" for a command's options.`;

type Command = (argv: string[], io: CliIo) => Promise<number>;

/** Loaded on demand, so that `halyard pub` does not pay for loading the whole platform. */
const COMMANDS: Record<string, () => Promise<{ run: Command; help: string }>> = {
  start: async () => import('./start.js').then((m) => ({ run: m.runStart, help: m.START_HELP })),
  pub: async () => import('./pub.js').then((m) => ({ run: m.runPub, help: m.PUB_HELP })),
  sub: async () => import('./sub.js').then((m) => ({ run: m.runSub, help: m.SUB_HELP })),
  line: async () => import('./line.js').then((m) => ({ run: m.runLine, help: m.LINE_HELP })),
  passwd: async () => import('./passwd.js').then((m) => ({ run: m.runPasswd, help: m.PASSWD_HELP })),
  login: async () => import('./login.js').then((m) => ({ run: m.runLogin, help: m.LOGIN_HELP })),
  logout: async () => import('./login.js').then((m) => ({ run: m.runLogout, help: m.LOGOUT_HELP })),
  device: async () => import('./device.js').then((m) => ({ run: m.runDevice, help: m.DEVICE_HELP })),
  tenant: async () => import('./tenant.js').then((m) => ({ run: m.runTenant, help: m.TENANT_HELP })),
  user: async () => import('./user.js').then((m) => ({ run: m.runUser, help: m.USER_HELP })),
  admin: async () => import('./admin.js').then((m) => ({ run: m.runAdmin, help: m.ADMIN_HELP })),
  simulate: async () => import('./simulate.js').then((m) => ({ run: m.runSimulate, help: m.SIMULATE_HELP })),
  demo: async () => import('./demo.js').then((m) => ({ run: m.runDemo, help: m.DEMO_HELP })),
};

const lookup = (name: string) => (Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined);

async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(`${HELP}\n`);
    return EXIT_USAGE;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    if (rest[0] === undefined) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_OK;
    }
    const topic = lookup(rest[0]);
    if (!topic) return unknown(rest[0], io);
    io.stdout.write(`${(await topic()).help}\n`);
    return EXIT_OK;
  }
  const load = lookup(name);
  if (!load) return unknown(name, io);
  try {
    const command = await load();
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
  io.stderr.write(
    `halyard ${name}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return EXIT_FAILURE;
}

const code = await main(process.argv.slice(2), processIo());
process.exitCode = code;
// Normally the process ends by itself here; a handle left open by a library must not keep it alive.
setTimeout(() => process.exit(code), 1000).unref();
