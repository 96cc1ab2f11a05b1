import { readFileSync } from 'node:fs';
import { jsonErrorOffset } from './config-json.js';
import { HalyardError } from './errors.js';

/**
 * Turns each configuration source (file, environment, flags) into a plain
 * object of the schema's shape, remembering where every value came from so
 * that a validation error can name the file, variable or flag to fix.
 */

export interface ConfigSource {
  kind: 'file' | 'env' | 'flag';
  /** The file path, the variable name or the flag as written. */
  name: string;
}

export type RawObject = Record<string, unknown>;

/** Dotted key path → the source that set it; '' stands for the config file, which may set anything. */
export type SourceMap = Map<string, ConfigSource>;

export const ENV_PREFIX = 'HALYARD_';
/** Read by loadConfig itself rather than mapped to a key. */
export const ENV_CONFIG_FILE = 'HALYARD_CONFIG';
/** The management CLI's own variables (server URL, API token, password): they name no configuration key. */
export const CLIENT_ENV_VARS: readonly string[] = [
  'HALYARD_URL',
  'HALYARD_TOKEN',
  'HALYARD_PASSWORD',
  'HALYARD_NEW_PASSWORD',
  'HALYARD_LINE_SECRET',
  'HALYARD_LINE_TOKEN',
];
/** Shorthands: the logger already reads HALYARD_LOG_LEVEL, so it means what it says everywhere. */
const ENV_ALIASES: Record<string, string[]> = { HALYARD_LOG_LEVEL: ['log', 'level'] };
const FLAG_ALIASES: Record<string, string[]> = {
  port: ['listeners', 'mqtt', 'port'],
  database: ['database', 'url'],
  'log-level': ['log', 'level'],
};

export function isPlainObject(v: unknown): v is RawObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own data property even for `__proto__`, so hostile JSON cannot reach a prototype; zod then rejects the key. */
function setOwn(obj: RawObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Sets `path` inside `target`, creating (or replacing non-object) intermediate levels. */
export function setPath(target: RawObject, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (isPlainObject(next)) node = next;
    else {
      const created: RawObject = {};
      setOwn(node, key, created);
      node = created;
    }
  }
  setOwn(node, path[path.length - 1], value);
}

/** Deep-merges `source` into `target`: objects merge, arrays and scalars replace. */
export function mergeInto(target: RawObject, source: RawObject): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(value) && isPlainObject(existing)) mergeInto(existing, value);
    else setOwn(target, key, value);
  }
}

/** `MAX_PACKET_SIZE` → `maxPacketSize`. */
function snakeToCamel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `max-packet-size` → `maxPacketSize`; camelCase passes through unchanged. */
function kebabToCamel(segment: string): string {
  return segment.replace(/-([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * HALYARD_<LEVEL>__<LEVEL>…: `__` separates nesting levels and each level is
 * SCREAMING_SNAKE_CASE for the camelCase key, e.g. HALYARD_LISTENERS__MQTT__PORT
 * → listeners.mqtt.port, HALYARD_BROKER__MAX_PACKET_SIZE → broker.maxPacketSize.
 */
export function envToPath(name: string): string[] | undefined {
  if (ENV_ALIASES[name]) return ENV_ALIASES[name];
  if (!name.startsWith(ENV_PREFIX) || name === ENV_CONFIG_FILE || CLIENT_ENV_VARS.includes(name))
    return undefined;
  return name.slice(ENV_PREFIX.length).split('__').map(snakeToCamel);
}

export function fromEnv(env: Record<string, string | undefined>): { values: RawObject; sources: SourceMap } {
  const values: RawObject = {};
  const sources: SourceMap = new Map();
  // Sorted so that a result never depends on the order the OS lists variables in.
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    const path = envToPath(name);
    if (value === undefined || path === undefined) continue;
    if (path.some((p) => p === '')) {
      throw new HalyardError('CONFIG_INVALID', `Invalid configuration: ${name}: empty nesting level in name`);
    }
    setPath(values, path, value);
    sources.set(path.join('.'), { kind: 'env', name });
  }
  return { values, sources };
}

export interface ParsedFlags {
  values: RawObject;
  sources: SourceMap;
  configFile?: string;
}

/**
 * `--a.b-c value` or `--a.b-c=value`: dots separate levels, each level in
 * kebab-case or camelCase. A flag followed by another flag (or nothing) means
 * `true`, for switches like `--listeners.mqtt.allow-anonymous`.
 */
export function fromFlags(argv: readonly string[]): ParsedFlags {
  const values: RawObject = {};
  const sources: SourceMap = new Map();
  let configFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg.length === 2) {
      throw new HalyardError('CONFIG_INVALID', `Invalid configuration: unexpected argument "${arg}"`);
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
    else value = 'true';
    if (flag === 'config') {
      configFile = value;
      continue;
    }
    const path = FLAG_ALIASES[flag] ?? flag.split('.').map(kebabToCamel);
    if (path.some((p) => p === '')) {
      throw new HalyardError('CONFIG_INVALID', `Invalid configuration: --${flag}: empty key level`);
    }
    setPath(values, path, value);
    sources.set(path.join('.'), { kind: 'flag', name: `--${flag}` });
  }
  return { values, sources, configFile };
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
};

/** Reads a JSON config file; unreadable files and bad JSON are CONFIG_FILE_UNREADABLE with line and column. */
export function fromFile(path: string): RawObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = FILE_ERRORS[code] ? `${FILE_ERRORS[code]} (${code})` : (err as Error).message;
    throw new HalyardError(
      'CONFIG_FILE_UNREADABLE',
      `Cannot read config file ${path}: ${why}`,
      { path },
      { cause: err },
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    // V8 wording varies: drop its position and its echo of the text, and compute line and column ourselves.
    const reason = (err as Error).message
      .replace(/ in JSON at position \d+.*$/, '')
      .replace(/, ".*" is not valid JSON$/s, '');
    const offset = jsonErrorOffset(text);
    const where =
      text.trim() === ''
        ? ' (the file is empty)'
        : offset === undefined
          ? ''
          : ` at ${lineColumn(text, offset)}`;
    throw new HalyardError(
      'CONFIG_FILE_UNREADABLE',
      `Config file ${path} is not valid JSON${where}: ${reason}`,
      {
        path,
      },
    );
  }
  if (!isPlainObject(parsed)) {
    throw new HalyardError(
      'CONFIG_INVALID',
      `Invalid configuration: config file ${path} must hold a JSON object`,
      {
        path,
      },
    );
  }
  return parsed;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}
