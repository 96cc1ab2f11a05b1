import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, chooseUrl, DEFAULT_URL, seg, SHORT_TIMEOUT_MS } from './api-client.js';
import type { ApiTokenView, LoginAnswer } from './api-types.js';
import { CommandError, EXIT_OK, UsageError, type CliIo } from './errors.js';
import { promptTotpCode, readPassword } from './password-input.js';
import { deleteSavedLogin, readSavedLogin, savedLoginPath, writeSavedLogin } from './saved-login.js';

export const LOGIN_HELP = `Usage: halyard login --username <name> [--url <url>] [--totp <code>]

Signs in to a running Halyard, creates an API token named "cli@<hostname>" and
saves it with the URL to $XDG_CONFIG_HOME/halyard/cli.json (default
~/.config/halyard/cli.json, mode 0600). The management commands (device,
tenant, user) use it from then on; "halyard logout" revokes it.

The password is read from HALYARD_PASSWORD, else from stdin: a terminal gets a
prompt without echo, a pipe is read to its end. An account with a second factor
also needs the current code of its authenticator app: from --totp, else
HALYARD_TOTP, else a prompt on the terminal once the server asks for it.

  -u, --username <name>  who signs in (required)
      --url <url>        Halyard's HTTP address; default: HALYARD_URL, else the
                         saved login's, else ${DEFAULT_URL}
      --totp <code>      the 6-digit code of the second factor (valid 30 seconds,
                         accepted once)
  -h, --help             show this help

Example:
  halyard login --url http://halyard.local:8080 --username admin`;

export const LOGOUT_HELP = `Usage: halyard logout

Revokes the API token saved by "halyard login" and deletes the saved login.
If the server cannot be reached, the file is deleted anyway and the command
fails, naming the token still to revoke.`;

const LOGIN_OPTIONS = {
  username: { type: 'string', short: 'u' },
  url: { type: 'string' },
  totp: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function runLogin(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: LOGIN_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.stdout.write(`${LOGIN_HELP}\n`);
    return EXIT_OK;
  }
  const username = values.username;
  if (username === undefined || username === '') throw new UsageError('--username is required');
  const env = process.env;
  const previous = await readSavedLogin(env);
  const url = chooseUrl(values.url, env, previous?.url);
  const password = await readPassword(io, { env, prompt: `Password for ${username} at ${url}: ` });
  const totp = values.totp || env.HALYARD_TOTP || undefined;

  const signIn = await signInWithCode(new ApiClient({ url }), { username, password, totp }, io);
  // The session only lives long enough to create the API token: that is what is kept.
  const session = new ApiClient({ url, token: signIn.token, tokenSource: 'session' });
  let created: { token: string; record: ApiTokenView };
  try {
    created = await session.post('/tokens', { name: `cli@${hostname()}` });
  } finally {
    await session.post('/auth/logout').catch(() => undefined);
  }
  const path = await writeSavedLogin(env, {
    url,
    token: created.token,
    tokenId: created.record.id,
    username,
  });
  // Logging in again replaces the saved token: the one it replaces must not stay valid unseen.
  if (previous && previous.tokenId !== created.record.id) {
    await new ApiClient({ url: previous.url, token: previous.token, timeoutMs: SHORT_TIMEOUT_MS })
      .delete(`/tokens/${seg(previous.tokenId)}`)
      .catch(() => undefined);
  }
  const { user } = signIn;
  const who = user.tenantId === null ? 'platform admin' : `${user.role} of tenant ${user.tenantId}`;
  io.stdout.write(
    `Logged in to ${url} as ${user.username} (${who}).\n` +
      `API token "${created.record.name}" saved to ${path}; "halyard logout" revokes it.\n`,
  );
  return EXIT_OK;
}

/** Signs in; when the account turns out to have a second factor and no code was given, asks for one. */
async function signInWithCode(
  client: ApiClient,
  credentials: { username: string; password: string; totp: string | undefined },
  io: CliIo,
): Promise<LoginAnswer> {
  try {
    return await client.post<LoginAnswer>('/auth/login', credentials);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === 'TOTP_REQUIRED') || credentials.totp !== undefined)
      throw err;
  }
  const totp = await promptTotpCode(io, `Code of ${credentials.username}'s second factor: `);
  return client.post<LoginAnswer>('/auth/login', { ...credentials, totp });
}

export async function runLogout(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(`${LOGOUT_HELP}\n`);
    return EXIT_OK;
  }
  const env = process.env;
  const path = savedLoginPath(env);
  const saved = await readSavedLogin(env);
  if (!saved) {
    io.stdout.write(`Not logged in (no ${path}).\n`);
    return EXIT_OK;
  }
  let revokeFailure: CommandError | undefined;
  try {
    await new ApiClient({ url: saved.url, token: saved.token }).delete(`/tokens/${seg(saved.tokenId)}`);
  } catch (err) {
    // 401: the token is already invalid (revoked, expired, or its user deleted); nothing left to revoke.
    const gone = err instanceof ApiError && (err.status === 401 || err.status === 404);
    if (!gone) revokeFailure = err instanceof CommandError ? err : new CommandError(String(err));
  }
  await deleteSavedLogin(env);
  if (revokeFailure) {
    throw new CommandError(
      `deleted ${path}, but the API token (id ${saved.tokenId}) is still valid: ${revokeFailure.message}; ` +
        `revoke it later with DELETE /api/tokens/${saved.tokenId}`,
    );
  }
  io.stdout.write(`Logged out of ${saved.url}: revoked the API token and deleted ${path}.\n`);
  return EXIT_OK;
}
