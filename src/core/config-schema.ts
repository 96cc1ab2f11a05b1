import { z } from 'zod';
import { DEFAULT_BROKER_OPTIONS, type BrokerOptions } from '../broker/options.js';
import { topicFilterProblem } from '../broker/topics.js';

/**
 * The one schema every configuration source is validated against. Environment
 * variables and flags arrive as strings, so scalar fields accept the string
 * spelling of their type ("1884", "true"); anything else is left as it is, so
 * that the error says what was actually given.
 */

const NUMERIC = /^\s*-?\d+(\.\d+)?\s*$/;
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

function int(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === 'string' && NUMERIC.test(v) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
}

const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const word = v.trim().toLowerCase();
  return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : v;
}, z.boolean());

/** Arrays (users, acl) can be given as a JSON string through an env variable or flag. */
function jsonArray<T extends z.ZodType>(item: T) {
  return z.preprocess((v) => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }, z.array(item));
}

const nonEmpty = z.string().min(1);

const tcpListenerFields = (host: string, port: number) => ({
  enabled: bool.default(true),
  host: nonEmpty.default(host),
  port: int(0, 65535).default(port),
  allowAnonymous: bool.default(false),
});

const tcpListener = (port: number) => z.strictObject(tcpListenerFields('0.0.0.0', port)).prefault({});

/** MQTT over TLS asks for client certificates (devices log in with them); HTTPS does not (browsers would prompt). */
const tlsListener = (port: number, requestClientCert: boolean) =>
  z
    .strictObject({
      ...tcpListenerFields('0.0.0.0', port),
      certFile: nonEmpty.optional(),
      keyFile: nonEmpty.optional(),
      caFile: nonEmpty.optional(),
      requestClientCert: bool.default(requestClientCert),
    })
    // A certificate without its key (or the reverse) is always a mistake; caught here, not at listen time.
    .refine((l) => (l.certFile === undefined) === (l.keyFile === undefined), {
      message: 'certFile and keyFile must be given together',
      path: ['certFile'],
    })
    .prefault({});

/**
 * The line protocol (docs/line-protocol.md), on like the other listeners: every conversation must
 * AUTH (HMAC or token) before it can do anything. `lines` is its TLS variant, with the mqtts certificate.
 */
const lineListener = (port: number) =>
  z
    .strictObject({
      enabled: bool.default(true),
      host: nonEmpty.default('0.0.0.0'),
      port: int(0, 65535).default(port),
      maxConversations: int(1, 1_000_000).default(10_000),
      maxWaiting: int(0, 1_000_000).default(1000),
      maxFrameLength: int(64, 262_144).default(4096),
      idleTimeoutSeconds: int(1, 86_400).default(300),
      authTimeoutSeconds: int(1, 3600).default(30),
    })
    .prefault({});

const aclRule = z.strictObject({
  action: z.enum(['publish', 'subscribe', 'all']),
  topic: z.string().refine((pattern) => topicFilterProblem(pattern) === undefined, {
    message: 'must be a topic filter (`+` and `#` only as whole levels, `#` last)',
  }),
  permission: z.enum(['allow', 'deny']).default('allow'),
});

/** Checked for shape only; devices/password.ts owns the format. */
const SCRYPT_HASH = /^\$scrypt\$N=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/;

const user = z.strictObject({
  username: nonEmpty,
  passwordHash: z.string().regex(SCRYPT_HASH, {
    message: 'must be a hash printed by `halyard passwd` ($scrypt$N=…,r=…,p=…$salt$hash)',
  }),
  acl: jsonArray(aclRule).optional(),
});

const d = DEFAULT_BROKER_OPTIONS;
const broker = z
  .strictObject({
    maxConnections: int(1, 10_000_000).default(d.maxConnections),
    maxPacketSize: int(16, 268_435_455).default(d.maxPacketSize),
    maxQueuedMessages: int(0, 10_000_000).default(d.maxQueuedMessages),
    queueOverflow: z.enum(['drop-new', 'drop-oldest']).default(d.queueOverflow),
    maxInflight: int(1, 65_535).default(d.maxInflight),
    receiveMaximum: int(1, 65_535).default(d.receiveMaximum),
    maxOutputBuffer: int(1024, 2 ** 31 - 1).default(d.maxOutputBuffer),
    connectTimeoutMs: int(100, 3_600_000).default(d.connectTimeoutMs),
    maxKeepAlive: int(1, 65_535).default(d.maxKeepAlive),
    maxSessionExpiry: int(0, 0xffff_ffff).default(d.maxSessionExpiry),
    topicAliasMaximum: int(0, 65_535).default(d.topicAliasMaximum),
    sysInterval: int(0, 86_400).default(d.sysInterval),
    sweepIntervalMs: int(10, 3_600_000).default(d.sweepIntervalMs),
  })
  .prefault({});

