import { generatePassword } from '../registry/secrets.js';
import { ApiClient, API_HELP, API_OPTIONS } from './api-client.js';
import type { UserView } from './api-types.js';
import { EXIT_OK, UsageError, type CliIo } from './errors.js';
import { readPassword } from './password-input.js';
import { dispatch, helpRequested, oneOf, parseSubcommand, type Subcommand } from './subcommands.js';
import { formatTable, formatTime, json, yesNo } from './table.js';

export const USER_HELP = `Usage: halyard user <subcommand> [options]

Manages the people who sign in to Halyard (dashboard, REST API, CLI) through
the REST API of a running Halyard.

Subcommands:
  add --username <name> --role <role> [options]
                               create a user; role: admin, operator or viewer
      --tenant <id>              their tenant (default: yours)
      --platform                 a platform admin, of no tenant (platform admins only)
      --generate-password        generate a password and print it (once); otherwise it is
                                 read from HALYARD_NEW_PASSWORD, else stdin (a terminal gets a
                                 prompt without echo)
  list [--tenant <id>]         list users (ID, USERNAME, TENANT, ROLE, ACTIVE, CREATED)

  --json                       machine-readable output

${API_HELP}`;

const ADD_OPTIONS = {
  ...API_OPTIONS,
  username: { type: 'string', short: 'u' },
  role: { type: 'string' },
  tenant: { type: 'string' },
  platform: { type: 'boolean' },
  'generate-password': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const LIST_OPTIONS = { ...API_OPTIONS, tenant: { type: 'string' }, json: { type: 'boolean' } } as const;

const ROLES = ['admin', 'operator', 'viewer'] as const;

const add: Subcommand = async (argv, io) => {
  const { values } = parseSubcommand(argv, ADD_OPTIONS);
  if (helpRequested(values, USER_HELP, io)) return EXIT_OK;
  const { username } = values;
  if (username === undefined || username === '') throw new UsageError('--username is required');
  const role = oneOf('--role', values.role, ROLES);
  if (role === undefined) throw new UsageError(`--role is required: ${ROLES.join(', ')}`);
  if (values.platform && values.tenant !== undefined)
    throw new UsageError('give --tenant or --platform, not both');
  if (values.platform && role !== 'admin')
    throw new UsageError('--platform users are admins: use --role admin');
  // Before asking for a password, so that a wrong URL or a missing login is reported first.
  const api = await ApiClient.fromFlags(values, process.env);
  const generated = values['generate-password'] ? generatePassword() : undefined;
  const password =
    generated ??
    (await readPassword(io, {
      env: process.env,
      prompt: `Password for ${username}: `,
      confirm: true,
      envVar: 'HALYARD_NEW_PASSWORD',
    }));
  const user = await api.post<UserView>('/users', {
    username,
    role,
    password,
    tenantId: values.platform ? null : values.tenant,
  });
  if (values.json) {
    io.stdout.write(json(generated === undefined ? { user } : { user, password: generated }));
    return EXIT_OK;
  }
  io.stdout.write(`Created user ${user.username} (${describeRole(user)}).\n`);
  if (generated !== undefined) {
    io.stdout.write(`Password (shown only now; only its hash is stored):\n  ${generated}\n`);
  }
  return EXIT_OK;
};

const describeRole = (u: UserView) =>
  u.tenantId === null ? 'platform admin' : `${u.role} of tenant ${u.tenantId}`;

const list: Subcommand = async (argv, io) => {
  const { values } = parseSubcommand(argv, LIST_OPTIONS);
  if (helpRequested(values, USER_HELP, io)) return EXIT_OK;
  const api = await ApiClient.fromFlags(values, process.env);
  const users = await api.get<UserView[]>('/users', { tenantId: values.tenant });
  if (values.json) io.stdout.write(json(users));
  else if (users.length === 0) io.stdout.write('No users.\n');
  else {
    const rows = users.map((u) => [
      u.id,
      u.username,
      u.tenantId ?? '(platform)',
      u.role,
      yesNo(u.active),
      formatTime(u.createdAt),
    ]);
    io.stdout.write(formatTable(['ID', 'USERNAME', 'TENANT', 'ROLE', 'ACTIVE', 'CREATED'], rows));
  }
  return EXIT_OK;
};

export function runUser(argv: string[], io: CliIo): Promise<number> {
  return dispatch('user', USER_HELP, { add, list }, argv, io);
}
