import { CommandError, UsageError, readAll, type CliIo } from './errors.js';
import type { Env } from './saved-login.js';

/**
 * Passwords for `halyard login` and `halyard user add`, never from a flag
 * (flags end up in shell history and `ps`): an environment variable (login:
 * HALYARD_PASSWORD; a new user's: HALYARD_NEW_PASSWORD, so that a shell which
 * exported the admin's own never hands it to new users), else stdin, where
 * a terminal gets a prompt without echo and a pipe is read to its end (one
 * trailing newline dropped).
 */
export async function readPassword(
  io: CliIo,
  opts: { env: Env; prompt: string; confirm?: boolean; envVar?: 'HALYARD_PASSWORD' | 'HALYARD_NEW_PASSWORD' },
): Promise<string> {
  const envVar = opts.envVar ?? 'HALYARD_PASSWORD';
  const fromEnv = opts.env[envVar];
  let password: string;
  if (fromEnv !== undefined && fromEnv !== '') password = fromEnv;
  else if (io.stdin.isTTY) {
    password = await promptHidden(io, opts.prompt);
    if (opts.confirm && (await promptHidden(io, 'Repeat it: ')) !== password) {
      throw new CommandError('the two passwords differ');
    }
  } else password = await readPiped(io);
  if (password.length === 0)
    throw new UsageError(`the password is empty (pipe it on stdin or set ${envVar})`);
  return password;
}

/**
 * The code of a second factor, asked for once the server answered TOTP_REQUIRED:
 * a terminal gets a prompt. Without one, stdin may already have carried the
 * password, so the code has to come as --totp or HALYARD_TOTP (read by the
 * caller: a code lives 30 seconds and is accepted once, so a flag leaks nothing
 * lasting, unlike a password).
 */
export async function promptTotpCode(io: CliIo, prompt: string): Promise<string> {
  if (!io.stdin.isTTY) {
    throw new CommandError(
      'this account has a second factor: give its current code with --totp <code> or HALYARD_TOTP',
    );
  }
  const code = (await promptHidden(io, prompt)).trim();
  if (code === '') throw new UsageError('the code is empty');
  return code;
}

/** A pipe read to its end, one trailing newline dropped (`echo pw |` and `printf pw |` both work). */
export async function readPiped(io: CliIo): Promise<string> {
  return (await readAll(io.stdin)).toString('utf8').replace(/\r?\n$/, '');
}

interface RawModeStream {
  setRawMode(raw: boolean): unknown;
}

const hasRawMode = (stream: object): stream is RawModeStream =>
  typeof (stream as Partial<RawModeStream>).setRawMode === 'function';

/**
 * Reads one line from a terminal in raw mode, so nothing is echoed. Raw mode
 * also means the terminal sends no SIGINT: Ctrl-C arrives as a byte and aborts here.
 */
export async function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  if (!hasRawMode(stdin))
    throw new UsageError('cannot turn off echo on this terminal; pipe the password on stdin');
  io.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let chars: string[] = [];
    const finish = (outcome: string | Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(chars.join(''));
        if (ch === '\u0003') return finish(new CommandError('interrupted'));
        if (ch === '\u007f' || ch === '\b') chars = chars.slice(0, -1);
        else if (ch === '\u0015')
          chars = []; // Ctrl-U: erase the line
        else if (ch >= ' ') chars.push(ch);
      }
    };
    stdin.on('data', onData);
  });
}
