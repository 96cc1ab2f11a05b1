import { ApiClient, API_HELP, API_OPTIONS, seg } from './api-client.js';
import type { CredentialView, DevicePage, DeviceView, IssuedCredentialView } from './api-types.js';
import { credentialSubcommands } from './device-credentials.js';
import { EXIT_OK, type CliIo } from './errors.js';
import {
  dispatch,
  helpRequested,
  oneOf,
  parseLabels,
  parseSubcommand,
  type Subcommand,
} from './subcommands.js';
import { formatFields, formatTable, formatTime, json, yesNo } from './table.js';

export const DEVICE_HELP = `Usage: halyard device <subcommand> [options]

Manages the devices of a running Halyard through its REST API (sign in first
with "halyard login", or set HALYARD_URL and HALYARD_TOKEN).

Subcommands:
  add [options]                register a device
      --id <id>                  its id (default: generated); the MQTT identity and certificate CN
      --name <name>              display name (default: the id)
      --tenant <id>              its tenant (default: yours; required for platform admins)
      --profile <id>             its device profile
      --type <type>              free-form type, e.g. thermostat
      --serial <serial>          serial number
      --tag <tag>                a tag; repeatable
      --label <key=value>        a label; repeatable
      --with-token               also issue an access token and print it (once)
  list [options]               list devices (ID, NAME, TENANT, PROFILE, ACTIVE, ONLINE, LAST SEEN)
      --tenant <id> --profile <id> --type <type> --tag <tag>
      --status active|inactive
      --search <text>            part of the id, name or serial
  show <id>                    a device and its credentials (never their secrets)
  token <id>                   issue an access token: the MQTT username, with no password
  password <id> --username <u> issue an MQTT username and password (generated, or with
      --password-stdin           read from stdin)
  cert <id> [options]          issue a client certificate for mutual TLS (port 8883) and write
      --out <dir>                <id>.key.pem (0600), <id>.cert.pem and ca.pem into <dir> (default .)
      --days <n>                 validity (default: the platform's)
      --force                    overwrite existing files
  hmac <id>                    issue an HMAC secret for the line protocol
  revoke <id> <credential-id>  revoke a credential; connections that used it are closed
  deactivate <id>              disconnect the device now and refuse it until activated
  activate <id>                allow a deactivated device again

Secrets (tokens, passwords, HMAC secrets, private keys) are shown only by the
command that issues them: Halyard keeps no copy it could show again. token,
password and hmac print the secret alone on stdout (a note goes to stderr), so
TOKEN=$(halyard device token d1) works.

  --json                       machine-readable output (add, list, show, token, password, cert, hmac)

${API_HELP}`;

