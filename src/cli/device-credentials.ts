import { constants } from 'node:fs';
import { access, chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ApiClient, API_OPTIONS, seg } from './api-client.js';
import type { CredentialView, IssuedCredentialView } from './api-types.js';
import { CommandError, EXIT_OK, UsageError, intFlag, type CliIo } from './errors.js';
import { readPiped } from './password-input.js';
import { helpRequested, parseSubcommand, type Subcommand } from './subcommands.js';
import { formatTime, json } from './table.js';

/** `halyard device token|password|cert|hmac|revoke`: a device's credentials. */

const SECRET_OPTIONS = { ...API_OPTIONS, json: { type: 'boolean' } } as const;

const PASSWORD_OPTIONS = {
  ...SECRET_OPTIONS,
  username: { type: 'string', short: 'u' },
  'password-stdin': { type: 'boolean' },
} as const;

const CERT_OPTIONS = {
  ...SECRET_OPTIONS,
  out: { type: 'string', short: 'o', default: '.' },
  days: { type: 'string' },
  force: { type: 'boolean' },
} as const;

/** Mirrors the registry's limit: a certificate is valid for at most ten years. */
const CERTIFICATE_DAYS_MAX = 3650;

async function issue(
  api: ApiClient,
  deviceId: string,
  request: Record<string, unknown>,
): Promise<IssuedCredentialView> {
  return api.post<IssuedCredentialView>(`/devices/${seg(deviceId)}/credentials`, request);
}

/**
 * The secret alone on stdout, so `$(halyard device token d1)` captures exactly
 * it; what it is and how to use it goes to stderr, for the person at the terminal.
 */
function printSecret(io: CliIo, issued: IssuedCredentialView, asJson: boolean, note: string): number {
  if (issued.secret === undefined) throw new CommandError('the server answered without the secret');
  if (asJson) io.stdout.write(json({ credential: issued.credential, secret: issued.secret }));
  else {
    io.stderr.write(`${note}\nShown only now: Halyard stores no copy it could show again.\n`);
    io.stdout.write(`${issued.secret}\n`);
  }
  return EXIT_OK;
}

