import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { CommandError, UsageError, intFlag } from './errors.js';

/** Flags shared by `halyard pub` and `halyard sub`, spelled as in mosquitto_pub/sub where they exist. */
export const CONNECTION_OPTIONS = {
  host: { type: 'string', short: 'h', default: 'localhost' },
  port: { type: 'string', short: 'p' },
  username: { type: 'string', short: 'u' },
  password: { type: 'string', short: 'P' },
  id: { type: 'string', short: 'i' },
  'protocol-version': { type: 'string', short: 'V', default: '4' },
  keepalive: { type: 'string', short: 'k', default: '60' },
  qos: { type: 'string', short: 'q', default: '0' },
  'user-property': { type: 'string', short: 'D', multiple: true },
  cafile: { type: 'string' },
  tls: { type: 'boolean' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export const CONNECTION_HELP = `Connection options:
  -h, --host <host>            broker host (default localhost)
  -p, --port <port>            broker port (default 1883, or 8883 with TLS)
  -u, --username <name>        username
  -P, --password <password>    password
  -i, --id <client id>         client id (default: a random one)
  -V, --protocol-version <v>   3 (MQTT 3.1), 4 (MQTT 3.1.1, default) or 5 (MQTT 5)
  -k, --keepalive <seconds>    keep-alive interval (default 60, 0 = off)
  -q, --qos <0|1|2>            quality of service (default 0)
  -D, --user-property <k=v>    MQTT 5 user property; repeatable
      --tls                    connect with TLS (mqtts)
      --cafile <path>          trust this CA certificate (implies --tls), e.g. <dataDir>/tls/ca.crt
      --insecure               do not verify the server certificate (testing only)
      --help                   show this help`;

export interface ConnectionValues {
  host: string;
  port?: string;
  username?: string;
  password?: string;
  id?: string;
  'protocol-version': string;
  keepalive: string;
  qos: string;
  'user-property'?: string[];
  cafile?: string;
  tls?: boolean;
  insecure?: boolean;
}

const VERSIONS: Record<string, 3 | 4 | 5> = { '3': 3, '4': 4, '5': 5, mqttv31: 3, mqttv311: 4, mqttv5: 5 };

export function parseQos(value: string): 0 | 1 | 2 {
  return intFlag('-q/--qos', value, 0, 2) as 0 | 1 | 2;
}

/** `-D key=value` pairs as MQTT.js userProperties (a key given twice becomes a list, as MQTT 5 allows). */
export function userProperties(values: ConnectionValues): Record<string, string | string[]> | undefined {
  const pairs = values['user-property'];
  if (!pairs?.length) return undefined;
  if (values['protocol-version'] !== '5' && values['protocol-version'] !== 'mqttv5') {
    throw new UsageError('-D/--user-property needs MQTT 5 (-V 5)');
  }
  const props: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`-D/--user-property expects key=value (got "${pair}")`);
    const [key, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
    const prev = props[key];
    props[key] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return props;
}

export function clientOptions(values: ConnectionValues, command: string, persistent = false): IClientOptions {
  const version = VERSIONS[values['protocol-version']];
  if (version === undefined)
    throw new UsageError(`-V must be 3, 4 or 5 (got "${values['protocol-version']}")`);
  const tls = values.tls === true || values.cafile !== undefined;
  const options: IClientOptions = {
    host: values.host,
    port: intFlag('-p/--port', values.port, 1, 65535) ?? (tls ? 8883 : 1883),
    protocol: tls ? 'mqtts' : 'mqtt',
    protocolVersion: version,
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    clientId: values.id ?? `halyard-${command}-${randomBytes(4).toString('hex')}`,
    keepalive: intFlag('-k/--keepalive', values.keepalive, 0, 65535),
    clean: !persistent,
    // A debugging tool should say what went wrong, not retry silently.
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  };
  if (values.username !== undefined) options.username = values.username;
  if (values.password !== undefined) options.password = values.password;
  if (values.cafile !== undefined) {
    try {
      options.ca = readFileSync(values.cafile);
    } catch (err) {
      throw new UsageError(
        `cannot read --cafile ${values.cafile}: ${(err as NodeJS.ErrnoException).code ?? ''}`,
      );
    }
  }
  if (values.insecure) options.rejectUnauthorized = false;
  // MQTT 5 ends a session at disconnect unless asked otherwise; -c means "keep it" as in mosquitto_sub.
  if (persistent && version === 5) options.properties = { sessionExpiryInterval: 0xffffffff };
  return options;
}

/** Describes an MQTT.js or socket error in one line, with the reason code when the broker gave one. */
export function describeError(err: unknown): string {
  const e = err as Error & { code?: unknown };
  if (typeof e.code === 'number')
    return `${e.message} (reason code 0x${e.code.toString(16).padStart(2, '0')})`;
  return e.message || String(err);
}

/**
 * Connects, resolving on CONNACK success and rejecting with a one-line CommandError otherwise.
 * `setup` runs before any packet is read: a resumed session's queued messages can arrive in the
 * same chunk as CONNACK, before an awaiting caller could attach a 'message' listener.
 */
export function connectClient(
  options: IClientOptions,
  setup?: (client: MqttClient) => void,
): Promise<MqttClient> {
  const where = `${options.host}:${options.port}`;
  return new Promise((resolve, reject) => {
    const client = connect(options);
    setup?.(client);
    const fail = (message: string) => {
      client.removeAllListeners();
      client.on('error', () => undefined); // late socket errors must not crash the process
      client.end(true);
      reject(new CommandError(message));
    };
    client.once('connect', () => {
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      resolve(client);
    });
    client.once('error', (err) => {
      const refused = typeof (err as { code?: unknown }).code === 'number';
      fail(refused ? describeError(err) : `cannot connect to ${where}: ${describeError(err)}`);
    });
    client.once('close', () => fail(`connection to ${where} closed before the broker answered CONNECT`));
  });
}

/** Resolves when the broker closes the connection, with its DISCONNECT reason if it sent one (MQTT 5). */
export function whenClosed(client: MqttClient): Promise<string> {
  return new Promise((resolve) => {
    let reason = '';
    client.on('disconnect', (packet) => {
      const code = packet.reasonCode ?? 0;
      reason = ` (DISCONNECT reason code 0x${code.toString(16).padStart(2, '0')})`;
    });
    client.on('error', (err) => {
      reason ||= `: ${describeError(err)}`;
    });
    client.once('close', () => resolve(`the broker closed the connection${reason}`));
  });
}