const ADD_OPTIONS = {
  ...API_OPTIONS,
  id: { type: 'string' },
  name: { type: 'string' },
  tenant: { type: 'string' },
  profile: { type: 'string' },
  type: { type: 'string' },
  serial: { type: 'string' },
  tag: { type: 'string', multiple: true },
  label: { type: 'string', multiple: true },
  'with-token': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const LIST_OPTIONS = {
  ...API_OPTIONS,
  tenant: { type: 'string' },
  profile: { type: 'string' },
  type: { type: 'string' },
  tag: { type: 'string' },
  status: { type: 'string' },
  search: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const SHOW_OPTIONS = { ...API_OPTIONS, json: { type: 'boolean' } } as const;

/** The API's largest page: a list of every device takes total / 1000 requests. */
const PAGE_SIZE = 1000;

const add: Subcommand = async (argv, io) => {
  const { values } = parseSubcommand(argv, ADD_OPTIONS);
  if (helpRequested(values, DEVICE_HELP, io)) return EXIT_OK;
  const api = await ApiClient.fromFlags(values, process.env);
  const device = await api.post<DeviceView>('/devices', {
    id: values.id,
    name: values.name,
    tenantId: values.tenant,
    profileId: values.profile,
    type: values.type,
    serial: values.serial,
    tags: values.tag,
    labels: parseLabels(values.label),
  });
  let issued: IssuedCredentialView | undefined;
  if (values['with-token']) {
    issued = await api.post<IssuedCredentialView>(`/devices/${seg(device.id)}/credentials`, {
      kind: 'token',
    });
  }
  if (values.json) {
    io.stdout.write(
      json(issued ? { device, token: issued.secret, credential: issued.credential } : { device }),
    );
    return EXIT_OK;
  }
  io.stdout.write(`Created device ${device.id} in tenant ${device.tenantId}.\n`);
  if (issued) {
    io.stdout.write(
      `Access token (shown only now; use it as the MQTT username, with no password):\n  ${issued.secret}\n`,
    );
  }
  return EXIT_OK;
};

const list: Subcommand = async (argv, io) => {
  const { values } = parseSubcommand(argv, LIST_OPTIONS);
  if (helpRequested(values, DEVICE_HELP, io)) return EXIT_OK;
  const status = oneOf('--status', values.status, ['active', 'inactive'] as const);
  const api = await ApiClient.fromFlags(values, process.env);
  const filter = {
    tenantId: values.tenant,
    profileId: values.profile,
    type: values.type,
    tag: values.tag,
    search: values.search,
    active: status === undefined ? undefined : status === 'active',
  };
  const devices: DeviceView[] = [];
  for (;;) {
    const page = await api.get<DevicePage>('/devices', {
      ...filter,
      limit: PAGE_SIZE,
      offset: devices.length,
    });
    devices.push(...page.items);
    if (page.items.length === 0 || devices.length >= page.total) break;
  }
  if (values.json) {
    io.stdout.write(json(devices));
    return EXIT_OK;
  }
  if (devices.length === 0) {
    io.stdout.write('No devices.\n');
    return EXIT_OK;
  }
  const rows = devices.map((d) => [
    d.id,
    d.name,
    d.tenantId,
    d.profileId ?? '-',
    yesNo(d.active),
    yesNo(d.online),
    formatTime(d.lastSeen, 'never'),
  ]);
  io.stdout.write(formatTable(['ID', 'NAME', 'TENANT', 'PROFILE', 'ACTIVE', 'ONLINE', 'LAST SEEN'], rows));
  return EXIT_OK;
};

const show: Subcommand = async (argv, io) => {
  const { values, positionals } = parseSubcommand(argv, SHOW_OPTIONS, ['id']);
  if (helpRequested(values, DEVICE_HELP, io)) return EXIT_OK;
  const api = await ApiClient.fromFlags(values, process.env);
  const id = seg(positionals[0]);
  const device = await api.get<DeviceView>(`/devices/${id}`);
  const credentials = await api.get<CredentialView[]>(`/devices/${id}/credentials`);
  if (values.json) {
    io.stdout.write(json({ device, credentials }));
    return EXIT_OK;
  }
  io.stdout.write(describeDevice(device));
  if (credentials.length === 0) {
    io.stdout.write(
      `\nNo credentials: issue one with "halyard device token|password|cert|hmac ${device.id}".\n`,
    );
    return EXIT_OK;
  }
  const rows = credentials.map((c) => [
    c.id,
    c.kind,
    c.label,
    formatTime(c.createdAt),
    formatTime(c.expiresAt),
    c.revokedAt === null ? 'valid' : `revoked ${formatTime(c.revokedAt)}`,
  ]);
  io.stdout.write(
    `\nCredentials:\n${formatTable(['ID', 'KIND', 'LABEL', 'CREATED', 'EXPIRES', 'STATUS'], rows)}`,
  );
  return EXIT_OK;
};

function describeDevice(d: DeviceView): string {
  const labels = Object.entries(d.labels).map(([k, v]) => `${k}=${v}`);
  return formatFields([
    ['id', d.id],
    ['name', d.name],
    ['tenant', d.tenantId],
    ['profile', d.profileId ?? '-'],
    ['type', d.type || '-'],
    ['serial', d.serial ?? '-'],
    ['tags', d.tags.join(', ') || '-'],
    ['labels', labels.join(', ') || '-'],
    ['acl', d.acl.length === 0 ? "the profile's" : `${d.acl.length} rule(s) of its own`],
    ['active', yesNo(d.active)],
    ['online', yesNo(d.online)],
    ['last seen', formatTime(d.lastSeen, 'never')],
    ['created', formatTime(d.createdAt)],
    ['updated', formatTime(d.updatedAt)],
  ]);
}

const setActive =
  (active: boolean): Subcommand =>
  async (argv, io) => {
    const { values, positionals } = parseSubcommand(argv, API_OPTIONS, ['id']);
    if (helpRequested(values, DEVICE_HELP, io)) return EXIT_OK;
    const api = await ApiClient.fromFlags(values, process.env);
    const device = await api.post<DeviceView>(
      `/devices/${seg(positionals[0])}/${active ? 'activate' : 'deactivate'}`,
    );
    io.stdout.write(
      active
        ? `Device ${device.id} activated: it may connect again.\n`
        : `Device ${device.id} deactivated: its connections were closed, and it is refused until ` +
            `"halyard device activate ${device.id}".\n`,
    );
    return EXIT_OK;
  };

const SUBCOMMANDS: Record<string, Subcommand> = {
  add,
  list,
  show,
  ...credentialSubcommands(DEVICE_HELP),
  deactivate: setActive(false),
  activate: setActive(true),
};

export function runDevice(argv: string[], io: CliIo): Promise<number> {
  return dispatch('device', DEVICE_HELP, SUBCOMMANDS, argv, io);
}
