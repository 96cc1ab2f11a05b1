import { parseArgs } from 'node:util';
import { hashPassword } from '../devices/password.js';
import { EXIT_OK, UsageError, readAll, type CliIo } from './errors.js';

export const PASSWD_HELP = `Usage: halyard passwd [--username <name>] [--password <password>]

Prints a scrypt hash of a password for the config file's users[].passwordHash.
Never prompts: the password is read from stdin (one trailing newline is
dropped) unless --password is given, which leaves it in shell history.

  -u, --username <name>    print a complete users[] entry as JSON instead of the bare hash
      --password <text>    the password (prefer stdin)
      --help               show this help

Example:
  printf '%s' 's3cret' | halyard passwd --username sensor-1`;

const OPTIONS = {
  username: { type: 'string', short: 'u' },
  password: { type: 'string' },
  help: { type: 'boolean' },
} as const;

export async function runPasswd(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.stdout.write(`${PASSWD_HELP}\n`);
    return EXIT_OK;
  }
  let password = values.password;
  if (password === undefined) {
    // Waiting on a terminal would look like a hang: this command never prompts.
    if (io.stdin.isTTY) throw new UsageError('pipe the password on stdin or pass --password');
    password = (await readAll(io.stdin)).toString('utf8').replace(/\r?\n$/, '');
  }
  if (password.length === 0) throw new UsageError('the password is empty');
  if (values.username === '') throw new UsageError('--username must not be empty');
  const passwordHash = await hashPassword(password);
  const out =
    values.username === undefined
      ? passwordHash
      : JSON.stringify({ username: values.username, passwordHash });
  io.stdout.write(`${out}\n`);
  return EXIT_OK;
}