const perSecond = int(0, 1_000_000_000);

/** Secure defaults, documented in docs/security.md; 0 turns a rate or cap off. */
const security = z
  .strictObject({
    lockout: z
      .strictObject({
        maxFailures: int(1, 1000).default(5),
        windowSeconds: int(1, 86_400).default(300),
        lockSeconds: int(1, 86_400 * 30).default(900),
      })
      .prefault({}),
    connectRate: z
      .strictObject({
        perAddressPerSecond: perSecond.default(50),
        burst: int(1, 1_000_000).default(100),
      })
      .prefault({}),
    maxConnectionsPerTenant: int(0, 10_000_000).default(10_000),
    device: z
      .strictObject({
        maxConnections: int(0, 1_000_000).default(5),
        publishMessagesPerSecond: perSecond.default(1000),
        publishBytesPerSecond: perSecond.default(1_048_576),
      })
      .prefault({}),
    sessionTtlHours: int(1, 24 * 365).default(12),
    /** 32 random bytes sealing HMAC secrets; created in the data dir when not given. Share it between nodes. */
    secretKeyFile: nonEmpty.optional(),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    dataDir: nonEmpty.default('./halyard-data'),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    listeners: z
      .strictObject({
        mqtt: tcpListener(1883),
        mqtts: tlsListener(8883, true),
        http: tcpListener(8080),
        https: tlsListener(8443, false),
        line: lineListener(7000),
        lines: lineListener(7443),
      })
      .prefault({}),
    broker,
    store: z.strictObject({ synchronous: z.enum(['full', 'normal']).default('full') }).prefault({}),
    database: z
      .strictObject({
        /** postgres://… keeps the registry in PostgreSQL; unset = embedded SQLite in the data dir. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// or postgresql:// URL' })
          .optional(),
      })
      .prefault({}),
    security,
    telemetry: z
      .strictObject({
        /** Device timestamps further than this from server time are replaced by server time. */
        maxSkewSeconds: int(0, 10 * 365 * 86_400).default(3600),
        /** Points waiting for their transaction before ingest refuses more (back-pressure). */
        maxPendingPoints: int(1000, 100_000_000).default(200_000),
        /**
         * Largest write transaction. SQLite writes block the event loop, so this bounds that pause
         * (about 0.1 s at 20,000 points); larger is cheaper per point but slower to acknowledge.
         */
        maxBatchPoints: int(100, 1_000_000).default(20_000),
        /** How often the retention job deletes telemetry past each tenant's retention (docs/telemetry.md). */
        retentionIntervalSeconds: int(60, 7 * 86_400).default(3600),
        /**
         * How long ThingSpeak channel updates gather before their telemetry mirror is written in one
         * batch (docs/thingspeak.md): longer is cheaper per update, and later on the native API.
         */
        channelMirrorDelayMs: int(0, 60_000).default(50),
      })
      .prefault({}),
    users: jsonArray(user)
      .default([])
      // Two entries for one name would make the second one silently unreachable.
      .superRefine((users, ctx) => {
        const seen = new Set<string>();
        users.forEach((u, i) => {
          if (seen.has(u.username))
            ctx.addIssue({
              code: 'custom',
              path: [i, 'username'],
              message: `duplicate username "${u.username}"`,
            });
          seen.add(u.username);
        });
      }),
  })
  .prefault({});

export type Config = z.output<typeof configSchema>;
export type UserConfig = Config['users'][number];
export type SecurityConfig = Config['security'];
export type AclRuleConfig = NonNullable<UserConfig['acl']>[number];
export type ConfigBrokerOptions = Omit<BrokerOptions, 'version'>;

// Compile-time guard: the broker section must stay in step with BrokerOptions.
const _brokerKeysMatch: [keyof Config['broker'], keyof ConfigBrokerOptions] extends [
  keyof ConfigBrokerOptions,
  keyof Config['broker'],
]
  ? true
  : never = true;
void _brokerKeysMatch;
