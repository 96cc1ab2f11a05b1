import { ApiClient, API_HELP, API_OPTIONS } from './api-client.js';
import type { TenantView } from './api-types.js';
import { EXIT_OK, intFlag, type CliIo } from './errors.js';
import { dispatch, helpRequested, parseSubcommand, type Subcommand } from './subcommands.js';
import { formatTable, formatTime, json } from './table.js';

export const TENANT_HELP = `Usage: halyard tenant <subcommand> [options]

Manages tenants (platform admins) through the REST API of a running Halyard.

Subcommands:
  add --name <name> [options]  create a tenant
      --id <id>                  its id (default: generated); its devices' topics live under $t/<id>/
      --max-connections <n>      connection cap for the tenant (default 0: the platform's)
  list                         list tenants (ID, NAME, MAX CONNECTIONS, CREATED)

  --json                       machine-readable output

${API_HELP}`;

const ADD_OPTIONS = {
  ...API_OPTIONS,
  name: { type: 'string' },
  id: { type: 'string' },
  'max-connections': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const LIST_OPTIONS = { ...API_OPTIONS, json: { type: 'boolean' } } as const;

const add: Subcommand = async (argv, io) => {
  const { values } = parseSubcommand(argv, ADD_OPTIONS);
  if (helpRequested(values, TENANT_HELP, io)) return EXIT_OK;
  const maxConnections = intFlag('--max-connections', values['max-connections'], 0, Number.MAX_SAFE_INTEGER);
  const api = await ApiClient.fromFlags(values, process.env);
  const tenant = await api.post<TenantView>('/tenants', { id: values.id, name: values.name, maxConnections });
  if (values.json) io.stdout.write(json(tenant));
  else io.stdout.write(`Created tenant ${tenant.id} (${tenant.name}).\n`);
  return EXIT_OK;
};

const list: Subcommand = async (argv, io) => {
  const { values } = parseSubcommand(argv, LIST_OPTIONS);
  if (helpRequested(values, TENANT_HELP, io)) return EXIT_OK;
  const api = await ApiClient.fromFlags(values, process.env);
  const tenants = await api.get<TenantView[]>('/tenants');
  if (values.json) io.stdout.write(json(tenants));
  else if (tenants.length === 0) io.stdout.write('No tenants.\n');
  else {
    const rows = tenants.map((t) => [
      t.id,
      t.name,
      t.maxConnections === 0 ? 'default' : String(t.maxConnections),
      formatTime(t.createdAt),
    ]);
    io.stdout.write(formatTable(['ID', 'NAME', 'MAX CONNECTIONS', 'CREATED'], rows));
  }
  return EXIT_OK;
};

export function runTenant(argv: string[], io: CliIo): Promise<number> {
  return dispatch('tenant', TENANT_HELP, { add, list }, argv, io);
}