export function credentialSubcommands(help: string): Record<string, Subcommand> {
  const token: Subcommand = async (argv, io) => {
    const { values, positionals } = parseSubcommand(argv, SECRET_OPTIONS, ['id']);
    if (helpRequested(values, help, io)) return EXIT_OK;
    const api = await ApiClient.fromFlags(values, process.env);
    const issued = await issue(api, positionals[0], { kind: 'token' });
    return printSecret(
      io,
      issued,
      values.json === true,
      `Access token ${issued.credential.id} for device ${issued.credential.deviceId}: ` +
        `connect with it as the MQTT username and no password.`,
    );
  };

  const password: Subcommand = async (argv, io) => {
    const { values, positionals } = parseSubcommand(argv, PASSWORD_OPTIONS, ['id']);
    if (helpRequested(values, help, io)) return EXIT_OK;
    const username = values.username;
    if (username === undefined || username === '') throw new UsageError('--username is required');
    let chosen: string | undefined;
    if (values['password-stdin']) {
      if (io.stdin.isTTY) throw new UsageError('--password-stdin reads a pipe: printf %s "$PW" | halyard …');
      chosen = await readPiped(io);
      if (chosen === '') throw new UsageError('the password on stdin is empty');
    }
    const api = await ApiClient.fromFlags(values, process.env);
    const issued = await issue(api, positionals[0], { kind: 'password', username, password: chosen });
    if (chosen !== undefined) {
      // Nothing secret to show: the caller chose it.
      const c = issued.credential;
      if (values.json) io.stdout.write(json({ credential: c }));
      else
        io.stdout.write(`Password credential ${c.id} for device ${c.deviceId}: MQTT username ${username}.\n`);
      return EXIT_OK;
    }
    return printSecret(
      io,
      issued,
      values.json === true,
      `Password credential ${issued.credential.id} for device ${issued.credential.deviceId}: ` +
        `MQTT username ${username}, and the password below.`,
    );
  };

  const hmac: Subcommand = async (argv, io) => {
    const { values, positionals } = parseSubcommand(argv, SECRET_OPTIONS, ['id']);
    if (helpRequested(values, help, io)) return EXIT_OK;
    const api = await ApiClient.fromFlags(values, process.env);
    const issued = await issue(api, positionals[0], { kind: 'hmac' });
    return printSecret(
      io,
      issued,
      values.json === true,
      `HMAC secret (hex) ${issued.credential.id} for device ${issued.credential.deviceId}: ` +
        `answer the line protocol's nonce with HMAC-SHA256(secret, nonce).`,
    );
  };

  const cert: Subcommand = async (argv, io) => {
    const { values, positionals } = parseSubcommand(argv, CERT_OPTIONS, ['id']);
    if (helpRequested(values, help, io)) return EXIT_OK;
    const days = intFlag('--days', values.days, 1, CERTIFICATE_DAYS_MAX);
    const deviceId = positionals[0];
    const dir = resolve(values.out);
    const files = {
      key: join(dir, `${fileSafe(deviceId)}.key.pem`),
      cert: join(dir, `${fileSafe(deviceId)}.cert.pem`),
      ca: join(dir, 'ca.pem'),
    };
    // Checked before issuing: a certificate whose key could not be written would be useless.
    if (!values.force) {
      for (const file of [files.key, files.cert]) {
        if (await exists(file)) {
          throw new CommandError(`${file} exists already; use --force or another --out (nothing was issued)`);
        }
      }
    }
    const api = await ApiClient.fromFlags(values, process.env);
    const issued = await issue(api, deviceId, { kind: 'certificate', days });
    const certificate = issued.certificate;
    if (certificate?.keyPem === undefined)
      throw new CommandError('the server answered without a private key');
    try {
      await mkdir(dir, { recursive: true });
      // A new file, created 0600: overwriting (--force) would keep an old file's wider mode.
      await rm(files.key, { force: true });
      await writeFile(files.key, certificate.keyPem, { mode: 0o600, flag: 'wx' });
      await chmod(files.key, 0o600); // the mode given at creation passes through the umask
      await writeFile(files.cert, certificate.certPem);
      await writeFile(files.ca, certificate.caPem);
    } catch (err) {
      throw new CommandError(
        `issued certificate ${issued.credential.id}, but could not write it to ${dir}: ` +
          `${(err as Error).message}; revoke it with "halyard device revoke ${deviceId} ${issued.credential.id}"`,
      );
    }
    const c = issued.credential;
    if (values.json) {
      io.stdout.write(json({ credential: c, fingerprint256: certificate.fingerprint256, files }));
      return EXIT_OK;
    }
    io.stdout.write(
      `Issued client certificate ${c.id} for device ${c.deviceId}, valid until ${formatTime(c.expiresAt)}.\n` +
        `  private key:  ${files.key}  (the only copy: keep it on the device)\n` +
        `  certificate:  ${files.cert}\n` +
        `  CA:           ${files.ca}\n` +
        `  SHA-256:      ${certificate.fingerprint256}\n` +
        `Connect over mutual TLS (mqtts, port 8883) with these files and no username or password.\n`,
    );
    return EXIT_OK;
  };

  const revoke: Subcommand = async (argv, io) => {
    const { values, positionals } = parseSubcommand(argv, API_OPTIONS, ['id', 'credential-id']);
    if (helpRequested(values, help, io)) return EXIT_OK;
    const api = await ApiClient.fromFlags(values, process.env);
    const [deviceId, credentialId] = positionals;
    const c = await api.delete<CredentialView>(`/devices/${seg(deviceId)}/credentials/${seg(credentialId)}`);
    io.stdout.write(
      `Revoked ${c.kind} credential ${c.id} of device ${c.deviceId}; connections that used it were closed.\n`,
    );
    return EXIT_OK;
  };

  return { token, password, cert, hmac, revoke };
}

/** Device ids are safe in file names already (ID_PATTERN); this only guards against a server that disagrees. */
const fileSafe = (id: string) => id.replace(/[^A-Za-z0-9_.-]/g, '_');

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
